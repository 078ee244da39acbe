// `sosna image configure`: writes a device's config (and optional Wi-Fi settings and pre-issued
// credentials) into the FAT boot partition of an image file, without mounting: balena-image-fs edits the
// filesystem in pure JS. The config is validated against the protocol's schema first, and only an image
// with a GPT partition named `sosna-boot` is touched.
import { pbkdf2Sync } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { getPartitions } from 'partitioninfo';
import { DeviceConfig, isPem, parseConfig } from '@sosna/protocol';
import { BOOT_PARTITION_NAME, BOOT_PATHS } from './layout.js';
import { syncFatCopies } from './fat.js';

export class ImageError extends Error {
  constructor(message: string, readonly problems: string[] = []) {
    super(problems.length ? `${message}\n  ${problems.join('\n  ')}` : message);
    this.name = 'ImageError';
  }
}

export interface BootPartition {
  index: number;
  offset: number;
  size: number;
}

export interface WifiSettings {
  ssid: string;
  psk: string;
}

type FatFs = typeof import('node:fs');
type Interact = typeof import('balena-image-fs').interact;

let imageFs: Promise<Interact> | undefined;
/**
 * balena-image-fs, loaded on first use. Its ext2 backend (an Emscripten module) installs process-wide
 * `uncaughtException`/`unhandledRejection` handlers that rethrow; they are removed again so that this
 * library does not change how the host process reports errors.
 */
