// `sosna console trust`: each device's verification record (streak, the chance its next result is checked
// again, newcomer, quarantine) with its owner's stake; `trust slashes`: the stake slashes the hub recorded.
import type { Command } from 'commander';
import { formatSnm, trustService } from '@sosna/protocol';
import type { TrustRecord } from '@sosna/protocol';
import { table } from '../table.js';
import { connOptions } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';

const json = (v: unknown) => void process.stdout.write(`${JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2)}\n`);

export function recordRows(records: TrustRecord[]): string[][] {
  return records.map((r) => [
    r.deviceId, r.owner, String(r.streak), String(r.verified), String(r.failures), `${(r.replicationChance * 100).toFixed(1)}%`,
    r.quarantined ? 'QUARANTINED' : r.newcomer ? 'newcomer' : 'ok', r.stake > 0n ? formatSnm(r.stake) : '-',
  ]);
}

export function registerTrust(consoleCmd: Command, session: ConsoleSession): void {
  const trust = connOptions(consoleCmd.command('trust').description("verification records: each device's streak, the chance its next result is checked, its owner's stake"))
    .option('--owner <owner>', 'only this owner')
    .option('--json', 'machine-readable output')
    .action(async (o: ConnFlags & { owner?: string; json?: boolean }) => {
      const r = await session.withConsole(o, (c) => c.call(trustService, 'records', o.owner ? { owner: o.owner } : {}));
      if (o.json) return json(r);
      if (!r.enabled) return void process.stdout.write('adaptive verification is off on this hub (jobs.trust.enabled in the hub config): results are checked only as each job asks\n');
      if (!r.records.length) return void process.stdout.write(o.owner ? `no devices of ${o.owner}\n` : 'no devices yet\n');
      process.stdout.write(`${table(['DEVICE', 'OWNER', 'STREAK', 'VERIFIED', 'WRONG', 'CHECKED', 'STANDING', 'STAKE'], recordRows(r.records))}\n`);
      process.stdout.write(r.stakeContract ? `stakes read from ${r.stakeContract}\n` : 'no Stake contract: stakes are none\n');
    });
  connOptions(trust.command('slashes').description('stake slashes for proven wrong results (recorded, then sent to the Stake contract)'))
    .option('--owner <owner>', 'only this owner')
    .option('--json', 'machine-readable output')
    .action(async (o: ConnFlags & { owner?: string; json?: boolean }) => {
      const r = await session.withConsole(o, (c) => c.call(trustService, 'slashes', o.owner ? { owner: o.owner } : {}));
      if (o.json) return json(r);
      if (!r.slashes.length) return void process.stdout.write('no slashes: no staked owner has had a result proven wrong\n');
      process.stdout.write(`${table(['RUN', 'OWNER', 'AMOUNT (wei)', 'WHEN', 'SENT', 'REASON'], r.slashes.map((s) => [s.runId, s.owner, `${s.amount}`, new Date(s.at).toISOString(), s.txHash ?? 'pending', s.reason]))}\n`);
      process.stdout.write(`total ${formatSnm(r.total)}\n`);
    });
}
