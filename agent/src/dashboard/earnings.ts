// The dashboard's Earnings page: what this device earned per hub, asked of the hub itself (earnings.mine
// over the agent's link: accrued and paid are the hub's ledger, exact, after verification), and what the
// owner can claim, read from the chain (the hub's wallet must be on the Whitelist). The last answers are
// kept in the state directory, so the page still shows them while the hub or the chain is out of reach,
// and a device that moved to another hub still lists the old one.
import { z } from 'zod';
import type { DeviceEarnings, Logger } from '@sosna/protocol';
import type { StateStore } from '../state.js';
import type { EarningsSummary, HubEarnings } from './sources.js';

export const EARNINGS_FILE = 'earnings.json';
const Wei = z.string().regex(/^\d+$/, 'must be a decimal integer (token wei)');
const HubEntry = z.object({
  asOf: z.number(),
  owner: z.string().nullable(),
  accrued: Wei,
  paid: Wei,
  runs: z.number().int().nonnegative(),
  seconds: z.number().int().nonnegative(),
  wallet: z.string().nullable(),
  claimable: Wei.nullable(),
});
type HubEntry = z.infer<typeof HubEntry>;
export const EarningsCache = z.object({ v: z.literal(1), hubs: z.record(z.string(), HubEntry) });
export type EarningsCache = z.infer<typeof EarningsCache>;

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** Pure: the page's figures from the cached answers per hub (current hub first) and the notes on them. */
export function summarize(cache: EarningsCache, current: string, notes: Record<string, string>, owner: string | null): EarningsSummary {
  const ids = Object.keys(cache.hubs).sort((a, b) => (a === current ? -1 : b === current ? 1 : a < b ? -1 : 1));
  const perHub: HubEarnings[] = ids.map((hubId) => {
    const e = cache.hubs[hubId]!;
    return {
      hubId, accrued: e.accrued, paid: e.paid, claimable: e.claimable, runs: e.runs, seconds: e.seconds, wallet: e.wallet, asOf: e.asOf,
      ...(notes[hubId] ? { note: notes[hubId] } : {}),
    };
  });
  if (!cache.hubs[current] && notes[current]) perHub.unshift({ hubId: current, accrued: '0', paid: '0', claimable: null, note: notes[current] });
  const sum = (f: (h: HubEarnings) => string | null) => perHub.reduce((s, h) => s + BigInt(f(h) ?? '0'), 0n).toString();
  // Claimable is unknown (not 0) when no hub's figure could be read: say why instead of a zero.
  const known = perHub.some((h) => h.claimable !== null);
  const why = perHub.map((h) => h.note).filter((n): n is string => !!n);
  return {
    token: 'SNM', accrued: sum((h) => h.accrued), paid: sum((h) => h.paid), claimable: known ? sum((h) => h.claimable) : null, owner, perHub,
    ...(known ? {} : { claimableNote: why.length ? why.join('; ') : 'no hub has answered yet' }),
  };
}

export interface EarningsDeps {
  hubId(): string;
  /** The device owner's address from the config; without it the hub's record of the owner is used. */
  owner: string | null;
  connected(): boolean;
  /** earnings.mine on the hub. */
  mine(): Promise<DeviceEarnings>;
  /** What an owner can claim from a wallet (null: the wallet is not on the Whitelist); null: no chain configured. */
  claimable: ((wallet: string, owner: string) => Promise<bigint | null>) | null;
  state: StateStore;
  log: Logger;
  now?: () => number;
  /** Asks the hub and the chain at most this often (default 2 s); requests in between get the last figures. */
  minIntervalMs?: number;
}

export function createEarningsSource(d: EarningsDeps): () => Promise<EarningsSummary> {
  const now = d.now ?? Date.now;
  const minInterval = d.minIntervalMs ?? 2000;
  let cache: EarningsCache = d.state.read(EARNINGS_FILE, EarningsCache, (why) => d.log.warn('ignoring unreadable earnings cache', { why })) ?? { v: 1, hubs: {} };
  const notes: Record<string, string> = {};
  let lastTry = -Infinity;
  let inflight: Promise<void> | null = null;
  const message = (err: unknown) => (err as Error).message ?? String(err);

  const refresh = async () => {
    const hubId = d.hubId();
    const before = JSON.stringify(cache.hubs[hubId] ?? null);
    let entry: HubEntry | undefined = cache.hubs[hubId];
    const why: string[] = [];
    if (!d.connected()) why.push('not connected to the hub: figures as of the last answer');
    else {
      try {
        const m = await d.mine();
        entry = {
          asOf: now(), owner: m.owner, accrued: m.accrued.toString(), paid: m.paid.toString(), runs: m.runs, seconds: m.seconds, wallet: m.wallet,
          claimable: entry?.wallet === m.wallet ? entry.claimable : null,
        };
      } catch (err) {
        why.push(`the hub did not answer (${message(err)}): figures as of the last answer`);
      }
    }
    if (entry) {
      const owner = d.owner ?? (entry.owner && ADDRESS.test(entry.owner) ? entry.owner : null);
      if (!d.claimable) why.push('no chain configured (chain.rpcUrl): claimable unknown');
      else if (!entry.wallet) why.push('the hub runs without a chain: nothing to claim');
      else if (!owner) why.push('no owner address configured (owner): claimable unknown');
      else {
        try {
          const c = await d.claimable(entry.wallet, owner);
          entry.claimable = c === null ? null : c.toString();
          if (c === null) why.push(`wallet ${entry.wallet} is not on the Whitelist: claimable not shown`);
        } catch (err) {
          why.push(`cannot read the chain (${message(err)}): claimable as last read`);
        }
      }
      cache = { v: 1, hubs: { ...cache.hubs, [hubId]: entry } };
    }
    if (why.length) notes[hubId] = why.join('; ');
    else delete notes[hubId];
    if (JSON.stringify(cache.hubs[hubId] ?? null) !== before) {
      try {
        d.state.write(EARNINGS_FILE, cache);
      } catch (err) {
        d.log.warn('could not save the earnings cache', { error: message(err) });
      }
    }
  };

  return async () => {
    if (!inflight && now() - lastTry >= minInterval) {
      lastTry = now();
      inflight = refresh().finally(() => (inflight = null));
    }
    if (inflight) await inflight;
    const hubId = d.hubId();
    return summarize(cache, hubId, notes, d.owner ?? cache.hubs[hubId]?.owner ?? null);
  };
}
