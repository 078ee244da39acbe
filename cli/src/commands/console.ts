// `sosna console ...`: operator commands over MQTT, through the hub's console service.
import type { Command } from 'commander';
import { ConsoleClient } from '@sosna/hub';
import { devicesService } from '@sosna/protocol';
import type { DeviceFilter, DeviceSummary } from '@sosna/protocol';
import { loadProfile } from '../profile.js';
import { ago, bytes, table } from '../table.js';

export interface ConnFlags {
  profile?: string;
  url?: string;
  user?: string;
  password?: string;
  hubId?: string;
  timeout?: string;
}

export async function withConsole<T>(flags: ConnFlags, fn: (c: ConsoleClient) => Promise<T>): Promise<T> {
  const profile = loadProfile(flags);
  const timeoutMs = flags.timeout ? Number(flags.timeout) : undefined;
  const client = await ConsoleClient.connect(profile, { timeoutMs });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export function deviceRows(devices: DeviceSummary[], now = Date.now()): string[][] {
  return devices.map((d) => {
    const inv = (d.inventory ?? {}) as { cpu?: { brand?: string; cores?: number }; memory?: { totalBytes?: number }; arch?: string };
    return [
      d.id,
      d.name,
      d.fleet ?? '-',
      d.online ? 'online' : 'offline',
      d.online ? 'now' : ago(d.lastSeen, now),
      inv.cpu ? `${inv.cpu.cores ?? '?'}x ${inv.cpu.brand ?? ''}`.trim() : '-',
      bytes(inv.memory?.totalBytes),
      d.telemetry?.['cpu.loadPct'] !== undefined ? `${d.telemetry['cpu.loadPct']}%` : '-',
      d.agentVersion ?? '-',
    ];
  });
}

interface DeviceFlags {
  json?: boolean; fleet?: string; tag?: string; online?: boolean; offline?: boolean;
  class?: string; gpuVramMin?: string; gpuVendor?: string; arch?: string; hwProfile?: string; benchMin?: string[];
}

/** `8G`, `8GB`, `8GiB`, `512M`, `1T` or plain bytes; memory sizes count in powers of 1024. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new Error(`size ${JSON.stringify(text)}: use a number with K, M, G or T, e.g. 8G`);
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * unit);
}

function parseBenchMin(text: string): [string, number] {
  const m = /^([A-Za-z0-9_.-]+)=(-?\d+(?:\.\d+)?)$/.exec(text);
  if (!m) throw new Error(`--bench-min ${JSON.stringify(text)}: use KEY=NUMBER, e.g. cpu.sha256.multi.MBps=500`);
  return [m[1]!, Number(m[2])];
}

export function deviceFilter(o: DeviceFlags): DeviceFilter {
  const oneOf = <T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined => {
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) throw new Error(`${flag} ${JSON.stringify(value)}: use one of ${allowed.join(', ')}`);
    return value as T;
  };
  if (o.online && o.offline) throw new Error('--online and --offline exclude each other');
  return {
    fleet: o.fleet,
    tag: o.tag,
    online: o.online ? true : o.offline ? false : undefined,
    class: oneOf('--class', o.class, ['cpu', 'gpu', 'asic', 'board'] as const),
    gpuVramMin: o.gpuVramMin === undefined ? undefined : parseSize(o.gpuVramMin),
    gpuVendor: oneOf('--gpu-vendor', o.gpuVendor, ['nvidia', 'amd', 'intel'] as const),
    arch: o.arch,
    profile: o.hwProfile,
    benchMin: o.benchMin?.length ? Object.fromEntries(o.benchMin.map(parseBenchMin)) : undefined,
  };
}

function connOptions(cmd: Command): Command {
  return cmd
    .option('--profile <file>', 'console profile (url, hubId, user, password)')
    .option('--url <url>', 'hub MQTT URL')
    .option('--hub-id <id>', 'hub id')
    .option('--user <name>', 'operator name')
    .option('--password <password>', 'operator password (or SOSNA_CONSOLE_PASSWORD)')
    .option('--timeout <ms>', 'time-out for each call in ms');
}

export function registerConsole(program: Command): void {
  const consoleCmd = program.command('console').description('operate the fleet through a hub');
  connOptions(consoleCmd.command('devices').description('list devices'))
    .option('--json', 'machine-readable output')
    .option('--fleet <fleet>', 'only this fleet')
    .option('--tag <tag>', 'only devices with this tag')
    .option('--online', 'only online devices')
    .option('--offline', 'only offline devices')
    .option('--class <class>', 'only devices with a component of this class: cpu, gpu, asic or board')
    .option('--gpu-vram-min <size>', 'only devices with a GPU of at least this memory, e.g. 8G or 24GiB')
    .option('--gpu-vendor <vendor>', 'only devices with a GPU of this vendor: nvidia, amd or intel')
    .option('--arch <arch>', 'only this CPU architecture: x64, arm64, arm')
    .option('--hw-profile <id>', 'only devices matching this hardware profile (see sosna-agent detect)')
    .option('--bench-min <key=value>', 'only devices with a benchmark figure of at least value (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .action(async (o: ConnFlags & DeviceFlags) => {
      const filter = deviceFilter(o);
      const { devices } = await withConsole(o, (c) => c.call(devicesService, 'list', filter));
      if (o.json) return void process.stdout.write(JSON.stringify(devices, null, 2) + '\n');
      if (devices.length === 0) return void process.stdout.write('no devices yet: create a key (sosna hub keys create --fleet NAME) and boot a device with it\n');
      process.stdout.write(table(['ID', 'NAME', 'FLEET', 'STATE', 'SEEN', 'CPU', 'MEMORY', 'LOAD', 'AGENT'], deviceRows(devices)) + '\n');
      const online = devices.filter((d) => d.online).length;
      process.stdout.write(`${devices.length} device(s), ${online} online\n`);
    });
  connOptions(consoleCmd.command('call <device> <service.method> [params]').description('call a service of a device (params as JSON)'))
    .action(async (device: string, target: string, paramsText: string | undefined, o: ConnFlags) => {
      const dot = target.lastIndexOf('.');
      if (dot <= 0) throw new Error(`${JSON.stringify(target)}: name the call as SERVICE.METHOD, e.g. system.info`);
      let params: unknown = {};
      if (paramsText !== undefined) {
        try {
          params = JSON.parse(paramsText);
        } catch (err) {
          throw new Error(`params ${JSON.stringify(paramsText)}: not valid JSON (${(err as Error).message})`);
        }
      }
      const timeoutMs = o.timeout ? Number(o.timeout) : undefined;
      await withConsole(o, (c) =>
        c.call(
          devicesService,
          'call',
          { deviceId: device, service: target.slice(0, dot), method: target.slice(dot + 1), params, timeoutMs },
          { timeoutMs: (timeoutMs ?? 10_000) + 5_000, onChunk: (chunk) => process.stdout.write(JSON.stringify(chunk, null, 2) + '\n') },
        ),
      );
    });
}
