// `sosna console ...`: operator commands over MQTT, through the hub's console service.
import type { Command } from 'commander';
import { DashboardInfo, devicesService, formatMinerLine, minersInTelemetry, parseConfigAssignment, SetConfigChunk } from '@sosna/protocol';
import type { DeviceFilter, DeviceSummary, DeviceTarget } from '@sosna/protocol';
import { ago, bytes, table } from '../table.js';
import { callTimeout, connOptions, inheritConnFlags } from './console-session.js';
import { registerDevicePower } from './device-actions.js';
import { registerDeviceCredentials } from './device-credentials.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';

export type { ConnFlags } from './console-session.js';

export function deviceRows(devices: DeviceSummary[], now = Date.now()): string[][] {
  return devices.map((d) => {
    const inv = (d.inventory ?? {}) as { cpu?: { brand?: string; cores?: number }; memory?: { totalBytes?: number }; arch?: string };
    return [
      d.id,
      d.name,
      d.fleet ?? '-',
      d.online ? 'online' : d.refused ? `refused: ${d.refused.reason}` : 'offline',
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

/** The filter flags given, as typed (`--fleet rigs --online`), or '' when none. Pure. */
export function filterFlags(o: DeviceFlags): string {
  const words: string[] = [];
  const add = (flag: string, v: string | undefined) => void (v !== undefined && words.push(`${flag} ${v}`));
  add('--fleet', o.fleet);
  add('--tag', o.tag);
  if (o.online) words.push('--online');
  if (o.offline) words.push('--offline');
  add('--class', o.class);
  add('--gpu-vram-min', o.gpuVramMin);
  add('--gpu-vendor', o.gpuVendor);
  add('--arch', o.arch);
  add('--hw-profile', o.hwProfile);
  for (const b of o.benchMin ?? []) add('--bench-min', b);
  return words.join(' ');
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

export function registerConsole(program: Command, session: ConsoleSession): Command {
  const consoleCmd = inheritConnFlags(program.command('console').description('operate the fleet through a hub (no command: the interactive shell)'));
  const devicesCmd = connOptions(consoleCmd.command('devices').description('list devices (and: show, set, tag, untag, reboot, identify, watch, issue, revoke)'));
  devicesCmd
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
      const { devices } = await session.withConsole(o, (c) => c.call(devicesService, 'list', filter));
      if (o.json) return void process.stdout.write(JSON.stringify(devices, null, 2) + '\n');
      if (devices.length === 0) {
        const given = filterFlags(o);
        if (!given) return void process.stdout.write('no devices yet: create a key (sosna hub keys create --fleet NAME) and boot a device with it\n');
        const all = await session.withConsole(o, (c) => c.call(devicesService, 'list', {}));
        return void process.stdout.write(`no device matches ${given} (${all.devices.length} device(s) on the hub in all)\n`);
      }
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
      const timeoutMs = callTimeout(o);
      await session.withConsole(o, (c) =>
        c.call(
          devicesService,
          'call',
          { deviceId: device, service: target.slice(0, dot), method: target.slice(dot + 1), params, timeoutMs },
          { timeoutMs: (timeoutMs ?? 10_000) + 5_000, onChunk: (chunk) => process.stdout.write(JSON.stringify(chunk, null, 2) + '\n') },
        ),
      );
    });
  registerDeviceActions(devicesCmd, session);
  registerDevicePower(devicesCmd, session);
  registerDeviceCredentials(devicesCmd, session);
  return consoleCmd;
}

export interface TargetFlags { device?: string; fleet?: string; tag?: string; all?: boolean }

export function targetOptions(cmd: Command): Command {
  return cmd
    .option('--device <id>', 'one device')
    .option('--fleet <fleet>', 'every device of a fleet')
    .option('--tag <tag>', 'every device with this tag')
    .option('--all', 'every device of the hub');
}

/** Exactly one of --device, --fleet, --tag, --all. */
export function deviceTarget(o: TargetFlags): DeviceTarget {
  const given = [o.device !== undefined, o.fleet !== undefined, o.tag !== undefined, !!o.all].filter(Boolean).length;
  if (given !== 1) throw new Error('name the devices with exactly one of --device ID, --fleet NAME, --tag TAG or --all');
  if (o.device !== undefined) return { deviceId: o.device };
  if (o.fleet !== undefined) return { fleet: o.fleet };
  if (o.tag !== undefined) return { tag: o.tag };
  return { all: true };
}

const onOff = (d: DeviceSummary) => (d.online ? 'online' : 'offline');

export function formatDevice(d: DeviceSummary, now = Date.now()): string {
  const lines = [
    `device ${d.id} (${d.name}): ${onOff(d)}${d.online ? '' : `, last seen ${ago(d.lastSeen, now)}`}`,
    `  fleet ${d.fleet ?? '-'}, tags ${d.tags.length ? d.tags.join(', ') : '-'}, agent ${d.agentVersion ?? '-'}`,
  ];
  const [row] = deviceRows([d], now);
  lines.push(`  cpu ${row![5]}, memory ${row![6]}, load ${row![7]}`);
  // its local dashboard; over HTTPS with the certificate's fingerprint, to compare with what a browser shows
  const dash = DashboardInfo.safeParse(d.inventory?.dashboard);
  if (dash.success) {
    const { https, port, certSha256 } = dash.data;
    lines.push(`  dashboard ${https ? 'https' : 'http'} on port ${port}${certSha256 ? `, certificate SHA-256 ${certSha256}` : ''}`);
  }
  if (d.telemetry) lines.push(`  telemetry ${Object.entries(d.telemetry).slice(0, 12).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  // job data peer to peer: bytes served to other peers (replicas, buyers), fetched, corrupted pieces received
  if (d.telemetry?.['data.servedBytes'] !== undefined) {
    lines.push(`  job data: served ${d.telemetry['data.servedBytes']} bytes to peers, fetched ${d.telemetry['data.fetchedBytes'] ?? 0}, bad pieces received ${d.telemetry['data.badPieces'] ?? 0}`);
  }
  // rig mode: the miner's hashrate and shares (the telemetry line above shows only its first keys)
  for (const m of d.telemetry ? minersInTelemetry(d.telemetry) : []) lines.push(`  ${formatMinerLine(m)}`);
  if (d.config) {
    const c = d.config;
    lines.push(`  config v${c.version} ${c.status}${c.reason ? ` (${c.reason})` : ''}: ${Object.entries(c.values).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`);
  } else lines.push('  config: nothing set from the hub');
  return lines.join('\n');
}

export function progressLine(p: Extract<SetConfigChunk, { kind: 'progress' }>): string {
  return `progress: ${p.applied + p.failed}/${p.total} reported (${p.applied} applied, ${p.failed} failed, ${p.pending} pending)`;
}

function registerDeviceActions(devicesCmd: Command, session: ConsoleSession): void {
  connOptions(devicesCmd.command('show <device>').description('one device: state, hardware, tags, telemetry and its desired config'))
    .option('--json', 'machine-readable output')
    .action(async (deviceId: string, o: ConnFlags & { json?: boolean }) => {
      const d = await session.withConsole(o, (c) => c.call(devicesService, 'show', { deviceId }));
      process.stdout.write(o.json ? `${JSON.stringify(d, null, 2)}\n` : `${formatDevice(d)}\n`);
    });

  targetOptions(connOptions(devicesCmd.command('set <key=value...>').description('set config values (e.g. telemetry.intervalSec=30); offline devices get them when they come back')))
    .option('--wait <ms>', 'how long to wait for online devices to report', '10000')
    .option('--json', 'machine-readable output (one JSON line per result)')
    .action(async (assignments: string[], o: ConnFlags & TargetFlags & { wait: string; json?: boolean }) => {
      const values = Object.fromEntries(assignments.map(parseConfigAssignment));
      const target = deviceTarget(o);
      const waitMs = Number(o.wait);
      if (!Number.isInteger(waitMs) || waitMs < 0) throw new Error(`--wait ${JSON.stringify(o.wait)}: use a whole number of milliseconds`);
      const tty = process.stdout.isTTY && !o.json;
      const results: Extract<SetConfigChunk, { kind: 'result' }>[] = [];
      let progress: Extract<SetConfigChunk, { kind: 'progress' }> | null = null;
      let open = false; // a progress line without its newline yet
      await session.withConsole(o, (c) =>
        c.call(devicesService, 'set', { target, values, waitMs }, {
          timeoutMs: waitMs + 15_000,
          onChunk: (raw) => {
            const chunk = SetConfigChunk.parse(raw);
            if (o.json) return void process.stdout.write(`${JSON.stringify(chunk)}\n`);
            if (chunk.kind === 'result') return void results.push(chunk);
            progress = chunk;
            if (results.length) return; // the final tally comes after the results
            if (tty) {
              process.stdout.write(`\r${progressLine(chunk)}`);
              open = true;
            } else process.stdout.write(`${progressLine(chunk)}\n`);
          },
        }),
      );
      if (o.json) return;
      if (open) process.stdout.write('\n');
      process.stdout.write(`${table(['DEVICE', 'NAME', 'VERSION', 'RESULT', 'NOTE'], results.map((r) => [r.deviceId, r.name, `v${r.version}`, r.status, r.reason ?? '']))}\n`);
      const count = (s: string) => results.filter((r) => r.status === s).length;
      process.stdout.write(`${results.length} device(s): ${count('applied')} applied, ${count('pending')} pending, ${count('failed')} failed\n`);
      void progress;
      if (count('failed')) throw new Error(`${count('failed')} device(s) refused the config (see the NOTE column)`);
    });

  for (const [name, verb] of [['tag', 'add'], ['untag', 'remove']] as const) {
    targetOptions(connOptions(devicesCmd.command(`${name} <tags...>`).description(`${verb} tags on devices`)))
      .action(async (tags: string[], o: ConnFlags & TargetFlags) => {
        const target = deviceTarget(o);
        const { devices } = await session.withConsole(o, (c) => c.call(devicesService, 'tag', { target, add: name === 'tag' ? tags : [], remove: name === 'untag' ? tags : [] }));
        process.stdout.write(`${table(['DEVICE', 'TAGS'], devices.map((d) => [d.deviceId, d.tags.join(',') || '-']))}\n`);
      });
  }
}
