// Settings from the dashboard, validated by the one DeviceConfig schema: a change is planned against the
// config file's current content (pure: planSettings), and only a valid plan is written, atomically
// (temp file, fsync, rename; see state.ts). A plain password never reaches the file: it is hashed first.
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { applyEnv, DeviceConfig, envVariables } from '@sosna/protocol';
import { StateStore } from '../state.js';
import { hashPassword } from './password.js';
import type { ScryptParams } from './password.js';

/**
 * Fields the dashboard may change (dotted paths of DeviceConfig): the device name, the owner wallet (payouts
 * are approved to it), the price floor (the jobs ask, token wei per second), the hub preference, the
 * telemetry interval and the login password.
 */
export const EDITABLE_FIELDS = ['name', 'owner', 'jobs.askPerSec', 'hubPreference', 'telemetry.intervalSec', 'dashboard.password'] as const;
/** Fields where an empty string from a form means "remove" (back to the default). */
export const CLEARABLE_FIELDS: readonly string[] = ['name', 'owner', 'jobs.askPerSec', 'hubPreference'];
export type EditableField = (typeof EDITABLE_FIELDS)[number];
/** Fields that the running agent applies at once; the others take effect when the agent restarts. */
const LIVE_FIELDS: ReadonlySet<string> = new Set(['dashboard.password']);

export interface FieldError {
  field: string;
  reason: string;
}

type Json = Record<string, unknown>;
type Env = Record<string, string | undefined>;

const ENV_OF = new Map(envVariables(DeviceConfig).map((v) => [v.path.join('.'), v.env]));

function setPath(root: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = root;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    node = (next && typeof next === 'object' && !Array.isArray(next) ? next : (node[k] = {})) as Json;
  }
  const last = keys[keys.length - 1]!;
  if (value === null) delete node[last];
  else node[last] = value;
}

export type SettingsPlan =
  | { ok: true; next: Json; changed: EditableField[]; password: string | null; overriddenByEnv: string[] }
  | { ok: false; errors: FieldError[] };

/**
 * Applies a patch `{field: value}` (null removes a field, back to its default) to the file's content and
 * validates the result as the agent would load it (the environment overrides applied, except for the
 * fields being changed, so that a bad value is caught even while a variable hides it). Pure.
 */
export function planSettings(file: Json, patch: unknown, env: Env = {}, editable: readonly string[] = EDITABLE_FIELDS): SettingsPlan {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return { ok: false, errors: [{ field: '(body)', reason: 'must be a JSON object of field: value' }] };
  const entries = Object.entries(patch as Json);
  const errors: FieldError[] = entries
    .filter(([k]) => !editable.includes(k))
    .map(([k]) => ({ field: k, reason: `cannot be changed here (editable: ${editable.join(', ')})` }));
  if (errors.length) return { ok: false, errors };
  if (entries.length === 0) return { ok: false, errors: [{ field: '(body)', reason: 'nothing to change' }] };

  const next = structuredClone(file);
  let password: string | null = null;
  for (const [field, value] of entries) {
    if (field === 'dashboard.password') {
      if (value === null) return { ok: false, errors: [{ field, reason: 'cannot be removed, only changed' }] };
      password = value as string; // type checked by the schema below
      setPath(next, 'dashboard.passwordHash', null);
    }
    setPath(next, field, value);
  }
  const changed = entries.map(([k]) => k as EditableField);
  const hidden = new Set(changed.map((f) => ENV_OF.get(f)));
  const envForCheck = Object.fromEntries(Object.entries(env).filter(([k]) => !hidden.has(k)));
  const r = DeviceConfig.safeParse(applyEnv(DeviceConfig, next, envForCheck).value);
  if (!r.success) return { ok: false, errors: r.error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(root)', reason: i.message })) };
  const overriddenByEnv = changed.filter((f) => env[ENV_OF.get(f) ?? ''] !== undefined && env[ENV_OF.get(f) ?? ''] !== '');
  return { ok: true, next, changed, password, overriddenByEnv };
}

export type ApplyResult =
  | { ok: true; changed: EditableField[]; restartRequired: EditableField[]; overriddenByEnv: string[]; passwordHash: string | null }
  | { ok: false; status: 400 | 409; errors: FieldError[] };

/** The config file as the dashboard edits it. Without a file (config from the environment) nothing can be saved. */
export class SettingsStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: { path: string | null; env?: Env; scrypt?: ScryptParams }) {}

  get path(): string | null {
    return this.o.path;
  }

  /** The file's current JSON object ({} without a file). */
  read(): Json {
    if (!this.o.path) return {};
    const value: unknown = JSON.parse(readFileSync(this.o.path, 'utf8'));
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${this.o.path}: must hold a JSON object`);
    return value as Json;
  }

  private write(value: Json): void {
    const path = this.o.path!;
    const mode = statSync(path).mode & 0o777;
    new StateStore(dirname(path)).write(basename(path), value, mode);
  }

  /** Validates and writes a change; changes are serialised, each against the file as it is then. */
  /** `editable`: the fields this caller may change (the dashboard's by default; the hub's desired config passes its own). */
  apply(patch: unknown, editable: readonly string[] = EDITABLE_FIELDS): Promise<ApplyResult> {
    const run = this.queue.then(async (): Promise<ApplyResult> => {
      if (!this.o.path) return { ok: false, status: 409, errors: [{ field: '(file)', reason: 'the agent runs without a config file (from the environment): nothing can be saved' }] };
      const plan = planSettings(this.read(), patch, this.o.env ?? process.env, editable);
      if (!plan.ok) return { ok: false, status: 400, errors: plan.errors };
      let passwordHash: string | null = null;
      if (plan.password !== null) {
        passwordHash = await hashPassword(plan.password, this.o.scrypt);
        setPath(plan.next, 'dashboard.password', null);
        setPath(plan.next, 'dashboard.passwordHash', passwordHash);
      }
      this.write(plan.next);
      return { ok: true, changed: plan.changed, restartRequired: plan.changed.filter((f) => !LIVE_FIELDS.has(f)), overriddenByEnv: plan.overriddenByEnv, passwordHash };
    });
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * A plain `dashboard.password` in the file is replaced by its hash (the file keeps no password in clear).
   * Returns the hash for the login check; when the file cannot be rewritten the hash is kept in memory only.
   */
  async hashPlainPassword(plain: string, onWriteError: (why: string) => void): Promise<string> {
    const hash = await hashPassword(plain, this.o.scrypt);
    try {
      const file = this.o.path ? this.read() : null;
      const dash = file?.dashboard as Json | undefined;
      if (file && dash && dash.password === plain) {
        setPath(file, 'dashboard.password', null);
        setPath(file, 'dashboard.passwordHash', hash);
        this.write(file);
      }
    } catch (err) {
      onWriteError((err as Error).message);
    }
    return hash;
  }
}
