// Buyers pay through the escrow (issue 14 item 2) against a real hub (in-process, embedded broker), its
// real embedded chain (anvil, JobEscrow deployed with the others) and simulated devices of two owners: a
// buyer's job waits (awaiting-funds) until its deposit covers the worst case, runs on two devices once
// funded, the hub settles exactly what was billed, and the buyer's confirm moves the balances to the wei.
// A dispute freezes the amount; after the window anyone releases; a cancel refunds; an admin's credit
// funds a buyer's job without a deposit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import { escrowAt, escrowJobId, escrowStateName, increaseTime, tokenAt } from '@sosna/contracts';
import { addOperator, ConsoleClient, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { escrowService, jobsService, silentLogger } from '@sosna/protocol';
import type { JobSpecInput } from '@sosna/protocol';
import { JobDevice } from './job-device.js';
import { cli, requireBuild, writeJson } from './procs.js';
import { writeFileSync } from 'node:fs';
import { tempDir, waitFor } from './helpers.js';

const tmp = tempDir('sosna-escrow-');
const fast = { N: 1024, r: 8, p: 1 };
const digest = (c: string) => `sha256:${c.repeat(64)}`;
let hub: Hub;
let provider: JsonRpcProvider;
let chainInfo: { rpcUrl: string; token: string; escrow: string; escrowPayee: string };
const buyerKey = Wallet.createRandom();
let buyer: NonceManager & { address: string }; // a NonceManager: the provider's cached nonce lags back-to-back transactions
const consoles: Record<string, ConsoleClient> = {};
const profiles: Record<string, string> = {};
const sosna = (who: string, args: string[], env: Record<string, string> = {}) => cli(['console', ...args], { env: { SOSNA_PROFILE: profiles[who]!, ...env }, timeoutMs: 60_000 });
const devices: JobDevice[] = [];

const balance = (addr: string) => tokenAt(chainInfo.token, provider).balanceOf(addr) as Promise<bigint>;
const escrowOf = async (jobId: string) => {
  const e = await escrowAt(chainInfo.escrow, provider).escrowOf(chainInfo.escrowPayee, buyer.address, escrowJobId(jobId));
  return { state: escrowStateName(e.state), amount: e.amount as bigint, billed: e.billed as bigint };
};
async function deposit(jobId: string, amount: bigint) {
  await (await tokenAt(chainInfo.token, buyer).approve(chainInfo.escrow, amount)).wait();
  await (await escrowAt(chainInfo.escrow, buyer).deposit(chainInfo.escrowPayee, escrowJobId(jobId), amount)).wait();
}
const submit = (who: string, spec: JobSpecInput) => consoles[who]!.call(jobsService, 'submit', { spec: spec as never });
const show = (jobId: string) => consoles.root!.call(jobsService, 'show', { jobId });
const runsOf = (jobId: string) => devices.flatMap((d) => [...d.runs.values()].filter((r) => r.jobId === jobId).map((r) => ({ d, r })));
async function runToSuccess(jobId: string, runtimeMs: number) {
  const runs = await waitFor(`two runs of ${jobId}`, () => (runsOf(jobId).length === 2 ? runsOf(jobId) : null), 30_000);
  for (const { d, r } of runs) await d.finish(r.id, digest('e'), runtimeMs);
  await waitFor(`${jobId} succeeded`, async () => (await show(jobId)).state === 'succeeded', 30_000);
}
const settled = (jobId: string) => waitFor(`settlement of ${jobId} mined`, () => (hub.store.escrow.settlement(jobId)?.status === 'mined' ? hub.store.escrow.settlement(jobId) : null), 60_000, 100);

beforeAll(async () => {
  requireBuild();
  hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, jobs: { leaseSec: 3600, tickMs: 100, trust: { enabled: false } } }, { log: silentLogger });
  const url = `mqtt://127.0.0.1:${hub.mqttPort}`;
  chainInfo = (JSON.parse(readFileSync(join(tmp.dir, 'hub', 'runtime.json'), 'utf8')) as { chain: typeof chainInfo }).chain;
  provider = new JsonRpcProvider(chainInfo.rpcUrl);
  buyer = Object.assign(new NonceManager(buyerKey.connect(provider)), { address: buyerKey.address });
  // the buyer's tokens and gas, from the dev chain's deployer (the token's owner)
  const dev = await provider.getSigner(0);
  await (await dev.sendTransaction({ to: buyer.address, value: 10n ** 18n })).wait();
  await (await tokenAt(chainInfo.token, dev).mint(buyer.address, 1_000_000n)).wait();
  for (const [name, role, address] of [['root', 'admin', undefined], ['ann', 'buyer', buyer.address], ['bob', 'buyer', Wallet.createRandom().address]] as const) {
    const { password } = await addOperator(hub.store, name, role, fast, { address });
    consoles[name] = await ConsoleClient.connect({ url, hubId: hub.hubId, user: name, password });
    profiles[name] = writeJson(join(tmp.dir, `${name}.json`), { url, hubId: hub.hubId, user: name, password });
  }
  for (const [name, owner] of [['rig-a', '0x1111111111111111111111111111111111111111'], ['rig-b', '0x2222222222222222222222222222222222222222']] as const) {
    const d = await (await JobDevice.preIssue(hub, name, { owner, ask: '1' })).connect(url);
    devices.push(d);
    await waitFor(`${name} online`, () => hub.store.getDevice(d.id)?.online);
  }
}, 180_000);

