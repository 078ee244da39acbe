// The stable loader: the installed agent file runs this at every start of the daemon. It reads the update
// state, counts a trial's start (before it happens), rolls a failed trial back, and imports the current
// updated bundle into this same process (no second resident process). While a trial runs, a timer here (old,
// trusted code) ends the process if the new bundle has not marked itself healthy by the deadline; the
// service manager restarts it and the next start rolls back.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '@sosna/protocol/log';
import { StateStore } from '../state.js';
import { BUNDLES_DIR, planBoot, planRollback, keptBundles, UPDATE_DIR, UPDATE_STATE_FILE, UpdateState } from './state.js';

/** What an updated bundle hands its loader: the daemon's main, run with the loader's command line. */
export type AgentMain = (argv: string[], boot: BootInfo) => Promise<number>;
export interface BootInfo {
  /** The installed file that loaded this bundle, and its version. */
  loader: { file: string; version: string };
}

export interface Handoff {
  main: AgentMain;
  file: string;
  version: string;
}

export function updateStore(stateDir: string): StateStore {
  return new StateStore(join(stateDir, UPDATE_DIR));
}

export function readUpdateState(store: StateStore, log: Logger): UpdateState | undefined {
  return store.read(UPDATE_STATE_FILE, UpdateState, (why) => log.warn('ignoring an unreadable update state (runs the installed bundle)', { why }));
}

/** Removes bundle files that are neither current nor the fallback (and leftovers of interrupted downloads). */
export function pruneBundles(store: StateStore, state: UpdateState): void {
  const dir = store.path(BUNDLES_DIR);
  if (!existsSync(dir)) return;
  const keep = keptBundles(state);
  for (const f of readdirSync(dir)) if (!keep.has(f)) rmSync(join(dir, f), { force: true });
}

export async function loadUpdatedBundle(o: {
  stateDir: string;
  installedVersion: string;
  log: Logger;
  now?: () => number;
  /** Called when a trial misses its deadline (default: end this process so that it is restarted). */
  onDeadline?: (version: string) => void;
}): Promise<Handoff | null> {
  const now = o.now ?? Date.now;
  const store = updateStore(o.stateDir);
  let state = readUpdateState(store, o.log);
  for (let guard = 0; guard < 4; guard++) {
    const plan = planBoot(state, { installedVersion: o.installedVersion, now: now() });
    if (plan.changed) store.write(UPDATE_STATE_FILE, plan.state);
    state = plan.state;
    if (plan.rolledBack) o.log.error('update rolled back', { version: plan.rolledBack.version, reason: plan.rolledBack.reason, now: plan.run?.version ?? o.installedVersion });
    if (!plan.run) {
      pruneBundles(store, state);
      return null;
    }
    const file = join(store.path(BUNDLES_DIR), plan.run.file);
    if (!existsSync(file)) {
      state = planRollback(state, `bundle file ${file} is missing`, now());
      store.write(UPDATE_STATE_FILE, state);
      o.log.error('update rolled back', { version: plan.run.version, reason: `bundle file ${file} is missing` });
      continue;
    }
    pruneBundles(store, state);
    const trial = state.trial;
    if (trial?.deadline) {
      const version = trial.version;
      const timer = setTimeout(() => {
        const s = readUpdateState(store, o.log);
        if (s?.trial?.version !== version) return; // healthy in time
        o.log.error('the updated agent did not become healthy in time; restarting to roll back', { version, deadline: new Date(trial.deadline!).toISOString() });
        (o.onDeadline ?? endProcess)(version);
      }, Math.max(0, trial.deadline - now()));
      timer.unref();
    }
    o.log.info('starting the updated agent', { version: plan.run.version, file, ...(trial ? { trialAttempt: trial.attempts } : {}) });
    const mod = (await import(pathToFileURL(file).href)) as { agentMain?: unknown };
    if (typeof mod.agentMain !== 'function') throw new Error(`${file} does not export agentMain: not a sosna agent bundle`);
    return { main: mod.agentMain as AgentMain, file, version: plan.run.version };
  }
  return null;
}

function endProcess(): void {
  process.kill(process.pid, 'SIGTERM'); // the agent's own graceful stop
  setTimeout(() => process.exit(1), 10_000).unref();
}
