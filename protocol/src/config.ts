// The device config: one schema that validates the file, supplies defaults and derives the environment
// overrides (SOSNA_<PATH> in upper snake case, e.g. SOSNA_HUB_URL, SOSNA_TELEMETRY_INTERVAL_SEC).
import { z } from 'zod';
import { EthAddress, Id } from './messages.js';
import { DEFAULT_MAX_PAYLOAD } from './codec.js';
import { FINGERPRINT } from './tls.js';
import { MiningConfig } from './mining.js';

const MqttUrl = z
  .string()
  .refine((s) => /^(mqtts?|wss?):\/\/[^/\s]+/.test(s), 'must be an mqtt://, mqtts://, ws:// or wss:// URL');

/** A device tag: the same form the console's `devices tag` and the fleet CSV accept. */
export const DeviceTag = z.string().regex(/^[A-Za-z0-9._:=-]{1,64}$/, "must be 1-64 letters, digits, '.', '_', ':', '=', '-'");

/** PEM text, or the path of a PEM file (relative to the config file's folder); read when the agent starts. */
const PemOrPath = (what: string) =>
  z.string().min(1).max(64 * 1024).refine((v) => v.includes('-----BEGIN ') || !/[\n\r]/.test(v), `must be ${what} in PEM (-----BEGIN ...) or the path of a PEM file`);
const HubCa = PemOrPath('the CA certificate that signed the hub\'s certificate');
const HubFingerprint = z.string().regex(FINGERPRINT, 'must be a SHA-256 fingerprint: 32 hex bytes, e.g. AB:CD:...:EF (the hub prints its CA\'s at start)');

const ProvisioningKey = z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must look like keyId.secret');

