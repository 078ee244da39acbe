// Desired config: values an operator sets on devices from the console (`sosna console devices set`). The hub
// keeps them per device and publishes them RETAINED on dev/{deviceId}/config, so a device that is offline
// gets them when it comes back; the device applies them to its config file (validated by DeviceConfig) and
// reports the applied version, or the reason it refused, through the hub's `config` service for devices.
import { z } from 'zod';
import { DeviceConfig, envVariables } from './config.js';
import { Id, Millis } from './messages.js';
import { defineService } from './rpc/service.js';

type Leaf = 'string' | 'number' | 'boolean' | 'list';

/**
 * Never set from a hub: the link to the hub itself (its URL, CA) and the device's TLS client certificate, secrets, where state lives, the on-chain trust checks of
 * hubs, the device's own commands (system.*), and the owner's wallet (payouts are approved to it: a hub
 * that could change it could pay itself), nor the ceiling that bounds the jobs a hub sends (jobs.pidsLimit).
 */
// what only the device's owner decides: where it connects and whom it trusts, its wallet, its passwords and
// HTTPS, the machine itself, and the bounds and engine of the jobs a hub sends
const NOT_REMOTE = [
  /^hub\./, /^tls\./, /^hubPreference$/, /^owner$/, /^provisioningKey$/, /^stateDir$/, /^dashboard\.password/, /^dashboard\.https$/, /^chain\./, /^system\./,
  /^jobs\.pidsLimit$/, /^jobs\.dockerHost$/, /^remoteShell\./, /^metrics\./,
  // rig mode: the miner's argv is a program the device runs, the wallet is where the owner is paid
  /^mining\./,
];

/** DeviceConfig paths (dotted) a hub may set, with the kind of value each takes. */
export const REMOTE_CONFIG_FIELDS: ReadonlyMap<string, Leaf> = new Map(
  envVariables(DeviceConfig)
    .map((v) => [v.path.join('.'), v.kind] as const)
    .filter(([path]) => !NOT_REMOTE.some((r) => r.test(path))),
);

export interface FieldError {
  field: string;
  reason: string;
}

/** `KEY=VALUE` from the command line, the value typed by the field's kind. Throws naming the key and value. */
export function parseConfigAssignment(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new Error(`${JSON.stringify(text)}: use KEY=VALUE, e.g. telemetry.intervalSec=30`);
  const key = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1);
  const kind = REMOTE_CONFIG_FIELDS.get(key);
  if (!kind) throw new Error(`${key}: not a config key that can be set remotely (keys: ${[...REMOTE_CONFIG_FIELDS.keys()].join(', ')})`);
  switch (kind) {
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`${key}=${raw}: must be a number`);
      return [key, n];
    }
    case 'boolean':
      if (raw === 'true' || raw === 'false') return [key, raw === 'true'];
      throw new Error(`${key}=${raw}: must be true or false`);
    case 'list':
      if (raw.trim().startsWith('[')) {
        try {
          return [key, JSON.parse(raw) as unknown];
        } catch (err) {
          throw new Error(`${key}=${raw}: not a JSON list (${(err as Error).message})`);
        }
      }
      return [key, raw.split(',').map((x) => x.trim()).filter(Boolean)];
    default:
      return [key, raw];
  }
}

function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = root;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    node = (next && typeof next === 'object' && !Array.isArray(next) ? next : (node[k] = {})) as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** Checks desired values against the config schema, each on its own; errors name the key and the reason. Pure. */
export function checkConfigValues(values: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const known: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(values)) {
    if (!REMOTE_CONFIG_FIELDS.has(field)) errors.push({ field, reason: 'not a config key that can be set remotely' });
    else known[field] = value;
  }
  if (Object.keys(values).length === 0) errors.push({ field: '(values)', reason: 'nothing to set' });
  const probe: Record<string, unknown> = { hub: { url: 'mqtt://placeholder:1883' } };
  for (const [field, value] of Object.entries(known)) setPath(probe, field, value);
  const r = DeviceConfig.safeParse(probe);
  if (!r.success) {
    for (const issue of r.error.issues) {
      const path = issue.path.map(String).join('.');
      const got = known[path];
      errors.push({ field: path || '(root)', reason: `${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}` });
    }
  }
  return errors;
}

/** Retained on dev/{deviceId}/config: every value desired for the device, under one version that only grows. */
export const DesiredConfig = z.object({
  v: z.literal(1),
  version: z.number().int().positive(),
  values: z.record(z.string().max(128), z.unknown()),
  at: Millis,
});
export type DesiredConfig = z.infer<typeof DesiredConfig>;

export const ConfigReport = z.object({
  version: z.number().int().positive(),
  status: z.enum(['applied', 'failed']),
  errors: z.array(z.object({ field: z.string(), reason: z.string() })).max(64).optional(),
  /** Fields written to the config file that take effect when the agent restarts. */
  restartRequired: z.array(z.string()).max(64).optional(),
});
export type ConfigReport = z.infer<typeof ConfigReport>;

/** The hub's service for devices: the outcome of applying a desired config. */
export const hubConfigService = defineService('config', {
  report: { params: ConfigReport, result: z.object({ ok: z.boolean() }) },
});

/** Which devices a bulk action targets: exactly one of the selectors. */
export const DeviceTarget = z
  .object({ deviceId: Id.optional(), fleet: z.string().max(64).optional(), tag: z.string().max(64).optional(), all: z.boolean().optional() })
  .refine((t) => [t.deviceId !== undefined, t.fleet !== undefined, t.tag !== undefined, t.all === true].filter(Boolean).length === 1, {
    message: 'name exactly one of deviceId, fleet, tag or all',
  });
export type DeviceTarget = z.infer<typeof DeviceTarget>;

/** A device's desired config as the hub knows it. */
export const DesiredConfigState = z.object({
  version: z.number().int(),
  values: z.record(z.string(), z.unknown()),
  status: z.enum(['pending', 'applied', 'failed']),
  reason: z.string().nullable(),
  updatedAt: Millis,
  reportedAt: Millis.nullable(),
});
export type DesiredConfigState = z.infer<typeof DesiredConfigState>;

/** One chunk of `devices.set`: progress while devices answer, then one result per device. */
export const SetConfigChunk = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('progress'), total: z.number(), applied: z.number(), failed: z.number(), pending: z.number() }),
  z.object({
    kind: z.literal('result'), deviceId: Id, name: z.string(), version: z.number(),
    status: z.enum(['applied', 'pending', 'failed']), reason: z.string().nullable(),
  }),
]);
export type SetConfigChunk = z.infer<typeof SetConfigChunk>;
