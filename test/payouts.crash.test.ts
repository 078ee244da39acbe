// Crash tests with real processes: the built `sosna hub` is SIGKILLed in the middle of a payout, (a) after
// the payout is recorded with its signed transaction but before it is sent, (b) after it was sent but
// before its receipt is recorded. The hub stops at those points through its test-only fault point
// (SOSNA_TEST_PAUSE_AT, hub/src/payouts/test-pause.ts): it logs a marker and waits, the test kills it.
// The chain is an anvil that this test owns (the hub runs with --rpc/--contracts), so it outlives the hub.
// After a restart on the same data directory every miner must be approved exactly once, to the wei.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Wallet } from 'ethers';
import { hubWalletAt } from '@sosna/contracts';
import { CLI, cli, freePort, requireBuild, start } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir } from './helpers.js';
import { startChainFixture } from './chain-fixture.js';
import type { ChainFixture } from './chain-fixture.js';

const tmp = tempDir('sosna-payout-crash-');
const miners = Array.from({ length: 6 }, () => Wallet.createRandom().address);
const expected = new Map<string, bigint>();
let fx: ChainFixture;
let hubDir: string;
let port: number;
let hub: Proc | null = null;
let job = 0;
const procs: Proc[] = [];
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });

async function startHub(pauseAt?: 'payout-after-record' | 'payout-after-send'): Promise<Proc> {
  const env: Record<string, string> = pauseAt ? { SOSNA_TEST_PAUSE_AT: pauseAt } : {};
  const p = start(fx.hubArgs(port), { env: { SOSNA_TEST_PAUSE_AT: '', ...env } });
  procs.push(p);
  await p.waitFor(/hub \S+ ready/, 60_000);
  return p;
}

/** Earnings as the jobs scheduler writes them when runs finish: several jobs per miner, odd amounts. */
function earnSome(round: number): void {
  const db = new Database(join(hubDir, 'hub.db'));
  try {
    const insert = db.prepare('INSERT INTO earnings (job_id, device_id, run_id, owner, seconds, price, amount, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    miners.forEach((owner, i) => {
      for (let k = 0; k <= i % 3; k++) {
        const amount = BigInt(round) * 1_000_003n * 10n ** 12n + BigInt(i * 7919 + k * 104_729 + 1); // not round numbers
        job++;
        insert.run(`job-crash-${job}`, `dev-${i}`, `run-${job}`, owner, 10, '1', amount.toString(), Date.now());
        expected.set(owner, (expected.get(owner) ?? 0n) + amount);
      }
    });
  } finally {
    db.close();
  }
}

function payoutRows(): { id: string; status: string; tx_hash: string | null }[] {
  const db = new Database(join(hubDir, 'hub.db'), { readonly: true });
  try {
    return db.prepare('SELECT id, status, tx_hash FROM payouts ORDER BY created_at').all() as { id: string; status: string; tx_hash: string | null }[];
  } finally {
    db.close();
  }
}

const wallet = () => hubWalletAt(fx.wallet, fx.chain.provider);

async function approvedOnChain(): Promise<Map<string, bigint>> {
  const w = wallet();
  return new Map(await Promise.all(miners.map(async (m) => [m, (await w.allowance(m)) as bigint] as const)));
}

/** Runs `console payouts run` against a hub that stops at its pause point, then SIGKILLs the hub there. */
async function payAndKillAt(point: 'payout-after-record' | 'payout-after-send'): Promise<void> {
  const h = hub!;
  const run = start([CLI, 'console', 'payouts', 'run', '--json'], { env: profile() });
  procs.push(run);
  await h.waitFor(new RegExp(`TEST-ONLY PAUSE at ${point}: waiting to be killed`), 60_000);
  process.kill(h.child.pid!, 'SIGKILL');
  await h.exited;
  expect(h.child.signalCode).toBe('SIGKILL');
  hub = null;
  await run.stop('SIGKILL');
}