afterAll(async () => {
  for (const c of Object.values(consoles)) await c.close();
  for (const d of devices) d.close();
  await hub?.stop();
  provider?.destroy();
  tmp.cleanup();
});

const SPEC = { image: 'busybox', bid: '5', timeoutSec: 60, replicas: 2, command: ['true'] }; // worst case 5 x 60 x 2 = 600

describe('escrow: a buyer pays for its job through JobEscrow', () => {
  it('an unfunded job waits with the reason; a deposit below the worst case does not fund it; a full one does; confirm moves balances to the wei', async () => {
    const { jobId } = await submit('ann', SPEC);
    const held = await waitFor('awaiting-funds', async () => ((await show(jobId)).reason?.startsWith('awaiting-funds') ? show(jobId) : null));
    expect(held.state).toBe('queued');
    expect(held.reason).toContain('600 wei');
    expect(held.reason).toContain(chainInfo.escrow);
    expect(runsOf(jobId)).toEqual([]);

    const buyer0 = await balance(buyer.address);
    const payee0 = await balance(chainInfo.escrowPayee);
    await deposit(jobId, 599n);
    expect((await consoles.ann!.call(escrowService, 'funded', { jobId })).source).toBeNull(); // 599 < 600
    expect(runsOf(jobId)).toEqual([]);
    await deposit(jobId, 1n);
    const funded = await consoles.ann!.call(escrowService, 'funded', { jobId });
    expect(funded).toMatchObject({ source: 'escrow', amount: 600n, required: 600n });

    await runToSuccess(jobId, 2500); // 3 billed seconds x 5 wei x 2 runs
    const s = await settled(jobId);
    expect(s).toMatchObject({ kind: 'settle', billed: 30n });
    expect(await escrowOf(jobId)).toEqual({ state: 'settled', amount: 600n, billed: 30n });
    await (await escrowAt(chainInfo.escrow, buyer).confirm(chainInfo.escrowPayee, escrowJobId(jobId))).wait();
    expect(await escrowOf(jobId)).toMatchObject({ state: 'closed' });
    expect(await balance(chainInfo.escrowPayee)).toBe(payee0 + 30n);
    expect(await balance(buyer.address)).toBe(buyer0 - 30n);
    // the buyer sees its funding; another buyer does not learn the job exists
    expect((await consoles.ann!.call(escrowService, 'status', { jobId })).settlement).toMatchObject({ kind: 'settle', billed: 30n, status: 'mined' });
    await expect(consoles.bob!.call(escrowService, 'status', { jobId })).rejects.toMatchObject({ code: 'E_NOT_FOUND', message: `no job ${jobId}` });
  }, 180_000);

  it('a dispute inside the window freezes the amount; without one, anyone releases after the window', async () => {
    const a = (await submit('ann', SPEC)).jobId;
    const b = (await submit('ann', SPEC)).jobId;
    await deposit(a, 600n);
    await deposit(b, 600n);
    await consoles.ann!.call(escrowService, 'funded', { jobId: a });
    await consoles.ann!.call(escrowService, 'funded', { jobId: b });
    await runToSuccess(a, 1000);
    await runToSuccess(b, 1000);
    await settled(a);
    await settled(b);
    const buyer0 = await balance(buyer.address);
    const payee0 = await balance(chainInfo.escrowPayee);
    await (await escrowAt(chainInfo.escrow, buyer).dispute(chainInfo.escrowPayee, escrowJobId(a), 'wrong output')).wait();
    expect(await escrowOf(a)).toMatchObject({ state: 'disputed', amount: 600n });
    await increaseTime(provider, 86_400n + 1n); // past the dispute window
    const strangerKey = Wallet.createRandom();
    const stranger = new NonceManager(strangerKey.connect(provider));
    await (await (await provider.getSigner(0)).sendTransaction({ to: strangerKey.address, value: 10n ** 17n })).wait();
    await expect(escrowAt(chainInfo.escrow, stranger).release.staticCall(chainInfo.escrowPayee, buyer.address, escrowJobId(a))).rejects.toThrow(); // frozen for the DAO
    await (await escrowAt(chainInfo.escrow, stranger).release(chainInfo.escrowPayee, buyer.address, escrowJobId(b))).wait(); // the timeout confirms
    expect(await escrowOf(b)).toMatchObject({ state: 'closed', billed: 10n });
    expect(await balance(chainInfo.escrowPayee)).toBe(payee0 + 10n);
    expect(await balance(buyer.address)).toBe(buyer0 + 590n);
    expect(await escrowOf(a)).toMatchObject({ state: 'disputed' });
  }, 180_000);

  it('a job cancelled before it ran is refunded in full, also a partly funded one', async () => {
    const buyer0 = await balance(buyer.address);
    const partial = (await submit('ann', SPEC)).jobId;
    await deposit(partial, 250n);
    await consoles.ann!.call(jobsService, 'cancel', { jobId: partial });
    for (const d of devices) d.refuse = true; // assigned nowhere: it never starts
    const full = (await submit('ann', SPEC)).jobId;
    await deposit(full, 600n);
    expect((await consoles.ann!.call(escrowService, 'funded', { jobId: full })).source).toBe('escrow');
    await consoles.ann!.call(jobsService, 'cancel', { jobId: full });
    for (const d of devices) d.refuse = false;
    for (const id of [partial, full]) {
      expect(await settled(id)).toMatchObject({ kind: 'refund', billed: 0n });
      expect(await escrowOf(id)).toMatchObject({ state: 'closed' });
    }
    expect(await balance(buyer.address)).toBe(buyer0);
  }, 180_000);

  it("an admin's credit funds a buyer's job without a deposit; other buyers' credit is theirs", async () => {
    const { jobId } = await submit('bob', SPEC);
    await waitFor('awaiting-funds', async () => (await show(jobId)).reason?.startsWith('awaiting-funds'));
    await expect(consoles.bob!.call(escrowService, 'credit', { buyer: 'bob', amount: 600n })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
    await consoles.root!.call(escrowService, 'credit', { buyer: 'bob', amount: 1000n });
    await waitFor('bob job placed', () => runsOf(jobId).length === 2, 30_000);
    expect(hub.store.escrow.funding(jobId)).toMatchObject({ source: 'credit', amount: 600n });
    expect(hub.store.escrow.credit('bob')).toBe(400n);
    expect((await show(jobId)).reason).toBeNull();
    // when it ends, what was not billed (600 taken - 2 s x 5 wei x 2 runs) comes back to bob's credit, once
    await runToSuccess(jobId, 2000);
    await waitFor('credit settled', () => hub.store.escrow.settlement(jobId)?.kind === 'credit', 30_000);
    expect(hub.store.escrow.credit('bob')).toBe(980n);
    expect((await consoles.bob!.call(escrowService, 'status', { jobId })).settlement).toMatchObject({ kind: 'credit', billed: 20n, status: 'mined' });
  }, 120_000);
});

describe('escrow through the console CLI', () => {
  it('jobs submit --deposit signs approve + deposit with the key file; too little is refused by name; jobs confirm closes it to the wei', async () => {
    const keyFile = join(tmp.dir, 'ann.key');
    writeFileSync(keyFile, `${buyerKey.privateKey}\n`, { mode: 0o600 });
    const args = ['jobs', 'submit', '--image', 'busybox', '--bid', '5', '--timeout', '60s', '--replicas', '2', '--json'];
    const low = await sosna('ann', [...args, '--deposit', '599', '--key-file', keyFile, '--', 'true']);
    expect(low.code).not.toBe(0);
    expect(low.output).toContain('--deposit 599: below the worst case 600 wei');
    expect(low.output).not.toContain(buyerKey.privateKey.slice(2));
    const noKey = await sosna('ann', [...args, '--deposit', '--', 'true']);
    expect(noKey.output).toContain('--key-file');
    expect((await consoles.ann!.call(jobsService, 'ls', { limit: 100 })).jobs.filter((j) => j.state === 'queued' && j.reason?.startsWith('awaiting-funds'))).toEqual([]); // nothing was submitted

    const buyer0 = await balance(buyer.address);
    const payee0 = await balance(chainInfo.escrowPayee);
    const r = await sosna('ann', [...args, '--deposit', '--', 'true'], { SOSNA_BUYER_KEY_FILE: keyFile });
    expect(r.code, r.output).toBe(0);
    expect(r.output).not.toContain(buyerKey.privateKey.slice(2));
    const { jobId, funding } = JSON.parse(r.stdout) as { jobId: string; funding: { source: string; amount: string } };
    expect(funding).toMatchObject({ source: 'escrow', amount: '600' });
    await runToSuccess(jobId, 4000); // 4 s x 5 wei x 2
    await settled(jobId);
    const c = await sosna('ann', ['jobs', 'confirm', jobId, '--key-file', keyFile]);
    expect(c.code, c.output).toBe(0);
    expect(c.stdout).toContain('the hub got 40 wei, 560 wei came back to you');
    expect(await balance(chainInfo.escrowPayee)).toBe(payee0 + 40n);
    expect(await balance(buyer.address)).toBe(buyer0 - 40n);
    buyer.reset(); // the CLI used the same key

    const f = await sosna('ann', ['jobs', 'funding', jobId]);
    expect(f.stdout).toContain('settle billed 40 wei, mined');
    const other = await sosna('bob', ['jobs', 'funding', jobId]);
    expect(other.output).toContain(`no job ${jobId}`);
    const credit = await sosna('root', ['buyers', 'credit', 'bob', '77']);
    expect(credit.stdout).toContain('bob: credit 77 wei');
  }, 240_000);
});
