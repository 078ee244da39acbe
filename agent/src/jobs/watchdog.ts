// The escalating watchdog, pure: a job that makes no progress (no new output and no CPU time) for its
// stall period is restarted once, then failed; stall failures in the last hour past a threshold mark
// the device unhealthy (the hub then schedules nothing on it until it reports healthy again).
export interface Progress {
  outputBytes: number;
  cpuNs: number;
}

export interface WatchState {
  last: Progress;
  lastProgressAt: number;
  restarts: number;
}

export type WatchAction = 'ok' | 'restart' | 'fail';

export function watch(state: WatchState, sample: Progress, now: number, stallMs: number): { state: WatchState; action: WatchAction } {
  const moved = sample.outputBytes > state.last.outputBytes || sample.cpuNs > state.last.cpuNs;
  if (moved) return { state: { ...state, last: sample, lastProgressAt: now }, action: 'ok' };
  if (now - state.lastProgressAt < stallMs) return { state: { ...state, last: sample }, action: 'ok' };
  if (state.restarts === 0) return { state: { last: sample, lastProgressAt: now, restarts: 1 }, action: 'restart' };
  return { state, action: 'fail' };
}

export const HOUR_MS = 3_600_000;

/** Unhealthy when `threshold` stall failures happened within the last hour. */
export function deviceHealth(failures: readonly number[], now: number, threshold: number): { healthy: boolean; recent: number[] } {
  const recent = failures.filter((t) => now - t < HOUR_MS);
  return { healthy: recent.length < threshold, recent };
}
