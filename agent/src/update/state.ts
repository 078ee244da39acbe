// The agent's update state ({stateDir}/update/state.json) and the pure decisions on it: which bundle a
// start runs (the installed one, or an updated bundle under update/bundles/), when a trial has failed and
// is rolled back, the switch to a new bundle, and the mark of health. I/O lives in loader.ts/manager.ts.
import { z } from 'zod';
import { AgentVersion, compareVersions } from '@sosna/protocol/versions';

export { BUNDLES_DIR, TRUST_FILE, UPDATE_DIR, UPDATE_STATE_FILE } from './paths.js';
/** Starts of a new bundle that may end without it becoming healthy before it is rolled back. */
export const MAX_TRIAL_ATTEMPTS = 3;
const MAX_FAILED = 20;

const Slot = z.object({
  version: AgentVersion,
  /** File name under update/bundles/. */
  file: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be a plain file name'),
});
export type Slot = z.infer<typeof Slot>;

export const UpdateState = z.object({
  v: z.literal(1),
  /** The bundle a start runs; null: the installed one (the loader itself). */
  current: Slot.nullable(),
  /** What a failed trial rolls back to; null: the installed bundle. */
  previous: Slot.nullable(),
  /** A switched-to bundle that has not yet reported healthy: starts are counted before they happen. */
  trial: z
    .object({ version: AgentVersion, attempts: z.number().int().nonnegative(), deadline: z.number().nullable(), healthDeadlineSec: z.number().int().positive() })
    .nullable(),
  /** Versions that were rolled back here: offered again, they are refused. */
  failed: z.array(z.object({ version: z.string(), reason: z.string(), at: z.number() })).max(MAX_FAILED),
  /** The last trial's outcome, until the hub has acknowledged the report. */
  outcome: z.object({ version: AgentVersion, state: z.enum(['healthy', 'rolled-back']), reason: z.string().nullable(), at: z.number() }).nullable(),
});
export type UpdateState = z.infer<typeof UpdateState>;

/** The device's pin of the hub owner whose card names the update key (trust on first use, or the config's hub.owner). */
export const UpdateTrust = z.object({ owner: z.string().regex(/^0x[0-9a-fA-F]{40}$/) });

export const EMPTY_STATE: UpdateState = { v: 1, current: null, previous: null, trial: null, failed: [], outcome: null };

export const bundleFileName = (version: string) => `sosna-agent-${version}.mjs`;

export interface BootPlan {
  /** The updated bundle to import, or null for the installed one. */
  run: Slot | null;
  state: UpdateState;
  changed: boolean;
  rolledBack: { version: string; reason: string } | null;
}

export function planRollback(s: UpdateState, reason: string, now: number): UpdateState {
  const version = s.trial?.version ?? s.current?.version;
  if (!version) return s;
  return {
    ...s,
    current: s.previous,
    previous: null,
    trial: null,
    failed: [...s.failed.filter((f) => f.version !== version), { version, reason, at: now }].slice(-MAX_FAILED),
    outcome: { version, state: 'rolled-back', reason, at: now },
  };
}

/** What this start runs; counts a trial's attempt before it starts, and rolls back a failed trial. */
export function planBoot(state: UpdateState | undefined, o: { installedVersion: string; now: number; maxAttempts?: number }): BootPlan {
  const s = state ?? EMPTY_STATE;
  const maxAttempts = o.maxAttempts ?? MAX_TRIAL_ATTEMPTS;
  const plan = (next: UpdateState, rolledBack: BootPlan['rolledBack'] = null): BootPlan => ({ run: next.current, state: next, changed: next !== s, rolledBack });
  if (!s.current) return plan(s.trial ? { ...s, trial: null } : s);
  // The installed file is as new or newer (installed by hand or with a new image): it wins.
  if (compareVersions(o.installedVersion, s.current.version) >= 0) return plan({ ...s, current: null, previous: null, trial: null });
  const t = s.trial;
  if (!t || t.version !== s.current.version) return plan(t ? { ...s, trial: null } : s);
  let reason: string | null = null;
  if (t.attempts >= maxAttempts) reason = `${t.version} stopped ${t.attempts} time(s) without becoming healthy (crash on start?)`;
  else if (t.deadline !== null && o.now > t.deadline) reason = `${t.version} did not reconnect and report healthy within ${t.healthDeadlineSec} s`;
  if (reason) {
    const next = planRollback(s, reason, o.now);
    // what it rolled back to may itself be older than the installed bundle
    const settled = next.current && compareVersions(o.installedVersion, next.current.version) >= 0 ? { ...next, current: null } : next;
    return plan(settled, { version: t.version, reason });
  }
  return plan({ ...s, trial: { ...t, attempts: t.attempts + 1, deadline: t.deadline ?? o.now + t.healthDeadlineSec * 1000 } });
}

/** After a verified download: the new bundle becomes current on trial; the old one stays as the fallback. */
export function planSwitch(state: UpdateState | undefined, o: { version: string; file: string; healthDeadlineSec: number }): UpdateState {
  const s = state ?? EMPTY_STATE;
  return {
    ...s,
    current: { version: o.version, file: o.file },
    previous: s.current,
    trial: { version: o.version, attempts: 0, deadline: null, healthDeadlineSec: o.healthDeadlineSec },
    outcome: null,
  };
}

/** The running bundle reconnected and sent its birth: its trial (if any) is over, and healthy. */
export function planHealthy(state: UpdateState | undefined, running: string, now: number): UpdateState | null {
  if (!state?.trial || state.trial.version !== running) return null;
  return { ...state, trial: null, outcome: { version: running, state: 'healthy', reason: null, at: now } };
}

/** Bundle files that must stay (the running one and the fallback). */
export function keptBundles(s: UpdateState): Set<string> {
  return new Set([s.current?.file, s.previous?.file].filter((f): f is string => !!f));
}
