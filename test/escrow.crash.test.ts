// Settlement crash tests with real processes: the built `sosna hub` is SIGKILLed in the middle of settling a
// buyer's escrow, (a) after the settlement is recorded with its signed transaction but before it is sent,
// (b) after it was sent but before its receipt is recorded (SOSNA_TEST_PAUSE_AT=settlement-after-record /
// settlement-after-send, hub/src/payouts/test-pause.ts). The chain is an anvil this test owns (the hub runs
// with --rpc/--contracts), so it outlives the hub. After a restart on the same data directory each escrow
// is settled exactly once (one Settled event, the settlement key's nonce moved by one), with the billed
// amount to the wei: nothing charged twice, nothing forgotten.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { NonceManager, Wallet } from 'ethers';
import { confirm, escrowAt, escrowJobId, escrowStateName } from '@sosna/contracts';
import { JobSpec } from '@sosna/protocol';
import { cli, freePort, requireBuild, start } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir } from './helpers.js';
import { ether, startChainFixture } from './chain-fixture.js';
import type { ChainFixture } from './chain-fixture.js';

const tmp = tempDir('sosna-escrow-crash-');
let fx: ChainFixture;
let port: number;
let hub: Proc | null = null;
const procs: Proc[] = [];
const escrowKey = Wallet.createRandom(); // the hub's settlement key (escrow.key), the payee
const buyerKey = Wallet.createRandom();
let buyer: NonceManager;

async function startHub(pauseAt?: 'settlement-after-record' | 'settlement-after-send'): Promise<Proc> {
  const p = start(fx.hubArgs(port), { env: { SOSNA_TEST_PAUSE_AT: pauseAt ?? '' } });
  procs.push(p);
  await p.waitFor(/hub \S+ ready/, 60_000);
  return p;
}

const escrow = () => escrowAt(fx.chain.deployment.addresses.escrow!, fx.chain.provider);

/** A buyer job that ended as the scheduler leaves it (succeeded, two verified runs credited), funded on chain. */
async function endedFundedJob(jobId: string, amounts: [bigint, bigint], deposit: bigint): Promise<void> {
  await confirm(fx.chain.deployment.token.connect(buyer).approve(fx.chain.deployment.addresses.escrow!, deposit));
  await confirm(escrowAt(fx.chain.deployment.addresses.escrow!, buyer).deposit(escrowKey.address, escrowJobId(jobId), deposit));
  const db = new Database(join(fx.hubDir, 'hub.db'));
  try {
    const spec = JobSpec.parse({ image: 'busybox', bid: '7', timeoutSec: 60, replicas: 2 });
    const now = Date.now();
    db.prepare(`INSERT INTO jobs (id, spec, state, replicas, digest, exit_code, submitted_by, created_at, updated_at, finished_at) VALUES (?, ?, 'succeeded', 2, ?, 0, 'ann', ?, ?, ?)`)
      .run(jobId, JSON.stringify(spec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), `sha256:${'a'.repeat(64)}`, now, now, now);
    amounts.forEach((amount, i) => {
      db.prepare(`INSERT INTO job_runs (id, job_id, replica, attempt, device_id, owner, state, exit_code, assigned_at, started_at, finished_at, runtime_ms, lease_until, verdict, billed_sec, amount)
        VALUES (?, ?, ?, 0, ?, ?, 'succeeded', 0, ?, ?, ?, 1000, ?, 'agree', 1, ?)`).run(`${jobId}.${i}.0`, jobId, i, `dev-${i}`, `0x${String(i + 1).repeat(40)}`, now, now, now, now, amount.toString());
    });
    db.prepare(`INSERT INTO job_funding (job_id, buyer, address, required, source, amount, funded_at) VALUES (?, 'ann', ?, '840', 'escrow', ?, ?)`).run(jobId, buyerKey.address, deposit.toString(), now);
  } finally {
    db.close();
  }
}

function settlementRows(): { job_id: string; status: string; tx_hash: string | null; billed: string }[] {
  const db = new Database(join(fx.hubDir, 'hub.db'), { readonly: true });
  try {
    return db.prepare('SELECT job_id, status, tx_hash, billed FROM escrow_settlements ORDER BY created_at').all() as { job_id: string; status: string; tx_hash: string | null; billed: string }[];
  } finally {
    db.close();
  }
}

async function killAt(point: string): Promise<void> {
  const h = hub!;
  await h.waitFor(new RegExp(`TEST-ONLY PAUSE at ${point}: waiting to be killed`), 60_000);
  process.kill(h.child.pid!, 'SIGKILL');
  await h.exited;
  expect(h.child.signalCode).toBe('SIGKILL');
  hub = null;
}

