// `sosna console devices reboot|identify|watch`: device actions through the hub's `devices` service.
// Formatting is pure (rebootSummary, identifyLines, watchLine); the commands only call and print.
import type { Command } from 'commander';
import { devicesService, IDENTIFY_MAX_SEC, IdentifyResult, RebootChunk, WatchEvent } from '@sosna/protocol';
import type { WatchFilter } from '@sosna/protocol';
import { table } from '../table.js';
import { connOptions } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';
import { deviceTarget, targetOptions } from './console.js';
import type { TargetFlags } from './console.js';

const ORDER: Record<RebootChunk['status'], number> = { failed: 0, offline: 1, ok: 2 };

/** The result table and the tally line of a bulk reboot. Pure. */
export function rebootSummary(results: RebootChunk[]): string {
  const rows = [...results].sort((a, b) => ORDER[a.status] - ORDER[b.status] || a.name.localeCompare(b.name) || a.deviceId.localeCompare(b.deviceId));
  const count = (s: RebootChunk['status']) => results.filter((r) => r.status === s).length;
  return `${table(['DEVICE', 'NAME', 'RESULT', 'NOTE'], rows.map((r) => [r.deviceId, r.name, r.status, r.reason ?? '']))}\n` +
    `${results.length} device(s): ${count('ok')} rebooting, ${count('offline')} offline, ${count('failed')} failed\n`;
}

/** What identify says to a person. Pure. */
export function identifyLines(deviceId: string, r: IdentifyResult): string {
  const head = r.supported
    ? `device ${deviceId} (${r.name}): blinking LED ${r.led} for ${r.seconds} s`
    : `device ${deviceId} (${r.name}): unsupported: ${r.reason ?? 'no reason given'}`;
  return `${head}\n  host ${r.hostname}, addresses ${r.addresses.length ? r.addresses.join(', ') : '-'}\n`;
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);

/** One line per event. Pure. */
export function watchLine(e: WatchEvent): string {
  switch (e.kind) {
    case 'online':
      return `${clock(e.at)} online    ${e.deviceId} (${e.name})${e.agentVersion ? ` agent ${e.agentVersion}` : ''}`;
    case 'offline':
      return `${clock(e.at)} offline   ${e.deviceId} (${e.name})`;
    case 'telemetry': {
      const entries = Object.entries(e.metrics);
      const shown = entries.slice(0, 8).map(([k, v]) => `${k}=${v}`).join(' ');
      return `${clock(e.at)} telemetry ${e.deviceId} (${e.name}) ${shown}${entries.length > 8 ? ` (+${entries.length - 8} more)` : ''}`.trimEnd();
    }
    case 'job':
      return `${clock(e.at)} job       ${e.jobId} ${e.state}${e.devices.length ? ` on ${e.devices.join(', ')}` : ''}${e.reason ? ` (${e.reason})` : ''}`;
  }
}

const KINDS = ['online', 'offline', 'telemetry', 'job'] as const;

/** `--kind online,telemetry` -> the kinds, refusing unknown ones by name. Pure. */
export function parseKinds(text: string | undefined): WatchFilter['kinds'] {
  if (text === undefined) return undefined;
  const kinds = text.split(',').map((k) => k.trim()).filter(Boolean);
  const bad = kinds.filter((k) => !(KINDS as readonly string[]).includes(k));
  if (bad.length || kinds.length === 0) throw new Error(`--kind ${JSON.stringify(text)}: use one or more of ${KINDS.join(', ')} (comma-separated)`);
  return kinds as WatchFilter['kinds'];
}

/** Ends on Ctrl-C, in one-shot mode (SIGINT) and in the shell (readline holds the terminal raw: hand ^C back to the kernel meanwhile). */
function untilInterrupted(ac: AbortController): () => void {
  const stdin = process.stdin;
  const wasRaw = stdin.isTTY && stdin.isRaw;
  if (wasRaw) stdin.setRawMode(false);
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  return () => {
    process.off('SIGINT', onSigint);
    if (wasRaw) stdin.setRawMode(true);
  };
}

export function registerDevicePower(devicesCmd: Command, session: ConsoleSession): void {
  targetOptions(connOptions(devicesCmd.command('reboot').description('reboot devices (operator); each device answers, then reboots')))
    .option('--json', 'machine-readable output (one JSON line per device)')
    .action(async (o: ConnFlags & TargetFlags & { json?: boolean }) => {
      const target = deviceTarget(o);
      const results: RebootChunk[] = [];
      await session.withConsole(o, (c) =>
        c.call(devicesService, 'reboot', { target }, {
          timeoutMs: 120_000,
          onChunk: (raw) => {
            const r = RebootChunk.parse(raw);
            results.push(r);
            if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
          },
        }),
      );
      if (!o.json) process.stdout.write(rebootSummary(results));
      const failed = results.filter((r) => r.status === 'failed').length;
      if (failed) throw new Error(`${failed} device(s) could not be rebooted (see the NOTE column)`);
    });

  connOptions(devicesCmd.command('identify <device>').description('blink an LED of a device so you can find it (operator); shows its host name and addresses'))
    .option('--seconds <n>', `how long to blink (1-${IDENTIFY_MAX_SEC})`, '15')
    .option('--json', 'machine-readable output')
    .action(async (deviceId: string, o: ConnFlags & { seconds: string; json?: boolean }) => {
      const seconds = Number(o.seconds);
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > IDENTIFY_MAX_SEC) throw new Error(`--seconds ${JSON.stringify(o.seconds)}: use whole seconds from 1 to ${IDENTIFY_MAX_SEC}`);
      const r = IdentifyResult.parse(await session.withConsole(o, (c) => c.call(devicesService, 'identify', { deviceId, seconds })));
      process.stdout.write(o.json ? `${JSON.stringify({ deviceId, ...r }, null, 2)}\n` : identifyLines(deviceId, r));
    });

  connOptions(devicesCmd.command('watch').description('live births, deaths, telemetry and job events until Ctrl-C (viewer)'))
    .option('--device <id>', 'only this device')
    .option('--fleet <fleet>', 'only this fleet')
    .option('--tag <tag>', 'only devices with this tag')
    .option('--kind <kinds>', `only these events: ${KINDS.join(', ')} (comma-separated)`)
    .option('--json', 'one JSON object per line')
    .action(async (o: ConnFlags & { device?: string; fleet?: string; tag?: string; kind?: string; json?: boolean }) => {
      const filter = { deviceId: o.device, fleet: o.fleet, tag: o.tag, kinds: parseKinds(o.kind), maxSec: 600 };
      const ac = new AbortController();
      const release = untilInterrupted(ac);
      try {
        await session.withConsole(o, async (c) => {
          // the hub ends a stream after maxSec (so a vanished console costs it nothing for long): open the next
          while (!ac.signal.aborted) {
            await c.call(devicesService, 'watch', filter, {
              signal: ac.signal,
              timeoutMs: (filter.maxSec + 30) * 1000,
              onChunk: (raw) => {
                const e = WatchEvent.parse(raw);
                process.stdout.write(o.json ? `${JSON.stringify(e)}\n` : `${watchLine(e)}\n`);
              },
            }).catch((err: unknown) => {
              if (!ac.signal.aborted) throw err;
            });
          }
        });
      } finally {
        release();
      }
    });
}
