// Revenue rates for rig mode (issue 15): what mining one algorithm earns, token wei per 10^6 hashes,
// set by an admin (`sosna console mining rates set ALGO WEI_PER_MH`) and published RETAINED on
// topics.miningRates(hubId) (protocol MiningRates), so a device gets them on every connect. Each rate keeps
// the time it was set: devices treat one older than their sheet's profit.rateMaxAgeSec as stale. The rates
// are kept in `mining-rates.json` in the data directory (written whole, then renamed) and published again
// when the hub starts, since the broker's retained messages may not survive a restart.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MiningRates, miningService, topics } from '@sosna/protocol';
import type { Codec, Logger, RpcEndpoint } from '@sosna/protocol';
import type { Bus } from '../broker/bus.js';
import type { OperatorMeta } from '../auth/roles.js';

export interface MiningRatesService {
  current(): MiningRates['rates'];
  consoleServices(endpoint: RpcEndpoint<OperatorMeta>): void;
}

/** Reads the rates file; a broken one is named with the reason (the hub does not start on it). */
export function loadRates(file: string): MiningRates['rates'] {
  if (!existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message}); fix or remove it (it holds the mining rates the hub publishes)`);
  }
  const r = MiningRates.safeParse(raw);
  if (!r.success) throw new Error(`${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data.rates;
}

export async function startMiningRates(deps: { bus: Bus; codec: Codec; hubId: string; dataDir: string; log: Logger; now?: () => number }): Promise<MiningRatesService> {
  const { bus, codec, hubId, log } = deps;
  const now = deps.now ?? Date.now;
  const file = join(deps.dataDir, 'mining-rates.json');
  let rates = loadRates(file);
  const publish = async () => {
    const msg: MiningRates = { v: 1, at: now(), rates };
    writeFileSync(`${file}.tmp`, `${JSON.stringify(msg, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
    await bus.publish(topics.miningRates(hubId), codec.encode(msg), { retain: true, qos: 1 });
  };
  if (Object.keys(rates).length) {
    await bus.publish(topics.miningRates(hubId), codec.encode({ v: 1, at: now(), rates } satisfies MiningRates), { retain: true, qos: 1 });
    log.info('mining rates published again', { algorithms: Object.keys(rates) });
  }
  return {
    current: () => rates,
    consoleServices(endpoint) {
      endpoint.add(miningService, {
        rates: () => ({ rates }),
        setRate: async ({ algorithm, weiPerMh }, ctx) => {
          const rate = { weiPerMh, at: now(), by: ctx.meta.operator };
          rates = { ...rates, [algorithm]: rate };
          await publish();
          log.info('mining rate set', { operator: ctx.meta.operator, algorithm, weiPerMh });
          return { algorithm, rate };
        },
        unsetRate: async ({ algorithm }, ctx) => {
          const removed = rates[algorithm] !== undefined;
          if (removed) {
            const { [algorithm]: _gone, ...rest } = rates;
            rates = rest;
            await publish();
            log.info('mining rate removed', { operator: ctx.meta.operator, algorithm });
          }
          return { algorithm, removed };
        },
      });
    },
  };
}
