// Rig watchdog, pure: the miner's hashrate and the GPUs' state in, actions out; its state (since when the
// hashrate is low, restarts since it was last fine, the watchdog's own reboots) is passed back in. The
// reboot times are kept in the state directory by the caller, so the rate limit holds across reboots:
// a rig that stays slow after a reboot never reboots in a loop.
//
//  - a mining GPU that reports an error (`gpu.N.ok` 0) or is no longer listed (fell off the bus) is taken
//    out of mining and jobs ('gpu-out', once) and comes back when it is fine again ('gpu-back');
//  - hashrate (10 s) below minHashrateHs x (GPUs mining / GPUs in the sheet) for lowForMs, or the miner's
//    API silent that long: restart the miner, up to restartsBeforeReboot times;
//  - still low after that: reboot when the owner allows it and the rate limit does (rebootMinIntervalMs since
//    the last, fewer than maxRebootsPerDay in 24 h); else say once that the reboot is refused, and keep
//    restarting the miner at most once per lowForMs.

export interface WatchdogConfig {
  minHashrateHs?: number;
  lowForMs: number;
  restartsBeforeReboot: number;
  reboot: boolean;
  rebootMinIntervalMs: number;
  maxRebootsPerDay: number;
}

export interface WatchdogState {
  lowSince: number | null;
  restarts: number;
  /** When the watchdog rebooted the rig (ms), newest last; persisted. */
  reboots: number[];
  out: number[];
  refusedSaid: boolean;
}

export const initialWatchdog = (reboots: number[] = []): WatchdogState => ({ lowSince: null, restarts: 0, reboots, out: [], refusedSaid: false });

export type WatchdogAction =
  | { kind: 'gpu-out'; gpu: number; reason: string }
  | { kind: 'gpu-back'; gpu: number }
  | { kind: 'restart-miner'; reason: string }
  | { kind: 'reboot'; reason: string }
  | { kind: 'reboot-refused'; reason: string };

export interface WatchdogInput {
  now: number;
  /** The flight sheet's GPUs. */
  sheetGpus: number[];
  /** The latest telemetry sample (gpu.N.ok, gpu.count, ...). */
  metrics: Record<string, number>;
  /** The miner should run now (some GPU or CPU thread is left to it). */
  minerWanted: boolean;
  /** GPUs jobs hold now (not mining, so not expected to add hashrate). */
  jobGpus: number[];
  /** The miner's 10 s hashrate, null when its API did not answer. */
  hashrate: number | null;
}

const DAY = 86_400_000;

export function planWatchdog(state: WatchdogState, input: WatchdogInput, cfg: WatchdogConfig): { state: WatchdogState; actions: WatchdogAction[] } {
  const { now, metrics } = input;
  const actions: WatchdogAction[] = [];
  const listed = Object.keys(metrics).some((k) => /^gpu\.\d+\./.test(k));
  const out = new Set(state.out);
  for (const g of input.sheetGpus) {
    const ok = metrics[`gpu.${g}.ok`];
    const gone = listed && !Object.keys(metrics).some((k) => k.startsWith(`gpu.${g}.`));
    const bad = ok === 0 || gone;
    if (bad && !out.has(g)) {
      out.add(g);
      actions.push({ kind: 'gpu-out', gpu: g, reason: gone ? `GPU ${g} is no longer listed by the driver (fell off the bus?)` : `GPU ${g} reports an error` });
    } else if (!bad && out.has(g) && ok === 1) {
      out.delete(g);
      actions.push({ kind: 'gpu-back', gpu: g });
    }
  }
  let next: WatchdogState = { ...state, out: [...out].sort((a, b) => a - b), reboots: state.reboots.filter((t) => now - t < DAY) };
  const mining = input.sheetGpus.filter((g) => !out.has(g) && !input.jobGpus.includes(g)).length;
  if (cfg.minHashrateHs === undefined || !input.minerWanted) return { state: { ...next, lowSince: null }, actions };
  const expected = input.sheetGpus.length ? (cfg.minHashrateHs * mining) / input.sheetGpus.length : cfg.minHashrateHs;
  const low = input.hashrate === null || input.hashrate < expected;
  if (!low) return { state: { ...next, lowSince: null, restarts: 0, refusedSaid: false }, actions };
  if (next.lowSince === null) return { state: { ...next, lowSince: now }, actions };
  if (now - next.lowSince < cfg.lowForMs) return { state: next, actions };
  const what = input.hashrate === null ? 'the miner\'s API did not answer' : `hashrate ${Math.round(input.hashrate)} H/s below ${Math.round(expected)} H/s`;
  const mins = Math.round((now - next.lowSince) / 60_000);
  if (next.restarts < cfg.restartsBeforeReboot) {
    actions.push({ kind: 'restart-miner', reason: `${what} for ${mins} min (restart ${next.restarts + 1} of ${cfg.restartsBeforeReboot})` });
    return { state: { ...next, lowSince: now, restarts: next.restarts + 1 }, actions };
  }
  const last = next.reboots[next.reboots.length - 1];
  const why = !cfg.reboot
    ? 'reboots are off (mining.watchdog.reboot)'
    : next.reboots.length >= cfg.maxRebootsPerDay
      ? `already ${next.reboots.length} watchdog reboots in 24 h (mining.watchdog.maxRebootsPerDay ${cfg.maxRebootsPerDay})`
      : last !== undefined && now - last < cfg.rebootMinIntervalMs
        ? `the last watchdog reboot was ${Math.round((now - last) / 60_000)} min ago (mining.watchdog.rebootMinIntervalSec ${cfg.rebootMinIntervalMs / 1000})`
        : null;
  if (why === null) {
    actions.push({ kind: 'reboot', reason: `${what} for ${mins} min after ${next.restarts} miner restarts` });
    next = { ...next, lowSince: null, restarts: 0, reboots: [...next.reboots, now] };
    return { state: next, actions };
  }
  if (!next.refusedSaid) actions.push({ kind: 'reboot-refused', reason: `${what} after ${next.restarts} miner restarts; not rebooting: ${why}` });
  actions.push({ kind: 'restart-miner', reason: `${what} for ${mins} min (no reboot: ${why})` });
  return { state: { ...next, lowSince: now, refusedSaid: true }, actions };
}