function loadImageFs(): Promise<Interact> {
  imageFs ??= (async () => {
    const before = { ue: process.listeners('uncaughtException'), ur: process.listeners('unhandledRejection') };
    const mod = await import('balena-image-fs');
    for (const l of process.listeners('uncaughtException')) if (!before.ue.includes(l)) process.off('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!before.ur.includes(l)) process.off('unhandledRejection', l);
    return mod.interact;
  })();
  return imageFs;
}

/** fatfs reports POSIX errors without the leading E (`NOENT`, `EXIST`, ...). */
const FATFS_CODES = new Set(['NOENT', 'EXIST', 'ISDIR', 'NOTDIR', 'NOSPC', 'ACCES', 'BADF', 'INVAL', 'IO', 'ROFS', 'NOSYS', 'NAMETOOLONG', 'NOTEMPTY']);
const errCode = (err: unknown): string | undefined => {
  const c = (err as NodeJS.ErrnoException | null)?.code;
  return c && FATFS_CODES.has(c) ? `E${c}` : c;
};

/** Compressed images must be decompressed before they are edited. */
export function compressionOf(head: Buffer): 'zstd' | 'xz' | 'gzip' | null {
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  return null;
}

/** Finds the sosna boot partition (by its GPT name); refuses anything else with the reason. */
export async function findBootPartition(image: string): Promise<BootPartition> {
  let size: number;
  try {
    const st = statSync(image);
    if (!st.isFile()) throw new ImageError(`${image} is not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError(`${image}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const head = Buffer.alloc(8);
  const fd = openSync(image, 'r');
  try {
    readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  const packed = compressionOf(head);
  if (packed) throw new ImageError(`${image} is ${packed}-compressed: decompress it first (${packed === 'zstd' ? 'zstd -d' : packed === 'xz' ? 'xz -dk' : 'gunzip -k'} ${image}), configure the .img, then flash it`);
  if (size < 34 * 512) throw new ImageError(`${image} is not a sosna image: too small to hold a partition table`);
  let table: Awaited<ReturnType<typeof getPartitions>>;
  try {
    table = await getPartitions(image, { includeExtended: false, getLogical: false });
  } catch (err) {
    throw new ImageError(`${image} is not a sosna image: no readable partition table (${(err as Error).message})`);
  }
  if (table.type !== 'gpt') throw new ImageError(`${image} is not a sosna image: it has ${table.partitions.length ? 'an MBR' : 'no'} partition table, not GPT with a "${BOOT_PARTITION_NAME}" partition`);
  const boot = table.partitions.find((p) => p.name === BOOT_PARTITION_NAME);
  if (!boot) {
    const names = table.partitions.map((p) => JSON.stringify(p.name)).join(', ') || 'none';
    throw new ImageError(`${image} is not a sosna image: no GPT partition named "${BOOT_PARTITION_NAME}" (partitions: ${names})`);
  }
  if (boot.offset + boot.size > size) throw new ImageError(`${image} is truncated: the ${BOOT_PARTITION_NAME} partition ends past the end of the file`);
  return { index: boot.index, offset: boot.offset, size: boot.size };
}

/** Validates a device config against the protocol schema; problems name the field and the reason. */
export function validateDeviceConfig(value: unknown, file: string): void {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ImageError(`${file}: the device config must be a JSON object`);
  const r = parseConfig(DeviceConfig, value, { file });
  if (!r.ok) throw new ImageError('invalid device config, nothing written:', r.errors);
  // a file path would name a file on this machine, not on the device: the image carries the PEM itself
  const c = r.config;
  const paths = [
    ['hub.ca', c.hub.ca], ...c.hubs.map((h, i) => [`hubs.${i}.ca`, h.ca]), ['tls.cert', c.tls.cert], ['tls.key', c.tls.key],
  ].filter((e): e is [string, string] => typeof e[1] === 'string' && !isPem(e[1]));
  if (paths.length) {
    throw new ImageError('invalid device config, nothing written:', paths.map(([field, v]) =>
      `${file}: ${field}: ${field.endsWith('key') ? 'is a file path' : `is a file path (${v})`}; an image needs the PEM text itself in the config (sosna provision fleet writes the hub's CA inline)`));
  }
}

/** wpa_supplicant network block with the PSK derived as wpa_passphrase does (no cleartext passphrase stored). */
export function wpaSupplicantConf(wifi: WifiSettings): string {
  const ssid = Buffer.from(wifi.ssid, 'utf8');
  if (ssid.length < 1 || ssid.length > 32) throw new ImageError(`--wifi-ssid: must be 1-32 bytes (got ${ssid.length})`);
  let psk: string;
  if (/^[0-9a-fA-F]{64}$/.test(wifi.psk)) psk = wifi.psk.toLowerCase();
  else if (/^[\x20-\x7e]{8,63}$/.test(wifi.psk)) psk = pbkdf2Sync(wifi.psk, ssid, 4096, 32, 'sha1').toString('hex');
  else throw new ImageError('--wifi-psk: must be 8-63 printable ASCII characters or 64 hex digits');
  return `# written by sosna image configure\nctrl_interface=/run/wpa_supplicant\nupdate_config=0\n\nnetwork={\n\tssid=${ssid.toString('hex')}\n\tpsk=${psk}\n\tkey_mgmt=WPA-PSK\n}\n`;
}

const CREDENTIAL_KEYS = ['hubId', 'deviceId', 'username', 'password', 'url', 'provisionedAt'] as const;

function validateCredentials(value: unknown, file: string): void {
  const v = value as Record<string, unknown> | null;
  const problems = !v || typeof v !== 'object' ? ['must be a JSON object'] : CREDENTIAL_KEYS.filter((k) => (k === 'provisionedAt' ? typeof v[k] !== 'number' : typeof v[k] !== 'string' || v[k] === '')).map((k) => `${k}: missing or not a ${k === 'provisionedAt' ? 'number' : 'string'}`);
  if (problems.length) throw new ImageError(`${file}: not device credentials (from sosna provision fleet --credentials):`, problems);
}

async function ensureDir(fs: FatFs, dir: string): Promise<void> {
  let at = '';
  for (const part of dir.split('/').filter(Boolean)) {
    at += `/${part}`;
    try {
      await promisify(fs.mkdir)(at);
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
  }
}

async function readIfExists(fs: FatFs, path: string): Promise<string | null> {
  try {
    return String(await promisify(fs.readFile)(path));
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw err;
  }
}

export interface ConfigureOptions {
  config: unknown;
  /** Name of the config's source, for error messages. */
  configFile?: string;
  wifi?: WifiSettings;
  credentials?: unknown;
  credentialsFile?: string;
  /** Remove the previous device's state (credentials, provisioning nonce) from the image. */
  resetIdentity?: boolean;
}

export interface ConfigureResult {
  partition: BootPartition;
  written: string[];
  removed: string[];
  /** The image already held an identity that stays (another device would share it if this is a copy). */
  keptIdentity: boolean;
}

export async function configureImage(image: string, opts: ConfigureOptions): Promise<ConfigureResult> {
  validateDeviceConfig(opts.config, opts.configFile ?? 'device config');
  const wifiConf = opts.wifi ? wpaSupplicantConf(opts.wifi) : null;
  if (opts.credentials !== undefined) validateCredentials(opts.credentials, opts.credentialsFile ?? 'credentials');
  const partition = await findBootPartition(image);
  const written: string[] = [];
  const removed: string[] = [];
  let keptIdentity = false;
  const interact = await loadImageFs();
  await interact(image, partition.index, async (fs) => {
    await ensureDir(fs, BOOT_PATHS.stateDir);
    if (opts.resetIdentity) {
      // fatfs cannot delete files: the state files are emptied, which the agent treats as absent
      for (const name of await promisify(fs.readdir)(BOOT_PATHS.stateDir)) {
        const path = `${BOOT_PATHS.stateDir}/${name}`;
        if (!(await readIfExists(fs, path))) continue;
        await promisify(fs.truncate)(path, 0);
        removed.push(path);
      }
    } else if (opts.credentials === undefined && (await readIfExists(fs, BOOT_PATHS.credentials))) keptIdentity = true;
    await promisify(fs.writeFile)(BOOT_PATHS.config, JSON.stringify(opts.config, null, 2) + '\n');
    written.push(BOOT_PATHS.config);
    if (wifiConf) {
      await promisify(fs.writeFile)(BOOT_PATHS.wifi, wifiConf);
      written.push(BOOT_PATHS.wifi);
    }
    if (opts.credentials !== undefined) {
      await promisify(fs.writeFile)(BOOT_PATHS.credentials, JSON.stringify(opts.credentials, null, 2) + '\n');
      written.push(BOOT_PATHS.credentials);
    }
  });
  syncFatCopies(image, partition.offset);
  return { partition, written, removed, keptIdentity };
}

/** What a configured image holds: the config (parsed), and whether Wi-Fi and credentials are there. */
export async function readImageConfig(image: string): Promise<{ config: unknown | null; configText: string | null; wifi: string | null; credentials: unknown | null; imageInfo: unknown | null }> {
  const partition = await findBootPartition(image);
  const interact = await loadImageFs();
  return interact(image, partition.index, async (fs) => {
    const configText = await readIfExists(fs, BOOT_PATHS.config);
    const wifi = await readIfExists(fs, BOOT_PATHS.wifi);
    const creds = await readIfExists(fs, BOOT_PATHS.credentials);
    const info = await readIfExists(fs, BOOT_PATHS.imageInfo);
    const parse = (t: string | null) => {
      if (t === null) return null;
      try {
        return JSON.parse(t) as unknown;
      } catch {
        return null;
      }
    };
    return { config: parse(configText), configText, wifi, credentials: parse(creds), imageInfo: parse(info) };
  });
}

/** Reads one file from the boot partition (for tests and `sosna image show`). */
export async function readBootFile(image: string, path: string): Promise<Buffer | null> {
  const partition = await findBootPartition(image);
  const interact = await loadImageFs();
  return interact(image, partition.index, async (fs) => {
    try {
      return await promisify(fs.readFile)(path);
    } catch (err) {
      if (errCode(err) === 'ENOENT') return null;
      throw err;
    }
  });
}
