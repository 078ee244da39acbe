import { describe, expect, it } from 'vitest';
import { eventTopic } from './abi.js';
import { historyFromLogs, WALLET_EVENTS } from './history.js';
import { jsonRpcReader } from './rpc.js';
import { describeRecord, summarize } from './record.js';
import type { WalletHistory } from './record.js';

const DAY = 86_400;
const none = { payouts: 0, amount: 0n, miners: 0 };
const history = (o: Partial<WalletHistory> = {}): WalletHistory => ({ now: 20 * DAY, registeredAt: 0, payouts: [], untimed: none, suspicions: 0, banned: false, ...o });
const paidOn = (days: number[], amount = 100n) => days.map((d) => ({ at: d * DAY, amount, miners: 1 }));

describe('a hub wallet’s payout record (pure)', () => {
  it('calls a steady payer regular, with count, average, gaps and age', () => {
    const r = summarize(history({ payouts: paidOn([16, 17, 18, 19], 10n).concat([{ at: 19.5 * DAY, amount: 50n, miners: 3 }]) }));
    expect(r).toMatchObject({ standing: 'regular', payouts: 5, miners: 7, total: 90n, average: 18n, maxGapSec: DAY, sinceLastSec: DAY / 2, ageSec: 20 * DAY, suspicions: 0, banned: false });
    expect(r.typicalGapSec).toBe(DAY);
  });

  it('is irregular with too few payouts, a long gap, or a stale last payout; none without payouts', () => {
    expect(summarize(history({ payouts: paidOn([18, 19]) })).standing).toBe('irregular'); // only two
    expect(summarize(history({ payouts: paidOn([1, 2, 3, 19]) })).standing).toBe('irregular'); // a 16-day gap, typically 1 day
    expect(summarize(history({ payouts: paidOn([1, 2, 3, 4]) })).standing).toBe('irregular'); // silent for 16 days
    expect(summarize(history({ payouts: paidOn([14, 15, 16, 17]) })).standing).toBe('regular'); // 3 days since the last: just within
    const empty = summarize(history());
    expect(empty).toMatchObject({ standing: 'none', payouts: 0, average: 0n, typicalGapSec: null, maxGapSec: null, sinceLastSec: null });
    expect(describeRecord(empty)).toBe('none: no payouts, wallet 20d old');
  });

  it('drops a step for a past suspicion, and a banned wallet has no standing', () => {
    const steady = paidOn([16, 17, 18, 19]);
    expect(summarize(history({ payouts: steady, suspicions: 1 })).standing).toBe('irregular');
    const banned = summarize(history({ payouts: steady, suspicions: 1, banned: true }));
    expect(banned.standing).toBe('none');
    expect(describeRecord(banned)).toMatch(/^none: 4 payouts to 4 miners, avg 100 wei, .*wallet 20d old, BANNED$/);
    expect(describeRecord(summarize(history({ payouts: steady, suspicions: 2 })))).toMatch(/suspected 2x before$/);
  });

  it('counts older payouts without block times in the totals, not in the gaps', () => {
    const r = summarize(history({ payouts: paidOn([17, 18, 19]), untimed: { payouts: 2, amount: 700n, miners: 5 } }));
    expect(r).toMatchObject({ standing: 'regular', payouts: 5, miners: 8, total: 1000n, average: 200n, typicalGapSec: DAY });
  });
});

describe('the history from a wallet’s logs (pure)', () => {
  const word = (v: bigint | number) => BigInt(v).toString(16).padStart(64, '0');
  const log = (topic: string, block: number, words: (bigint | number)[], blockTimestamp?: number) => ({
    address: '0x1', topics: [topic], data: `0x${words.map(word).join('')}`, blockNumber: `0x${block.toString(16)}`,
    ...(blockTimestamp === undefined ? {} : { blockTimestamp: `0x${blockTimestamp.toString(16)}` }),
  });

  it('knows the event topics of HubWallet.sol', () => {
    expect(WALLET_EVENTS.paid).toBe(eventTopic('Paid(address,uint256,uint256)'));
    expect(WALLET_EVENTS.paid).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('reads payouts, the first registration, suspicions and a ban, in block order', () => {
    const logs = [
      log(WALLET_EVENTS.batchPaid, 7, [3, 300, 90], 700),
      log(WALLET_EVENTS.registered, 2, [10n ** 18n, 200]),
      log(WALLET_EVENTS.paid, 5, [40, 12]),
      log(WALLET_EVENTS.registered, 9, [10n ** 18n, 900]),
      log(WALLET_EVENTS.suspected, 10, [1000]),
      log(WALLET_EVENTS.banned, 11, [5000]),
      log(WALLET_EVENTS.paid, 3, [1, 0]), // no time known: counted, not timed
    ];
    const h = historyFromLogs(logs, new Map([[5n, 500]]), 1200);
    expect(h).toEqual({
      now: 1200, registeredAt: 200, suspicions: 1, banned: true,
      payouts: [{ at: 500, amount: 40n, miners: 1 }, { at: 700, amount: 300n, miners: 3 }],
      untimed: { payouts: 1, amount: 1n, miners: 1 },
    });
  });

  it('names the event and block of a log too short for its event', () => {
    expect(() => historyFromLogs([log(WALLET_EVENTS.batchPaid, 12, [3])], new Map(), 1)).toThrow(/^BatchPaid log in block 12: data has no word 1/);
  });
});

describe('reading logs over JSON-RPC: a node’s bad answer is a clear error (parser test, canned answers)', () => {
  const answering = (result: unknown) => jsonRpcReader('http://node.test', 1000, (async () => new Response(JSON.stringify({ jsonrpc: '2.0', id: 1, result }))) as typeof fetch);

  it('names the field and the accepted form', async () => {
    await expect(answering('nope').logs('0xabc', [WALLET_EVENTS.paid])).rejects.toThrow('http://node.test: eth_getLogs for 0xabc: result "nope" is not a list of logs');
    await expect(answering([{ address: '0xabc', topics: [WALLET_EVENTS.paid], data: '0x', blockNumber: 'twelve' }]).logs('0xabc', [WALLET_EVENTS.paid]))
      .rejects.toThrow('http://node.test: eth_getLogs for 0xabc: result[0].blockNumber: a hex quantity like 0x1a');
    await expect(answering({ timestamp: 12 }).blockTime(5n)).rejects.toThrow('http://node.test: block 5: timestamp 12 is not a hex quantity like 0x1a');
    await expect(answering(null).blockTime('latest')).rejects.toThrow('http://node.test: no block latest');
  });

  it('passes good logs through', async () => {
    const good = [{ address: '0xabc', topics: [WALLET_EVENTS.paid], data: `0x${'00'.repeat(64)}`, blockNumber: '0xc', blockTimestamp: '0x10' }];
    expect(await answering(good).logs('0xabc', [WALLET_EVENTS.paid])).toEqual(good);
    expect(await answering({ timestamp: '0x10' }).blockTime(1n)).toBe(16);
  });
});
