// Payouts on the real contracts (anvil): exact amounts, nothing paid twice, nothing forgotten, also when
// the engine dies after recording a payout or after sending it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Wallet } from 'ethers';
import { hubWalletAt } from '@sosna/contracts';
import { silentLogger } from '@sosna/protocol';
import { startHubChain } from '../hub/src/chain/hub-chain.js';
import type { HubChain } from '../hub/src/chain/hub-chain.js';
import { createSqlitePayoutStore, PAYOUTS_MIGRATION } from '../hub/src/store/payouts-sqlite.js';
import { PayoutEngine } from '../hub/src/payouts/engine.js';
import type { PayoutStore } from '../hub/src/payouts/types.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
const ownerKey = Wallet.createRandom().privateKey;
let chain: HubChain;
let db: Database.Database;
let store: PayoutStore;
const miners = [Wallet.createRandom().address, Wallet.createRandom().address, Wallet.createRandom().address];
const expected = new Map<string, bigint>();
let job = 0;

function earn(owner: string, amount: bigint) {
  db.prepare('INSERT INTO earnings (job_id, device_id, run_id, owner, seconds, price, amount, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .run(`job-${++job}`, 'dev-1', `run-${job}`, owner, 10, (amount / 10n).toString(), amount.toString(), Date.now());
  expected.set(owner, (expected.get(owner) ?? 0n) + amount);
}

const engine = (hooks = {}) =>
  new PayoutEngine({ store, wallet: hubWalletAt(chain.contracts.wallet, chain.owner), signer: chain.owner, log: silentLogger, hooks });

async function onChain(owner: string): Promise<bigint> {
  return (await hubWalletAt(chain.contracts.wallet, chain.provider).claimable(owner)) as bigint;
}

async function expectPaidExactly() {
  for (const m of miners) expect(await onChain(m)).toBe(expected.get(m) ?? 0n);
}

beforeAll(async () => {
  chain = await startHubChain({ dataDir: tmp.dir, ownerKey, log: silentLogger, endpoint: 'mqtt://hub:1883' });
  db = new Database(join(tmp.dir, 'hub.db'));
  // the earnings ledger as the jobs scheduler keeps it
  db.exec(`CREATE TABLE earnings (job_id TEXT NOT NULL, device_id TEXT NOT NULL, run_id TEXT NOT NULL, owner TEXT NOT NULL,
    seconds INTEGER NOT NULL, price TEXT NOT NULL, amount TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (job_id, device_id));`);
  // what payouts read to find the wallet of an earning credited to a fleet (the rest of the hub's schema)
  db.exec(`CREATE TABLE devices (id TEXT PRIMARY KEY, inventory TEXT); CREATE TABLE device_market (device_id TEXT PRIMARY KEY, owner TEXT);`);
  db.exec(PAYOUTS_MIGRATION);
  store = createSqlitePayoutStore(db);
}, 120_000); // sized for a loaded machine
afterAll(async () => {
  db?.close();
  await chain?.stop();
  tmp.cleanup();
});

describe('payouts', () => {
  it('pays every owner the exact sum of its earnings in one batch, and nothing when nothing is owed', async () => {
    earn(miners[0]!, 123_456_789_012_345_678_901n);
    earn(miners[0]!, 1n);
    earn(miners[1]!, 10n ** 18n);
    earn('not-an-address', 5n); // no wallet: never sent, never lost
    const row = await engine().run();
    expect(row).toMatchObject({ status: 'paid', items: expect.arrayContaining([expect.objectContaining({ owner: miners[0] })]) });
    expect(row!.items).toHaveLength(2);
    await expectPaidExactly();
    expect(await engine().run()).toBeNull();
    await expectPaidExactly();
  });

  it('a payout recorded but never sent (hub killed) is sent after a restart, once', async () => {
    earn(miners[2]!, 777n);
    await expect(engine({ afterRecord: () => { throw new Error('killed after recording'); } }).run()).rejects.toThrow('killed after recording');
    expect(store.open()).toHaveLength(1);
    expect(await onChain(miners[2]!)).toBe(0n);
    await engine().reconcile();
    expect(store.open()).toHaveLength(0);
    await expectPaidExactly();
  });

  it('a payout sent but not confirmed (hub killed) is found by its hash after a restart, not paid again', async () => {
    earn(miners[0]!, 42n);
    earn(miners[2]!, 58n);
    await expect(engine({ afterSend: () => { throw new Error('killed after sending'); } }).run()).rejects.toThrow('killed after sending');
    expect(store.open()).toHaveLength(1);
    await engine().run(); // reconciles first, then finds nothing new to pay
    expect(store.open()).toHaveLength(0);
    await expectPaidExactly();
    expect(store.list().filter((p) => p.status === 'paid')).toHaveLength(3);
  });

  it('earnings that arrive during a payout are paid by the next one', async () => {
    const first = engine({ afterRecord: () => earn(miners[1]!, 5n) });
    earn(miners[1]!, 5n);
    await first.run();
    await engine().run();
    await expectPaidExactly();
  });
});
