// The rig watchdog, pure: state in, actions out.
import { describe, expect, it } from 'vitest';
import { initialWatchdog, planWatchdog, type WatchdogConfig, type WatchdogInput, type WatchdogState } from './watchdog.js';

const MIN = 60_000;
const cfg: WatchdogConfig = { minHashrateHs: 1000, lowForMs: 5 * MIN, restartsBeforeReboot: 2, reboot: true, rebootMinIntervalMs: 60 * MIN, maxRebootsPerDay: 3 };
const okGpus = { 'gpu.0.ok': 1, 'gpu.1.ok': 1, 'gpu.0.tempC': 60, 'gpu.1.tempC': 60 };
const input = (now: number, hashrate: number | null, over: Partial<WatchdogInput> = {}): WatchdogInput => ({ now, sheetGpus: [0, 1], metrics: okGpus, minerWanted: true, jobGpus: [], hashrate, ...over });

/** Runs the watchdog once a minute for `minutes` at `hashrate`; returns the actions with their minute. */
function run(state: WatchdogState, from: number, minutes: number, hashrate: number | null, c = cfg): { state: WatchdogState; log: string[] } {
  const log: string[] = [];
  let s = state;
  for (let m = 0; m <= minutes; m++) {
    const r = planWatchdog(s, input(from + m * MIN, hashrate), c);
    s = r.state;
    for (const a of r.actions) log.push(`${(from + m * MIN) / MIN}:${a.kind}`);
  }
  return { state: s, log };
}

describe('planWatchdog', () => {
  it('leaves a rig at its hashrate alone', () => {
    expect(run(initialWatchdog(), 0, 60, 1500).log).toEqual([]);
  });

  it('low for lowForMs restarts the miner; still low after the restarts, reboots', () => {
    const { log, state } = run(initialWatchdog(), 0, 20, 500);
    expect(log).toEqual(['5:restart-miner', '10:restart-miner', '15:reboot']);
    expect(state.reboots).toEqual([15 * MIN]);
  });

  it('a silent miner API counts as low', () => {
    expect(run(initialWatchdog(), 0, 6, null).log).toEqual(['5:restart-miner']);
  });

  it('never reboots in a loop: at most one per rebootMinInterval and maxRebootsPerDay per day, then only says why once', () => {
    // the rig stays slow for two days; each reboot's time survives the reboot (the caller persists it)
    const { log } = run(initialWatchdog(), 0, 48 * 60, 500);
    const reboots = log.filter((l) => l.endsWith(':reboot'));
    expect(reboots.length).toBeLessThanOrEqual(6); // 3 per 24 h
    const times = reboots.map((l) => Number(l.split(':')[0]));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(60);
    expect(log.filter((l) => l.endsWith('reboot-refused')).length).toBeLessThanOrEqual(reboots.length + 1);
    // and the miner is restarted at most once per lowForMs in between
    const restarts = log.filter((l) => l.endsWith('restart-miner')).map((l) => Number(l.split(':')[0]));
    for (let i = 1; i < restarts.length; i++) expect(restarts[i]! - restarts[i - 1]!).toBeGreaterThanOrEqual(5);
  });

  it('with reboots off it restarts the miner and says once why it does not reboot', () => {
    const { log } = run(initialWatchdog(), 0, 30, 500, { ...cfg, reboot: false });
    expect(log.filter((l) => l.endsWith(':reboot'))).toEqual([]);
    expect(log.filter((l) => l.endsWith('reboot-refused'))).toEqual(['15:reboot-refused']);
  });

  it('a GPU that reports errors or falls off the bus is taken out (once), not rebooted for; it comes back when fine', () => {
    let s = initialWatchdog();
    let r = planWatchdog(s, input(0, 500, { metrics: { ...okGpus, 'gpu.1.ok': 0 } }), cfg);
    expect(r.actions).toEqual([{ kind: 'gpu-out', gpu: 1, reason: 'GPU 1 reports an error' }]);
    s = r.state;
    // one GPU of two mines: 500 H/s is the expected half of 1000, so no restart and no reboot
    for (let m = 1; m <= 60; m++) {
      r = planWatchdog(s, input(m * MIN, 500, { metrics: { ...okGpus, 'gpu.1.ok': 0 } }), cfg);
      expect(r.actions).toEqual([]);
      s = r.state;
    }
    r = planWatchdog(s, input(61 * MIN, 1000), cfg);
    expect(r.actions).toEqual([{ kind: 'gpu-back', gpu: 1 }]);
    const gone = planWatchdog(initialWatchdog(), input(0, 500, { metrics: { 'gpu.0.ok': 1, 'gpu.0.tempC': 60 } }), cfg);
    expect(gone.actions).toEqual([{ kind: 'gpu-out', gpu: 1, reason: 'GPU 1 is no longer listed by the driver (fell off the bus?)' }]);
  });

  it('does not watch the hashrate while jobs have every GPU, or without a threshold', () => {
    expect(run(initialWatchdog(), 0, 30, 0, { ...cfg, minHashrateHs: undefined }).log).toEqual([]);
    let s = initialWatchdog();
    for (let m = 0; m <= 30; m++) {
      const r = planWatchdog(s, input(m * MIN, null, { minerWanted: false, jobGpus: [0, 1] }), cfg);
      expect(r.actions).toEqual([]);
      s = r.state;
    }
  });
});