export const DeviceConfig = z
  .object({
    hub: z
      .object({
        /** Broker URL of the hub, e.g. mqtt://hub.example.org:1883. */
        url: MqttUrl,
        /** Pin the hub id; otherwise taken from the hub's signed announcement. */
        id: Id.optional(),
        /** Pin the hub owner's Ethereum address; announcements signed by anyone else are refused. */
        owner: EthAddress.optional(),
        /**
         * For an mqtts:// or wss:// hub: the CA its certificate must chain to (PEM, or a file path), e.g. the
         * hub's own CA from provisioning. Absent: the system's public CAs.
         */
        ca: HubCa.optional(),
        /**
         * Instead of `ca`: the SHA-256 fingerprint of the hub's CA certificate (AB:CD:..., printed by the hub at
         * start); the agent fetches that certificate from the hub and trusts it as the CA.
         */
        fingerprint: HubFingerprint.optional(),
      })
      .strict(),
    /** Fleet provisioning key `keyId.secret`; exchanged for the device's own credentials on first boot. */
    provisioningKey: ProvisioningKey.optional(),
    /**
     * Other hubs this device may work for, beside `hub`. With any listed, the agent reads every hub's signed
     * card, checks each on chain, and joins the best acceptable one (agent/src/trust/choose.ts); it moves to
     * another when its hub fails the trust check on a reconnect. A hub without its own provisioningKey uses
     * the top-level one.
     */
    hubs: z
      .array(
        z
          .object({
            url: MqttUrl,
            id: Id.optional(),
            owner: EthAddress.optional(),
            ca: HubCa.optional(),
            fingerprint: HubFingerprint.optional(),
            provisioningKey: ProvisioningKey.optional(),
          })
          .strict(),
      )
      .max(16)
      .default([]),
    /**
     * Which configured hub to prefer: "best" (the ranking of agent/src/trust/choose.ts) or the URL of `hub`
     * or of an entry of `hubs`. A preferred hub that passes the checks wins over the ranking; one that fails
     * them is still refused (with the reason) and the ranking's best is joined instead.
     */
    hubPreference: z.string().min(1).max(512).optional(),
    /** A client certificate for hubs that require one (mutual TLS): both or neither, PEM or file paths. */
    tls: z
      .object({
        cert: PemOrPath('a client certificate').optional(),
        key: PemOrPath('the client certificate\'s private key').optional(),
      })
      .strict()
      .refine((t) => !t.cert === !t.key, { message: 'tls.cert and tls.key go together: give both (a client certificate and its key) or neither', path: ['key'] })
      .prefault({}),
    /** Human name of the device; defaults to the host name. */
    name: z.string().min(1).max(128).optional(),
    /** Tags the owner gives the device (e.g. from `sosna provision fleet --csv`); the hub records them at provisioning. */
    tags: z.array(DeviceTag).max(64).optional(),
    /** Where credentials and other state live; written atomically. */
    stateDir: z.string().min(1).default('/var/lib/sosna'),
    telemetry: z
      .object({
        intervalSec: z.number().min(1).max(3600).default(10),
        fullEverySec: z.number().min(10).max(86_400).default(300),
      })
      .strict()
      .prefault({}),
    mqtt: z
      .object({
        keepaliveSec: z.number().int().min(2).max(3600).default(30),
        reconnectMinMs: z.number().int().min(50).max(60_000).default(500),
        reconnectMaxMs: z.number().int().min(100).max(600_000).default(30_000),
      })
      .strict()
      .prefault({}),
    rpc: z
      .object({ maxPayloadBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(DEFAULT_MAX_PAYLOAD) })
      .strict()
      .prefault({}),
    hardware: z
      .object({
        /** ASIC miners on the LAN that this agent watches: `host` or `host:port` (cgminer API, port 4028). */
        asicHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be host or host:port')).max(1024).default([]),
        /** Bound on one full hardware detection. */
        detectTimeoutSec: z.number().min(1).max(300).default(30),
      })
      .strict()
      .prefault({}),
    jobs: z
      .object({
        /** Run jobs at all (a device without a container engine offers none anyway). */
        enabled: z.boolean().default(true),
        /** Engine endpoint, unix:///path or tcp://host:port; default $DOCKER_HOST, then balenaEngine's socket, then Docker's. */
        dockerHost: z.string().regex(/^(unix|tcp|http):\/\/\S+$/, 'must be unix:///path or tcp://host:port').optional(),
        /** Ask: the least this device takes per second of a job, token wei (decimal). */
        askPerSec: z.string().regex(/^\d{1,78}$/, 'must be a non-negative decimal integer (token wei)').default('0'),
        maxJobs: z.number().int().min(0).max(256).default(8),
        /** CPUs and memory offered to jobs; default all cores and 80% of the memory. */
        cpus: z.number().positive().optional(),
        memoryBytes: z.number().int().positive().optional(),
        /** Host name or address put in service endpoints (default: the first non-internal IPv4 address). */
        publicHost: z.string().min(1).max(255).optional(),
        /** Address published service ports bind to on the device. */
        bindAddress: z.string().min(1).max(64).default('0.0.0.0'),
        /** Output forwarded to the hub per job: rate bound; beyond it output is dropped (and counted). */
        logBytesPerSec: z.number().int().min(1024).max(16 * 1024 * 1024).default(256 * 1024),
        /** The most processes one job may have (a fork bomb stops here); a job asking for fewer gets its own figure. */
        pidsLimit: z.number().int().min(8).max(4_194_304).default(512),
        /** Stalled-job failures within an hour that mark the device unhealthy. */
        unhealthyAfter: z.number().int().min(1).max(100).default(3),
      })
      .strict()
      .prefault({}),
    /** The device's local web dashboard (agent/src/dashboard). */
    dashboard: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().min(1).max(255).default('0.0.0.0'),
        /** 8480 by default; the sosna image serves it on port 80. 0 picks a free port. */
        port: z.number().int().min(0).max(65_535).default(8480),
        /** Login password in plain text; the agent replaces it in the file with `passwordHash` at start. */
        password: z.string().min(8, 'must be at least 8 characters').max(256).optional(),
        /** Salted scrypt hash `scrypt$N$r$p$salt$hash` (base64url). Without a password the agent prints a one-time code at start. */
        passwordHash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/, 'must be scrypt$N$r$p$salt$hash').optional(),
        /** Serve HTTPS (self-signed certificate made on the device, kept in stateDir, fingerprint in the log and the hub inventory); plain HTTP on the port only redirects. */
        https: z.boolean({ error: 'must be true or false (true: serve the dashboard over HTTPS with a self-signed certificate kept in stateDir)' }).default(false),
      })
      .strict()
      .prefault({}),
    /**
     * Prometheus' /metrics on its own HTTP listener (agent/src/metrics.ts): the latest telemetry sample (GPU
     * temperature, power, fan, ASIC hashrate, ...), the hub link and the runs. Off unless the owner turns it on.
     */
    metrics: z
      .object({
        enabled: z.boolean({ error: 'must be true or false (true: serve Prometheus /metrics on metrics.host:metrics.port)' }).default(false),
        /** 127.0.0.1: this machine only; 0.0.0.0 for a Prometheus on another machine. */
        host: z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, 'must be a host name or an IP address (127.0.0.1: this machine only; 0.0.0.0: every interface)').default('127.0.0.1'),
        /** 0 picks a free port (the log says which). */
        port: z.number({ error: 'must be a port number 0-65535 (0: any free port)' }).int('must be a whole port number 0-65535').min(0, 'must be a port number 0-65535').max(65_535, 'must be a port number 0-65535').default(9481),
      })
      .strict()
      .prefault({}),
    /** Rig mode (protocol/src/mining.ts): the owner's flight sheet; the agent mines when no job pays more. Absent: no mining. */
    mining: MiningConfig.optional(),
    /** The device owner's Ethereum address: hubs approve its earnings to it (no key lives on the device). */
    owner: EthAddress.optional(),
    /** On-chain checks of a hub before working for it (skipped when rpcUrl is not set). */
    chain: z
      .object({
        rpcUrl: z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL').optional(),
        /** The Whitelist contract that lists acceptable hubs. */
        whitelist: EthAddress.optional(),
        /** Only hubs the DAO marked trusted. */
        requireTrusted: z.boolean().default(false),
        /** The least a hub's wallet must be able to pay out, token wei (decimal). */
        minAvailableWei: z.string().regex(/^\d{1,78}$/, 'must be a non-negative decimal integer (token wei)').default('0'),
      })
      .strict()
      .refine((c) => !c.rpcUrl || c.whitelist, { message: 'chain.rpcUrl needs chain.whitelist (the Whitelist contract address)', path: ['whitelist'] })
      .prefault({}),
    /** The device itself: how the agent reboots it and where it finds the board's LEDs (never set from a hub). */
    system: z
      .object({
        /** The command `sosna console devices reboot` runs, as argv; default `systemctl reboot` where systemd runs, else `reboot`. */
        rebootCommand: z.array(z.string().min(1).max(4096)).min(1).max(64).optional(),
        /** When set, `devices reboot` is refused with this reason and nothing runs (`sosna up` sets it: a developer's own machine). */
        rebootDisabled: z.string().min(1).max(512).optional(),
        /** Where sysfs is mounted (LEDs for `devices identify` under class/leds). */
        sysfsRoot: z.string().min(1).default('/sys'),
      })
      .strict()
      .prefault({}),
    log: z.object({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }).strict().prefault({}),
    /** `sosna console shell DEVICE` (admins of the hub): off unless the device's owner turns it on here (never from a hub). */
    remoteShell: z
      .object({
        enabled: z.boolean().default(false),
        /** A session with no keystroke and no output for this long is ended. */
        idleTimeoutSec: z.number().int().min(1).max(86_400).default(900),
        /** Sessions at once. */
        maxSessions: z.number().int().min(1).max(16).default(2),
        /** The shell, as argv; default bash (or sh) as an interactive login shell. */
        command: z.array(z.string().min(1).max(4096)).min(1).max(64).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.hubPreference !== undefined && c.hubPreference !== 'best' && c.hubPreference !== c.hub.url && !c.hubs.some((h) => h.url === c.hubPreference)) {
      const urls = [c.hub.url, ...c.hubs.map((h) => h.url)];
      ctx.addIssue({ code: 'custom', path: ['hubPreference'], message: `${c.hubPreference} is not a configured hub: use "best" or one of ${urls.join(', ')}` });
    }
    const plainWithCa = (h: { url: string; ca?: string; fingerprint?: string }, path: PropertyKey[]) => {
      const field = h.ca ? 'ca' : h.fingerprint ? 'fingerprint' : null;
      if (field && !/^(mqtts|wss):\/\//i.test(h.url)) ctx.addIssue({ code: 'custom', path: [...path, field], message: `a CA is only used over TLS: ${h.url} is plain; use mqtts:// (port 8883) or wss://` });
      if (h.ca && h.fingerprint) ctx.addIssue({ code: 'custom', path: [...path, 'fingerprint'], message: 'give the CA (ca) or its fingerprint, not both' });
    };
    plainWithCa(c.hub, ['hub']);
    c.hubs.forEach((h, i) => plainWithCa(h, ['hubs', i]));
    const seen = new Map<string, string>([[c.hub.url, 'hub.url']]);
    c.hubs.forEach((h, i) => {
      const first = seen.get(h.url);
      if (first) ctx.addIssue({ code: 'custom', path: ['hubs', i, 'url'], message: `${h.url} is already configured as ${first}` });
      else seen.set(h.url, `hubs.${i}.url`);
      if (!h.provisioningKey && !c.provisioningKey) {
        ctx.addIssue({ code: 'custom', path: ['hubs', i, 'provisioningKey'], message: `hub ${h.url} needs a provisioningKey (here or at the top level) to be joined` });
      }
    });
  });