async function expectSettled(): Promise<void> {
  const approved = await approvedOnChain();
  for (const m of miners) expect(approved.get(m), `allowance of ${m}`).toBe(expected.get(m));
  let total = 0n;
  for (const v of expected.values()) total += v;
  expect((await wallet().totalOwed()) as bigint).toBe(total);
  // the ledger through the console: every payout settled, and nothing left to pay
  const ls = await cli(['console', 'payouts', 'ls', '--json'], { env: profile(), timeoutMs: 60_000 });
  expect(ls.code, ls.output).toBe(0);
  const list = JSON.parse(ls.stdout) as { status: string; owners: number; total: string }[];
  expect(list.length).toBeGreaterThan(0);
  expect(list.map((p) => p.status)).toEqual(list.map(() => 'paid'));
  expect(list.reduce((s, p) => s + BigInt(p.total), 0n)).toBe(total);
  const again = await cli(['console', 'payouts', 'run', '--json'], { env: profile(), timeoutMs: 60_000 });
  expect(again.code, again.output).toBe(0);
  expect(JSON.parse(again.stdout)).toBeNull();
  // one BatchPaid event per paid payout: no transaction was mined twice
  expect(await wallet().queryFilter('BatchPaid')).toHaveLength(list.length);
}

beforeAll(async () => {
  requireBuild();
  port = await freePort();
  fx = await startChainFixture(tmp.dir, { endpoint: `mqtt://127.0.0.1:${port}` });
  hubDir = fx.hubDir;
}, 120_000); // sized for a loaded machine

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  await fx?.stop();
  tmp.cleanup();
});

describe('payouts survive kill -9 of the hub process', () => {
  it('(a) killed after recording the payout, before sending it: sent once after the restart', async () => {
    hub = await startHub('payout-after-record');
    earnSome(1);
    const nonceBefore = await fx.chain.provider.getTransactionCount(fx.owner.address, 'latest');
    await payAndKillAt('payout-after-record');
    // the hub died with a signed, unsent payout on record: nothing on chain yet
    const rows = payoutRows();
    expect(rows.map((r) => r.status)).toEqual(['signed']);
    expect(await fx.chain.provider.getTransaction(rows[0]!.tx_hash!)).toBeNull();
    for (const v of (await approvedOnChain()).values()) expect(v).toBe(0n);

    hub = await startHub(); // reconciles before it says ready
    expect(payoutRows().map((r) => r.status)).toEqual(['paid']);
    expect((await fx.chain.provider.getTransactionReceipt(rows[0]!.tx_hash!))?.status).toBe(1); // the very transaction it had recorded
    expect(await fx.chain.provider.getTransactionCount(fx.owner.address, 'latest')).toBe(nonceBefore + 1);
    await expectSettled();
    await hub.stop();
    hub = null;
  }, 180_000);

  it('(b) killed after sending the payout, before recording its receipt: found by hash, not paid again', async () => {
    earnSome(2);
    hub = await startHub('payout-after-send');
    const nonceBefore = await fx.chain.provider.getTransactionCount(fx.owner.address, 'latest');
    await payAndKillAt('payout-after-send');
    // the transaction is mined (anvil mines at once) but the ledger does not know it yet
    const rows = payoutRows();
    expect(rows.map((r) => r.status)).toEqual(['paid', 'signed']);
    expect((await fx.chain.provider.getTransactionReceipt(rows[1]!.tx_hash!))?.status).toBe(1);
    const approved = await approvedOnChain();
    for (const m of miners) expect(approved.get(m)).toBe(expected.get(m));

    hub = await startHub();
    expect(payoutRows().map((r) => r.status)).toEqual(['paid', 'paid']);
    expect(await fx.chain.provider.getTransactionCount(fx.owner.address, 'latest')).toBe(nonceBefore + 1);
    await expectSettled();
    await hub.stop();
    hub = null;
  }, 180_000);
});
