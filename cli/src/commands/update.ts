// `sosna console update ...`: agent updates over the air. publish uploads a bundle to the hub in pieces,
// which signs it with its update key (or takes a signature made elsewhere) and rolls it out to a tag, a
// fleet, a stable percentage or one device; status shows where every targeted device stands.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AgentVersion, RolloutTarget, updatesService } from '@sosna/protocol';
import type { RolloutRow } from '@sosna/protocol';
import { connOptions } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';
import { ago, table } from '../table.js';

/** Upload piece size: below the hub broker's default 1 MiB payload limit. */
export const UPLOAD_CHUNK_BYTES = 512 * 1024;

interface PublishFlags extends ConnFlags {
  version: string;
  tag?: string;
  fleet?: string;
  percent?: string;
  device?: string;
  deadline?: string;
  signature?: string;
  json?: boolean;
}

/** The rollout target from the flags: at least one of --tag, --fleet, --percent, --device (--percent 100 for all). */
export function rolloutTarget(o: { tag?: string; fleet?: string; percent?: string; device?: string }): RolloutTarget {
  if (o.tag === undefined && o.fleet === undefined && o.percent === undefined && o.device === undefined) {
    throw new Error('name the devices: --tag T, --fleet F, --percent P or --device ID (--percent 100 for the whole fleet)');
  }
  let percent: number | undefined;
  if (o.percent !== undefined) {
    percent = Number(o.percent.replace(/%$/, ''));
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new Error(`--percent ${JSON.stringify(o.percent)}: use a number from 0 to 100`);
  }
  const r = RolloutTarget.safeParse({ tag: o.tag, fleet: o.fleet, percent, deviceId: o.device });
  if (!r.success) throw new Error(`rollout target: ${r.error.issues.map((i) => `${i.path.join('.') || 'target'}: ${i.message}`).join('; ')}`);
  return r.data;
}

export function rolloutRows(rows: RolloutRow[], now = Date.now()): string[][] {
  return rows.map((r) => [r.version, r.deviceId, r.name ?? '-', r.online ? 'online' : 'offline', r.agentVersion ?? '-', r.state, r.reason ?? '', ago(r.updatedAt, now)]);
}

export function registerUpdate(consoleCmd: Command, session: ConsoleSession): void {
  const update = consoleCmd.command('update').description('agent updates over the air (signed bundles, staged rollouts)');
  connOptions(update.command('publish <bundle>').description('upload an agent bundle, sign it and roll it out (admin)'))
    .requiredOption('--version <version>', 'the version the bundle carries (semantic version, newer than the devices run)')
    .option('--tag <tag>', 'devices with this tag')
    .option('--fleet <fleet>', 'devices of this fleet')
    .option('--percent <p>', 'a stable share of the (tag/fleet) devices; raising it later only adds devices')
    .option('--device <id>', 'one device')
    .option('--deadline <sec>', 'seconds a device gives the new bundle to reconnect and report healthy before rolling back (default 120)')
    .option('--signature <hex>', 'a signature made offline with the update key, instead of the hub signing')
    .option('--json', 'machine-readable output')
    .action(async (bundle: string, o: PublishFlags) => {
      const v = AgentVersion.safeParse(o.version);
      if (!v.success) throw new Error(`--version ${JSON.stringify(o.version)}: ${v.error.issues[0]?.message}`);
      const target = rolloutTarget(o);
      const healthDeadlineSec = o.deadline === undefined ? undefined : Number(o.deadline);
      if (healthDeadlineSec !== undefined && (!Number.isInteger(healthDeadlineSec) || healthDeadlineSec < 5)) throw new Error(`--deadline ${JSON.stringify(o.deadline)}: use whole seconds, at least 5`);
      let bytes: Buffer;
      try {
        bytes = readFileSync(bundle);
      } catch (err) {
        throw new Error(`${bundle}: cannot read the bundle: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const r = await session.withConsole(o, async (c) => {
        for (let offset = 0; offset < bytes.length; offset += UPLOAD_CHUNK_BYTES) {
          await c.call(updatesService, 'upload', { version: v.data, offset, data: bytes.subarray(offset, offset + UPLOAD_CHUNK_BYTES) }, { timeoutMs: 60_000 });
        }
        return c.call(updatesService, 'publish', { version: v.data, sha256, size: bytes.length, target, signature: o.signature, healthDeadlineSec }, { timeoutMs: 60_000 });
      });
      if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      process.stdout.write(
        `release ${r.release.version}: ${r.release.size} bytes, sha256 ${r.release.sha256}, signed by ${r.release.signer}\n` +
          `rollout: ${r.targeted.length} device(s) targeted (${r.added} new), offered now to ${r.offered} online; the rest get it when they come back\n` +
          'follow it with: sosna console update status\n',
      );
    });
  connOptions(update.command('status').description('releases and where each targeted device stands'))
    .option('--version <version>', 'only this release')
    .option('--json', 'machine-readable output')
    .action(async (o: ConnFlags & { version?: string; json?: boolean }) => {
      const r = await session.withConsole(o, (c) => c.call(updatesService, 'status', { version: o.version }));
      if (o.json) return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      if (r.releases.length === 0) return void process.stdout.write(`no releases yet (update key ${r.updateKey})\n`);
      process.stdout.write(table(['VERSION', 'SIZE', 'SHA256', 'SIGNED BY', 'DEADLINE', 'PUBLISHED'], r.releases.map((x) => [x.version, String(x.size), `${x.sha256.slice(0, 16)}…`, x.signer, `${x.healthDeadlineSec}s`, ago(x.createdAt)])) + '\n\n');
      process.stdout.write(table(['VERSION', 'DEVICE', 'NAME', 'LINK', 'RUNS', 'STATE', 'REASON', 'UPDATED'], rolloutRows(r.devices)) + '\n');
      const counts = new Map<string, number>();
      for (const d of r.devices) counts.set(d.state, (counts.get(d.state) ?? 0) + 1);
      process.stdout.write(`${r.devices.length} device(s): ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'none targeted'}\n`);
    });
}
