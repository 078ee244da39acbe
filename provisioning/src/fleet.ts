// Device identities in bulk: one validated device config per device (and, with pre-issued credentials,
// the device's own credentials beside it), plus a fleet manifest that lists names and paths, never
// secrets. Where credentials come from is injected (the CLI asks the hub's database), so this package
// depends on `protocol` only.
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DeviceConfig, EthAddress, isValidId, parseConfig } from '@sosna/protocol';
import type { DeviceConfigInput } from '@sosna/protocol';
import { formatCsv, parseCsv } from './csv.js';

export class FleetError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'FleetError';
  }
}

export interface DeviceSpec {
  name: string;
  tags: string[];
  /** The owner's payout wallet (Ethereum address), when the CSV gives one. */
  owner: string | null;
}

/** What the agent reads from `stateDir/credentials.json` (the agent's own `Credentials` shape). */
export interface DeviceCredentials {
  hubId: string;
  deviceId: string;
  username: string;
  password: string;
  url: string;
  provisionedAt: number;
}

export type FleetAuth =
  | { kind: 'provisioning-key'; key: string }
  | {
      kind: 'pre-issued';
      hubId: string;
      /** Registers one device at the hub and returns its credentials; called with bounded parallelism. */
      issue: (device: DeviceSpec) => Promise<{ deviceId: string; username: string; password: string }>;
      concurrency?: number;
    };

export interface FleetHub {
  url: string;
  id?: string;
  owner?: string;
  /** The CA (PEM) that signed the hub's TLS certificate, for an mqtts:// or wss:// hub with its own CA. */
  ca?: string;
}

export interface ManifestDevice {
  name: string;
  tags: string[];
  owner: string | null;
  deviceId: string | null;
  /** Paths relative to the manifest. */
  config: string;
  credentials: string | null;
}

export interface FleetManifest {
  version: 1;
  fleet: string;
  hub: FleetHub;
  auth: FleetAuth['kind'];
  createdAt: string;
  devices: ManifestDevice[];
}

const TAG = /^[A-Za-z0-9._:=-]{1,64}$/;
const MAX_DEVICES = 100_000;

/** `rigs-001` ... `rigs-100`: names for `--count`. */
export function devicesFromCount(prefix: string, count: number): DeviceSpec[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_DEVICES) throw new FleetError([`--count ${count}: must be a whole number from 1 to ${MAX_DEVICES}`]);
  const width = Math.max(3, String(count).length);
  return Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${String(i + 1).padStart(width, '0')}`, tags: [], owner: null }));
}

const HEADER_ALIASES: Record<string, 'name' | 'tags' | 'owner'> = {
  name: 'name', device: 'name', hostname: 'name',
  tags: 'tags', tag: 'tags', labels: 'tags',
  owner: 'owner', wallet: 'owner', owner_wallet: 'owner', 'owner wallet': 'owner', payout: 'owner',
};

/**
 * Reads a device list: a header row naming the columns (`name`, optional `tags` and `owner`; order free),
 * tags separated by `;`, `|` or spaces. Every problem is reported with its line.
 */
export function devicesFromCsv(text: string, file = 'devices.csv'): DeviceSpec[] {
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (err) {
    throw new FleetError([`${file}: ${(err as Error).message}`]);
  }
  const lines = rows.map((r, i) => ({ r, line: i + 1 })).filter(({ r }) => r.some((f) => f.trim() !== '') && !r[0]!.trim().startsWith('#'));
  const header = lines.shift();
  if (!header) throw new FleetError([`${file}: empty; expected a header row such as "name,tags,owner"`]);
  const cols = header.r.map((h) => HEADER_ALIASES[h.trim().toLowerCase()]);
  const unknown = header.r.filter((_, i) => !cols[i]);
  if (unknown.length) throw new FleetError([`${file}:${header.line}: unknown column(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')}; use name, tags, owner`]);
  if (!cols.includes('name')) throw new FleetError([`${file}:${header.line}: no "name" column in the header`]);
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const out: DeviceSpec[] = [];
  for (const { r, line } of lines) {
    const get = (c: 'name' | 'tags' | 'owner') => (cols.indexOf(c) >= 0 ? (r[cols.indexOf(c)] ?? '').trim() : '');
    if (r.length > cols.length) problems.push(`${file}:${line}: ${r.length} fields, the header has ${cols.length}`);
    const name = get('name');
    const tags = get('tags').split(/[;|\s]+/).filter(Boolean);
    const owner = get('owner') || null;
    if (!name) problems.push(`${file}:${line}: name is empty`);
    else if (name.length > 128) problems.push(`${file}:${line}: name is longer than 128 characters`);
    else if (seen.has(name.toLowerCase())) problems.push(`${file}:${line}: name ${JSON.stringify(name)} repeats line ${seen.get(name.toLowerCase())}`);
    else seen.set(name.toLowerCase(), line);
    for (const t of tags) if (!TAG.test(t)) problems.push(`${file}:${line}: tag ${JSON.stringify(t)}: use 1-64 letters, digits, '.', '_', ':', '=', '-'`);
    if (owner && !EthAddress.safeParse(owner).success) {
      problems.push(`${file}:${line}: column ${cols.indexOf('owner') + 1} (owner) ${JSON.stringify(owner)}: must be a wallet address, 0x followed by 40 hex digits (e.g. 0x52908400098527886E0F7030069857D2E4169EE7)`);
    }
    out.push({ name, tags, owner });
  }
  if (out.length === 0 && problems.length === 0) problems.push(`${file}: no devices below the header`);
  if (out.length > MAX_DEVICES) problems.push(`${file}: ${out.length} devices; at most ${MAX_DEVICES}`);
  if (problems.length) throw new FleetError(problems);
  return out;
}

