// `sosna console mining rates`: the revenue rates the hub publishes to rigs (retained; rig mode's profit
// planner weighs mining against jobs with them). Unit: token wei per 10^6 hashes (per MH) of the algorithm;
// a device's own flight-sheet rate (profit.revenueWeiPerMh) takes precedence, and a rate older than the
// device's profit.rateMaxAgeSec is stale there (flagged; it keeps no job away).
import type { Command } from 'commander';
import { MiningAlgorithm, miningService } from '@sosna/protocol';
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

export function registerMining(consoleCmd: Command, session: ConsoleSession): void {
  const mining = consoleCmd.command('mining').description("rig mode: the revenue rates the hub publishes to every rig");
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
