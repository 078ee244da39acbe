// The System page's update state: what {stateDir}/update/state.json says (agent/src/update/state.ts) and the
// update manager's last refused offer, put into one view. Pure apart from reading the file (readUpdateView).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_TRIAL_ATTEMPTS, UPDATE_DIR, UPDATE_STATE_FILE, UpdateState } from '../update/state.js';

export interface RefusedOffer {
  version: string;
  reason: string;
  at: number;
}

export interface UpdateView {
  /** The version of the code running now. */
  running: string;
  /** The updated bundle a start runs; null: the installed one. */
  current: string | null;
  /** What a failed trial rolls back to; null: the installed bundle. */
  previous: string | null;
  /** A new bundle on trial: the starts counted so far and the time (ms) by which it must report healthy. */
  trial: { version: string; attempts: number; maxAttempts: number; deadline: number | null; healthDeadlineSec: number } | null;
  /** The newest rollback on this device (versions rolled back are refused when offered again). */
  lastRollback: { version: string; reason: string; at: number } | null;
  /** The last trial's outcome not yet acknowledged by the hub. */
  outcome: { version: string; state: 'healthy' | 'rolled-back'; reason: string | null; at: number } | null;
  /** The last offer the update manager refused since the agent started, with why. */
  lastRefused: RefusedOffer | null;
  /** Why the state file could not be read (then the installed bundle runs); null when it was fine or absent. */
  unreadable: string | null;
  /** One line, e.g. "running 0.1.0, no update". */
  summary: string;
}

/** The view of an update state (undefined: no file yet, nothing was ever updated). Pure. */
export function updateView(state: UpdateState | undefined, running: string, lastRefused: RefusedOffer | null = null, unreadable: string | null = null): UpdateView {
  const s = state ?? { current: null, previous: null, trial: null, failed: [], outcome: null };
  const last = s.failed.reduce<UpdateState['failed'][number] | null>((a, f) => (!a || f.at >= a.at ? f : a), null);
  const trial = s.trial ? { ...s.trial, maxAttempts: MAX_TRIAL_ATTEMPTS } : null;
  let summary: string;
  if (trial) summary = `running ${running}, on trial (start ${trial.attempts} of ${trial.maxAttempts}) until it reports healthy; falls back to ${s.previous?.version ?? 'the installed bundle'}`;
  else if (s.current) summary = `running ${running}, updated over the air (falls back to ${s.previous?.version ?? 'the installed bundle'})`;
  else summary = `running ${running}, no update`;
  return {
    running, current: s.current?.version ?? null, previous: s.previous?.version ?? null, trial,
    lastRollback: last ? { version: last.version, reason: last.reason, at: last.at } : null,
    outcome: s.outcome, lastRefused, unreadable, summary,
  };
}

/** Reads {stateDir}/update/state.json without creating anything (never throws: an unreadable file is reported in the view). */
export function readUpdateView(stateDir: string, running: string, lastRefused: RefusedOffer | null = null): UpdateView {
  const file = join(stateDir, UPDATE_DIR, UPDATE_STATE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return updateView(undefined, running, lastRefused, code === 'ENOENT' || code === 'ENOTDIR' ? null : `${file}: ${(err as Error).message}`);
  }
  try {
    const r = UpdateState.safeParse(JSON.parse(text));
    if (r.success) return updateView(r.data, running, lastRefused);
    const i = r.error.issues[0];
    return updateView(undefined, running, lastRefused, `${file}: ${i?.path.join('.') || '(root)'}: ${i?.message}`);
  } catch (err) {
    return updateView(undefined, running, lastRefused, `${file}: ${(err as Error).message}`);
  }
}