/** A folder name for a device: its name as a slug, unique in the fleet. */
export function deviceDirNames(devices: DeviceSpec[]): string[] {
  const used = new Set<string>();
  return devices.map((d) => {
    const base = d.name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 64) || 'device';
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}-${n}`;
    used.add(name);
    return name;
  });
}

/** The config file of one device, validated against the protocol's schema (problems name the device). */
export function deviceConfig(hub: FleetHub, device: DeviceSpec, provisioningKey: string | null, base: Partial<DeviceConfigInput> = {}): DeviceConfigInput {
  const config: DeviceConfigInput = {
    ...base,
    hub: { url: hub.url, ...(hub.id ? { id: hub.id } : {}), ...(hub.owner ? { owner: hub.owner } : {}), ...(hub.ca ? { ca: hub.ca } : {}) },
    ...(provisioningKey ? { provisioningKey } : {}),
    name: device.name,
    // the owner's input reaches the device: its wallet (sent with its birth, where payouts go) and its tags
    // (sent when it provisions; pre-issued devices are registered with them)
    ...(device.owner ? { owner: device.owner } : {}),
    ...(device.tags.length ? { tags: device.tags } : {}),
  };
  const r = parseConfig(DeviceConfig, config, { file: `config of ${device.name}` });
  if (!r.ok) throw new FleetError(r.errors);
  return config;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function writePrivate(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export interface WriteFleetOptions {
  outDir: string;
  fleet: string;
  hub: FleetHub;
  devices: DeviceSpec[];
  auth: FleetAuth;
  /** Extra config fields for every device (telemetry, mqtt, log, ...). */
  configBase?: Partial<DeviceConfigInput>;
  /** Write into a folder that already has files. */
  force?: boolean;
  now?: () => number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Writes `OUT/devices/NAME/config.json` (+ `credentials.json` when pre-issued) for every device and
 * `OUT/manifest.json` + `OUT/manifest.csv`. Every config is validated before anything is written or issued.
 */
export async function writeFleet(opts: WriteFleetOptions): Promise<{ manifest: FleetManifest; manifestPath: string }> {
  const now = opts.now ?? Date.now;
  if (!isValidId(opts.fleet)) throw new FleetError([`fleet ${JSON.stringify(opts.fleet)}: use 1-64 letters, digits, '.', '_', '-'`]);
  if (opts.devices.length === 0) throw new FleetError(['no devices']);
  if (existsSync(opts.outDir) && readdirSync(opts.outDir).length > 0 && !opts.force) {
    throw new FleetError([`${opts.outDir} is not empty: choose a new folder or pass --force`]);
  }
  const key = opts.auth.kind === 'provisioning-key' ? opts.auth.key : null;
  // validate every config first: a bad name or URL fails before the hub registers anything
  const configs = opts.devices.map((d) => deviceConfig(opts.hub, d, key, opts.configBase));
  const dirs = deviceDirNames(opts.devices);

  let creds: (DeviceCredentials | null)[] = opts.devices.map(() => null);
  if (opts.auth.kind === 'pre-issued') {
    const { issue, hubId } = opts.auth;
    let done = 0;
    creds = await mapLimit(opts.devices, opts.auth.concurrency ?? 8, async (d) => {
      const c = await issue(d);
      opts.onProgress?.(++done, opts.devices.length);
      return { hubId, deviceId: c.deviceId, username: c.username, password: c.password, url: opts.hub.url, provisionedAt: now() };
    });
  }

  mkdirSync(join(opts.outDir, 'devices'), { recursive: true, mode: 0o700 });
  const devices: ManifestDevice[] = opts.devices.map((d, i) => {
    const dir = join(opts.outDir, 'devices', dirs[i]!);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const configPath = join(dir, 'config.json');
    writePrivate(configPath, JSON.stringify(configs[i], null, 2) + '\n');
    let credPath: string | null = null;
    const c = creds[i];
    if (c) {
      credPath = join(dir, 'credentials.json');
      writePrivate(credPath, JSON.stringify(c, null, 2) + '\n');
    }
    return {
      name: d.name, tags: d.tags, owner: d.owner, deviceId: c?.deviceId ?? null,
      config: relative(opts.outDir, configPath), credentials: credPath ? relative(opts.outDir, credPath) : null,
    };
  });
  const manifest: FleetManifest = {
    version: 1, fleet: opts.fleet, hub: opts.hub, auth: opts.auth.kind, createdAt: new Date(now()).toISOString(), devices,
  };
  const manifestPath = join(opts.outDir, 'manifest.json');
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  writeFileSync(
    join(opts.outDir, 'manifest.csv'),
    formatCsv([
      ['name', 'tags', 'owner', 'device_id', 'config', 'credentials'],
      ...devices.map((d) => [d.name, d.tags.join(';'), d.owner ?? '', d.deviceId ?? '', d.config, d.credentials ?? '']),
    ]),
  );
  return { manifest, manifestPath };
}
