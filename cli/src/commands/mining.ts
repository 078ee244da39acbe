// `sosna console mining rates`: the revenue rates the hub publishes to rigs (retained; rig mode's profit
// planner weighs mining against jobs with them). Unit: token wei per 10^6 hashes (per MH) of the algorithm;
// a device's own flight-sheet rate (profit.revenueWeiPerMh) takes precedence, and a rate older than the
// device's profit.rateMaxAgeSec is stale there (flagged; it keeps no job away).
import type { Command } from 'commander';
import { devicesService, MiningAlgorithm, miningService, RigEarnings } from '@sosna/protocol';
import type { MiningRates } from '@sosna/protocol';
import { table } from '../table.js';
import { connOptions } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';

const json = (v: unknown) => void process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

/** Pure: the rows of `mining rates` (algorithm, wei per MH, set when and by whom, age). */
export function rateRows(rates: MiningRates['rates'], now: number): string[][] {
  return Object.entries(rates).map(([algorithm, r]) => [algorithm, r!.weiPerMh, new Date(r!.at).toISOString(), `${Math.max(0, Math.round((now - r!.at) / 60_000))} min`, r!.by ?? '-']);
}

/** Checks the command line's ALGO and RATE; throws with the argument, the value and the accepted form. */
export function parseRateArgs(algorithm: string, rate: string): { algorithm: MiningAlgorithm; weiPerMh: string } {
  const a = MiningAlgorithm.safeParse(algorithm);
  if (!a.success) throw new Error(`ALGO: ${JSON.stringify(algorithm)} is not a known algorithm (one of ${MiningAlgorithm.options.join(', ')})`);
  if (!/^\d{1,78}$/.test(rate)) throw new Error(`RATE: ${JSON.stringify(rate)} is not a rate: give token wei per 10^6 hashes as a whole decimal number, e.g. 35000000000000000`);
  return { algorithm: a.data, weiPerMh: rate };
}

/** Pure: `mining earnings` as text: intervals (mining beside compute), totals, then the decisions with reasons. */
export function formatRigEarnings(e: RigEarnings): string {
  const out: string[] = [];
  if (!e.intervals.length) out.push('no intervals yet: the rig ledger starts with the first telemetry tick');
  else {
    out.push(table(['INTERVAL', 'SEC', 'MINING (wei)', 'COMPUTE (wei)', 'NOTE'], e.intervals.map((b) => [
      new Date(b.at).toISOString(), String(b.sec), b.miningWei, b.computeWei, b.miningUnknownSec ? `mining's worth unknown for ${b.miningUnknownSec} s (no fresh rate)` : '',
    ])));
    out.push(`total over ${e.totals.sec} s: mining ${e.totals.miningWei} wei, compute ${e.totals.computeWei} wei`);
  }
  out.push(e.decisions.length ? 'decisions:' : 'no switching decisions yet');
  for (const d of e.decisions) out.push(`  ${new Date(d.at).toISOString()} ${d.gpu >= 0 ? `GPU ${d.gpu} ${d.from} -> ${d.to}` : 'run refused'}: ${d.reason}`);
  return `${out.join('\n')}\n`;
}

export function registerMining(consoleCmd: Command, session: ConsoleSession): void {
  const mining = consoleCmd.command('mining').description("rig mode: the revenue rates the hub publishes to every rig, a rig's earnings over time");
  connOptions(mining.command('earnings <device>').description("a rig's mining and compute revenue per interval, side by side, and its switching decisions with their reasons"))
    .option('--limit <n>', 'the last N intervals and decisions (default 60)')
    .option('--json', 'machine-readable output')
    .action(async (device: string, o: ConnFlags & { limit?: string; json?: boolean }) => {
      const limit = o.limit === undefined ? undefined : Number(o.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 10_080)) throw new Error(`--limit ${JSON.stringify(o.limit)}: a whole number from 1 to 10080`);
      const chunks: unknown[] = []; // devices.call streams the device's answer as chunks
      const raw = await session.withConsole(o, (c) => c.call(devicesService, 'call', { deviceId: device, service: 'rig', method: 'earnings', params: limit ? { limit } : {}, timeoutMs: 10_000 }, { timeoutMs: 15_000, onChunk: (x) => chunks.push(x) }));
      const got = RigEarnings.safeParse(chunks.at(-1) ?? raw);
      if (!got.success) throw new Error(`device ${device} answered rig.earnings with something else: ${JSON.stringify(chunks.at(-1) ?? raw ?? null).slice(0, 300)}`);
      const e = got.data;
      if (o.json) return json(e);
      process.stdout.write(formatRigEarnings(e));
    });
  const rates = connOptions(mining.command('rates').description('the published rates (token wei per 10^6 hashes), when each was set and by whom'))
    .option('--json', 'machine-readable output')
    .action(async (o: ConnFlags & { json?: boolean }) => {
      const r = await session.withConsole(o, (c) => c.call(miningService, 'rates', {}));
      if (o.json) return json(r);
      if (!Object.keys(r.rates).length) return void process.stdout.write('no mining rates published: rigs use their owners\' rates (profit.revenueWeiPerMh) or none (flagged stale)\n');
      process.stdout.write(`${table(['ALGORITHM', 'WEI PER MH', 'SET AT', 'AGE', 'BY'], rateRows(r.rates, Date.now()))}\n`);
    });
  connOptions(rates.command('set <algo> <rate>').description('publish a rate (admin): ALGO as in the flight sheet, RATE in token wei per 10^6 hashes'))
    .action(async (algorithm: string, rate: string, o: ConnFlags) => {
      const args = parseRateArgs(algorithm, rate);
      const r = await session.withConsole(o, (c) => c.call(miningService, 'setRate', args));
      process.stdout.write(`${r.algorithm}: ${r.rate.weiPerMh} wei per MH published at ${new Date(r.rate.at).toISOString()}\n`);
    });
  connOptions(rates.command('unset <algo>').description('withdraw a rate (admin)'))
    .action(async (algorithm: string, o: ConnFlags) => {
      const a = MiningAlgorithm.safeParse(algorithm);
      if (!a.success) throw new Error(`ALGO: ${JSON.stringify(algorithm)} is not a known algorithm (one of ${MiningAlgorithm.options.join(', ')})`);
      const r = await session.withConsole(o, (c) => c.call(miningService, 'unsetRate', { algorithm: a.data }));
      process.stdout.write(r.removed ? `${r.algorithm}: rate withdrawn\n` : `${r.algorithm}: no rate was published\n`);
    });
}