export type DeviceConfig = z.infer<typeof DeviceConfig>;
export type DeviceConfigInput = z.input<typeof DeviceConfig>;

type Leaf = 'string' | 'number' | 'boolean' | 'list';

interface ZodLike {
  _zod: { def: { type: string; innerType?: ZodLike; shape?: Record<string, ZodLike>; element?: ZodLike } };
}

function unwrap(schema: ZodLike): ZodLike {
  let s = schema;
  for (let i = 0; i < 10; i++) {
    const def = s._zod.def;
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'prefault' || def.type === 'nullable') && def.innerType) s = def.innerType;
    else break;
  }
  return s;
}

function leafKind(schema: ZodLike): Leaf | null {
  const t = unwrap(schema)._zod.def.type;
  if (t === 'string' || t === 'enum' || t === 'literal') return 'string';
  if (t === 'number' || t === 'int') return 'number';
  if (t === 'boolean') return 'boolean';
  // lists of plain values only: a list of objects (e.g. `hubs`) is set in the file, never from one variable
  if (t === 'array') {
    const element = unwrap(schema)._zod.def.element;
    return element && unwrap(element)._zod.def.type === 'object' ? null : 'list';
  }
  return null;
}

const snake = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** Every settable path of an object schema with its environment variable name. */
export function envVariables(schema: z.ZodType, prefix = 'SOSNA'): { path: string[]; env: string; kind: Leaf }[] {
  const out: { path: string[]; env: string; kind: Leaf }[] = [];
  const walk = (s: ZodLike, path: string[]) => {
    const u = unwrap(s);
    if (u._zod.def.type === 'object' && u._zod.def.shape) {
      for (const [k, child] of Object.entries(u._zod.def.shape)) walk(child, [...path, k]);
      return;
    }
    const kind = leafKind(u);
    if (kind) out.push({ path, env: [prefix, ...path.map(snake)].join('_'), kind });
  };
  walk(schema as unknown as ZodLike, []);
  return out;
}