async function expectSettledOnce(jobId: string, billed: bigint, deposit: bigint): Promise<void> {
  const e = await escrow().escrowOf(escrowKey.address, buyerKey.address, escrowJobId(jobId));
  expect([escrowStateName(e.state), e.amount, e.billed]).toEqual(['settled', deposit, billed]);
  const events = await escrow().queryFilter(escrow().filters.Settled!(escrowKey.address, buyerKey.address, escrowJobId(jobId)));
  expect(events).toHaveLength(1);
}

beforeAll(async () => {
  requireBuild();
  port = await freePort();
  fx = await startChainFixture(tmp.dir, { endpoint: `mqtt://127.0.0.1:${port}` });
  writeFileSync(join(fx.hubDir, 'escrow.key'), `${escrowKey.privateKey}\n`, { mode: 0o600 });
  const dev = fx.chain.signers[0]!;
  await confirm(dev.sendTransaction({ to: escrowKey.address, value: ether }) as never);
  await confirm(dev.sendTransaction({ to: buyerKey.address, value: ether }) as never);
  await confirm(fx.chain.deployment.token.connect(dev).mint(buyerKey.address, 10_000n));
  buyer = new NonceManager(buyerKey.connect(fx.chain.provider));
}, 120_000); // sized for a loaded machine

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  await fx?.stop();
  tmp.cleanup();
});

describe('escrow settlements survive kill -9 of the hub process', () => {
  it('(a) killed after recording the settlement, before sending it: sent once after the restart', async () => {
    hub = await startHub('settlement-after-record');
    // the buyer account, through the real CLI on the hub's database (works while the hub runs)
    const r = await cli(['hub', 'operators', 'add', 'ann', '--role', 'buyer', '--address', buyerKey.address, '--data-dir', fx.hubDir], { timeoutMs: 60_000 });
    expect(r.code, r.output).toBe(0);
    const nonceBefore = await fx.chain.provider.getTransactionCount(escrowKey.address, 'latest');
    await endedFundedJob('j-crashaaaaaaa', [7n, 14n], 840n); // the hub's next round records and signs it
    await killAt('settlement-after-record');
    const rows = settlementRows();
    expect(rows.map((r) => [r.job_id, r.status, r.billed])).toEqual([['j-crashaaaaaaa', 'signed', '21']]);
    expect(await fx.chain.provider.getTransaction(rows[0]!.tx_hash!)).toBeNull(); // nothing sent
    expect(escrowStateName((await escrow().escrowOf(escrowKey.address, buyerKey.address, escrowJobId('j-crashaaaaaaa'))).state)).toBe('funded');

    hub = await startHub();
    await expect.poll(() => settlementRows()[0]?.status, { timeout: 60_000, interval: 200 }).toBe('mined');
    expect((await fx.chain.provider.getTransactionReceipt(rows[0]!.tx_hash!))?.status).toBe(1); // the very transaction it had recorded
    expect(await fx.chain.provider.getTransactionCount(escrowKey.address, 'latest')).toBe(nonceBefore + 1);
    await expectSettledOnce('j-crashaaaaaaa', 21n, 840n);
    await hub.stop();
    hub = null;
  }, 180_000);

  it('(b) killed after sending the settlement, before recording its receipt: found by hash, not sent again', async () => {
    hub = await startHub('settlement-after-send');
    const nonceBefore = await fx.chain.provider.getTransactionCount(escrowKey.address, 'latest');
    await endedFundedJob('j-crashbbbbbbb', [70n, 70n], 900n);
    await killAt('settlement-after-send');
    const rows = settlementRows();
    expect(rows.map((r) => r.status)).toEqual(['mined', 'signed']);
    expect((await fx.chain.provider.getTransactionReceipt(rows[1]!.tx_hash!))?.status).toBe(1); // anvil mined it already

    hub = await startHub();
    await expect.poll(() => settlementRows()[1]?.status, { timeout: 60_000, interval: 200 }).toBe('mined');
    expect(await fx.chain.provider.getTransactionCount(escrowKey.address, 'latest')).toBe(nonceBefore + 1);
    await expectSettledOnce('j-crashbbbbbbb', 140n, 900n);
    await expectSettledOnce('j-crashaaaaaaa', 21n, 840n); // the first one untouched
    await hub.stop();
    hub = null;
  }, 180_000);
});
