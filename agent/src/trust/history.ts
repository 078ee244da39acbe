// Reads a HubWallet's history from its event logs (thin I/O around record.ts): payouts (`Paid`,
// `BatchPaid`) with their block times, the first registration, suspicions and a ban.
import { eventTopic, returnWord } from './abi.js';
import type { PayoutEvent, WalletHistory } from './record.js';
import type { EthLog, EthReader } from './rpc.js';

export const WALLET_EVENTS = {
  paid: eventTopic('Paid(address,uint256,uint256)'),
  batchPaid: eventTopic('BatchPaid(uint256,uint256,uint256)'),
  registered: eventTopic('HubRegistered(uint256,uint256)'),
  suspected: eventTopic('HubSuspected(uint256)'),
  banned: eventTopic('HubBanned(uint256)'),
} as const;

/** Block times are read for at most this many of the latest payouts (the gaps come from them; counts and sums from all). */
export const MAX_TIMED_PAYOUTS = 64;

/** Pure: the history from the logs (oldest first) and the block times they need. */
export function historyFromLogs(logs: readonly EthLog[], times: ReadonlyMap<bigint, number>, now: number): WalletHistory {
  const sorted = [...logs].sort((a, b) => (BigInt(a.blockNumber) < BigInt(b.blockNumber) ? -1 : BigInt(a.blockNumber) > BigInt(b.blockNumber) ? 1 : 0));
  const h: WalletHistory = { now, registeredAt: null, payouts: [], untimed: { payouts: 0, amount: 0n, miners: 0 }, suspicions: 0, banned: false };
  const payout = (p: Omit<PayoutEvent, 'at'>, at: number | null) => {
    if (at !== null) h.payouts.push({ at, ...p });
    else {
      h.untimed.payouts++;
      h.untimed.amount += p.amount;
      h.untimed.miners += p.miners;
    }
  };
  const word = (log: EthLog, name: string, n: number): bigint => {
    try {
      return returnWord(log.data, n);
    } catch (err) {
      throw new Error(`${name} log in block ${BigInt(log.blockNumber)}: data has no word ${n} (${(err as Error).message})`);
    }
  };
  for (const log of sorted) {
    const topic = log.topics[0]?.toLowerCase();
    const at = times.get(BigInt(log.blockNumber)) ?? (log.blockTimestamp ? Number(BigInt(log.blockTimestamp)) : null);
    if (topic === WALLET_EVENTS.paid) payout({ amount: word(log, 'Paid', 0), miners: 1 }, at);
    else if (topic === WALLET_EVENTS.batchPaid) payout({ amount: word(log, 'BatchPaid', 1), miners: Number(word(log, 'BatchPaid', 0)) }, at);
    else if (topic === WALLET_EVENTS.registered) h.registeredAt ??= Number(word(log, 'HubRegistered', 1));
    else if (topic === WALLET_EVENTS.suspected) h.suspicions++;
    else if (topic === WALLET_EVENTS.banned) h.banned = true;
  }
  return h;
}

/** Reads the wallet's logs and the block times of its latest payouts. */
export async function readWalletHistory(reader: EthReader, wallet: string): Promise<WalletHistory> {
  const [logs, now] = await Promise.all([reader.logs(wallet, Object.values(WALLET_EVENTS)), reader.blockTime('latest')]);
  const payoutTopics = new Set<string>([WALLET_EVENTS.paid, WALLET_EVENTS.batchPaid]);
  const untimed = [...new Set(logs.filter((l) => payoutTopics.has(l.topics[0]?.toLowerCase() ?? '') && !l.blockTimestamp).map((l) => BigInt(l.blockNumber)))]
    .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
    .slice(0, MAX_TIMED_PAYOUTS);
  const times = new Map<bigint, number>();
  for (const n of untimed) times.set(n, await reader.blockTime(n));
  return historyFromLogs(logs, times, now);
}