export interface EnvApplied {
  value: Record<string, unknown>;
  /** dotted path -> environment variable that set it, for error messages. */
  sources: Record<string, string>;
}

/** Applies SOSNA_* variables over a parsed config file (before validation). Pure. */
export function applyEnv(schema: z.ZodType, base: unknown, env: Record<string, string | undefined>, prefix = 'SOSNA'): EnvApplied {
  const value: Record<string, unknown> = structuredClone((base && typeof base === 'object' ? base : {}) as Record<string, unknown>);
  const sources: Record<string, string> = {};
  for (const v of envVariables(schema, prefix)) {
    const raw = env[v.env];
    if (raw === undefined || raw === '') continue;
    let parsed: unknown = raw;
    if (v.kind === 'number') parsed = raw.trim() !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
    else if (v.kind === 'boolean') parsed = raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
    else if (v.kind === 'list') parsed = raw.split(',').map((x) => x.trim()).filter(Boolean);
    let node = value;
    for (const key of v.path.slice(0, -1)) {
      const next = node[key];
      node = (next && typeof next === 'object' ? next : (node[key] = {})) as Record<string, unknown>;
    }
    node[v.path[v.path.length - 1]!] = parsed;
    sources[v.path.join('.')] = v.env;
  }
  return { value, sources };
}

/** Validates a config object; errors name the file, the field (and the variable that set it) and the reason. */
export function parseConfig<T extends z.ZodType>(
  schema: T,
  value: unknown,
  origin: { file?: string; sources?: Record<string, string> } = {},
): { ok: true; config: z.output<T> } | { ok: false; errors: string[] } {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, config: r.data };
  const where = origin.file ? `${origin.file}: ` : '';
  return {
    ok: false,
    errors: r.error.issues.map((issue) => {
      const path = issue.path.map(String).join('.');
      const env = origin.sources?.[path];
      const secret = /key|password|secret/i.test(path);
      const got = issue.code === 'unrecognized_keys' ? '' : secret ? ' (value hidden)' : describeValue(value, issue.path);
      return `${where}${path || '(root)'}${env ? ` (from ${env})` : ''}: ${issue.message}${got}`;
    }),
  };
}

function describeValue(root: unknown, path: PropertyKey[]): string {
  let node: unknown = root;
  for (const k of path) {
    if (node && typeof node === 'object') node = (node as Record<PropertyKey, unknown>)[k];
    else return '';
  }
  if (node === undefined) return '';
  const text = JSON.stringify(node);
  return text === undefined ? '' : ` (got ${text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
}
