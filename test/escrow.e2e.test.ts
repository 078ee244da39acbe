// The escrow end to end with real processes: `sosna hub` on its embedded dev chain (anvil), two agents from
// the single-file bundle on a private Docker Engine (test/docker.ts), and a buyer driving the real
// `sosna console jobs submit --deposit` / `jobs confirm` / `jobs dispute` with its key file. A 2-replica job
// runs on both devices, the hub settles exactly what its ledger billed, and the balances move to the wei;
// a dispute freezes the amount; a timeout (the window passing, then anyone's release) confirms; a cancel
// refunds. (No 50 MB peer-to-peer input here: that is the data part of issue 14.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import { escrowAt, escrowJobId, escrowStateName, increaseTime, tokenAt } from '@sosna/contracts';
import { CLI, cli, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { startPrivateDocker, SKIP_DOCKER } from './docker.js';
import type { PrivateDocker } from './docker.js';

const tmp = tempDir('sosna-escrow-e2e-');
const hubDir = join(tmp.dir, 'hub');
let engine: PrivateDocker;
let port: number;
let hub: Proc;
const agents: Proc[] = [];
let provider: JsonRpcProvider;
let chain: { rpcUrl: string; token: string; escrow: string; escrowPayee: string };
const buyerKey = Wallet.createRandom();
const keyFile = join(tmp.dir, 'ann.key');
const admin = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });
const ann = () => ({ SOSNA_PROFILE: join(tmp.dir, 'ann.json'), SOSNA_BUYER_KEY_FILE: keyFile });

interface Job { id: string; state: string; reason: string | null; runs: { deviceId: string; state: string; amount: string | null; billedSec: number | null }[] }
const show = async (jobId: string) => JSON.parse((await cli(['console', 'jobs', 'show', jobId, '--json'], { env: ann(), timeoutMs: 30_000 })).stdout) as Job;
const balance = (a: string) => tokenAt(chain.token, provider).balanceOf(a) as Promise<bigint>;
const escrowOf = async (jobId: string) => {
  const e = await escrowAt(chain.escrow, provider).escrowOf(chain.escrowPayee, buyerKey.address, escrowJobId(jobId));
  return { state: escrowStateName(e.state), amount: e.amount as bigint, billed: e.billed as bigint };
};
async function submitFunded(script: string): Promise<string> {
  const r = await cli(['console', 'jobs', 'submit', '--image', engine.images.local, '--bid', '5', '--timeout', '60s', '--replicas', '2', '--deposit', '--json', '--', 'sh', '-c', script], { env: ann(), timeoutMs: 60_000 });
  expect(r.code, r.output).toBe(0);
  const out = JSON.parse(r.stdout) as { jobId: string; funding: { source: string; amount: string } };
  expect(out.funding).toMatchObject({ source: 'escrow', amount: '600' }); // 5 wei/s x 60 s x 2
  return out.jobId;
}
const finalJob = (jobId: string) => waitFor(`${jobId} final`, async () => {
  const j = await show(jobId);
  return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : null;
}, 120_000, 500);
const settledOnChain = (jobId: string) => waitFor(`${jobId} settled on chain`, async () => {
  const e = await escrowOf(jobId);
  return e.state !== 'funded' ? e : null;
}, 60_000, 300);
const billedBy = (j: Job) => j.runs.reduce((s, r) => s + BigInt(r.amount ?? '0'), 0n);

beforeAll(async () => {
  if (SKIP_DOCKER) return;
  requireBuild();
  engine = await startPrivateDocker();
  port = await freePort();
  const bundle = installBundle(join(tmp.dir, 'device-bin'));
  const hubConfig = writeJson(join(tmp.dir, 'hub.json'), { jobs: { leaseSec: 30, offlineGraceSec: 30, tickMs: 250, trust: { enabled: false } } });
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--config', hubConfig]);
  await hub.waitFor(/hub \S+ ready/, 120_000);
  chain = (JSON.parse(readFileSync(join(hubDir, 'runtime.json'), 'utf8')) as { chain: typeof chain }).chain;
  provider = new JsonRpcProvider(chain.rpcUrl);
  const dev = new NonceManager(await provider.getSigner(0));
  await (await dev.sendTransaction({ to: buyerKey.address, value: 10n ** 18n })).wait();
  await (await tokenAt(chain.token, dev).mint(buyerKey.address, 100_000n)).wait();
  writeFileSync(keyFile, `${buyerKey.privateKey}\n`, { mode: 0o600 });
  const b = await cli(['hub', 'operators', 'add', 'ann', '--role', 'buyer', '--address', buyerKey.address, '--write-profile', join(tmp.dir, 'ann.json'), '--url', `mqtt://127.0.0.1:${port}`, '--data-dir', hubDir]);
  expect(b.code, b.output).toBe(0);
  for (const [i, owner] of ['alice', 'bob'].entries()) {
    const key = await cli(['hub', 'keys', 'create', '--fleet', owner, '--max', '1', '--data-dir', hubDir]);
    expect(key.code, key.output).toBe(0);
    const config = writeJson(join(tmp.dir, `agent${i}`, 'config.json'), {
      hub: { url: `mqtt://127.0.0.1:${port}` }, provisioningKey: key.stdout.trim(), name: `rig-${i}`, stateDir: join(tmp.dir, `agent${i}`, 'state'),
      mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 }, dashboard: { enabled: false },
      jobs: { dockerHost: engine.host, askPerSec: '1', maxJobs: 4 },
    });
    agents.push(start([bundle, '--config', config], { cwd: join(tmp.dir, 'device-bin') }));
  }
  await waitFor('two devices online with a container engine', async () => {
    const list = JSON.parse((await cli(['console', 'devices', '--json'], { env: admin(), timeoutMs: 30_000 })).stdout) as { online: boolean; inventory: { jobs?: { engine: unknown } } | null }[];
    return list.length === 2 && list.every((d) => d.online && d.inventory?.jobs?.engine);
  }, 90_000, 500);
}, 300_000);

afterAll(async () => {
  for (const a of agents) await a.stop('SIGKILL');
  await hub?.stop();
  await engine?.stop();
  provider?.destroy();
  tmp.cleanup();
}, 120_000);

describe.skipIf(SKIP_DOCKER)('escrow end to end: a buyer, real agents, the dev chain', { timeout: 240_000 }, () => {
  it('deposit, a 2-replica job on two devices, the hub settles what it billed, the buyer confirms: balances to the wei', async () => {
    const buyer0 = await balance(buyerKey.address);
    const payee0 = await balance(chain.escrowPayee);
    const jobId = await submitFunded('echo same');
    const job = await finalJob(jobId);
    expect(job.state).toBe('succeeded');
    expect(new Set(job.runs.map((r) => r.deviceId)).size).toBe(2);
    const billed = billedBy(job);
    expect(billed).toBeGreaterThan(0n);
    expect(await settledOnChain(jobId)).toEqual({ state: 'settled', amount: 600n, billed });
    expect(await balance(buyerKey.address)).toBe(buyer0 - 600n); // locked until confirmed
    const c = await cli(['console', 'jobs', 'confirm', jobId], { env: ann(), timeoutMs: 60_000 });
    expect(c.code, c.output).toBe(0);
    expect(await balance(chain.escrowPayee)).toBe(payee0 + billed);
    expect(await balance(buyerKey.address)).toBe(buyer0 - billed);
    expect((await escrowOf(jobId)).state).toBe('closed');
  });

  it('a dispute freezes the amount; the window passing without one lets anyone release (= confirm)', async () => {
    const disputed = await submitFunded('echo one');
    const quiet = await submitFunded('echo two');
    await finalJob(disputed);
    const q = await finalJob(quiet);
    await settledOnChain(disputed);
    await settledOnChain(quiet);
    const d = await cli(['console', 'jobs', 'dispute', disputed, '--reason', 'not what I asked for'], { env: ann(), timeoutMs: 60_000 });
    expect(d.code, d.output).toBe(0);
    expect(await escrowOf(disputed)).toMatchObject({ state: 'disputed', amount: 600n });
    const buyer0 = await balance(buyerKey.address);
    const payee0 = await balance(chain.escrowPayee);
    await increaseTime(provider, 86_400n + 60n);
    const dev = new NonceManager(await provider.getSigner(0));
    await expect(escrowAt(chain.escrow, dev).release.staticCall(chain.escrowPayee, buyerKey.address, escrowJobId(disputed))).rejects.toThrow();
    await (await escrowAt(chain.escrow, dev).release(chain.escrowPayee, buyerKey.address, escrowJobId(quiet))).wait();
    const billed = billedBy(q);
    expect(await balance(chain.escrowPayee)).toBe(payee0 + billed);
    expect(await balance(buyerKey.address)).toBe(buyer0 + 600n - billed);
    expect((await escrowOf(disputed)).state).toBe('disputed'); // still frozen for the DAO
  });

  it('a cancel before the deposit covers the job refunds what was deposited; a cancelled running job pays only the seconds it ran', async () => {
    const buyer0 = await balance(buyerKey.address);
    const sub = await cli(['console', 'jobs', 'submit', '--image', engine.images.local, '--bid', '5', '--timeout', '60s', '--replicas', '2', '--json', '--', 'true'], { env: ann(), timeoutMs: 60_000 });
    const waiting = (JSON.parse(sub.stdout) as { jobId: string }).jobId;
    await waitFor('awaiting-funds', async () => (await show(waiting)).reason?.startsWith('awaiting-funds'), 30_000, 300);
    const part = await cli(['console', 'jobs', 'fund', waiting, '--amount', '250'], { env: ann(), timeoutMs: 60_000 });
    expect(part.code, part.output).toBe(0);
    expect(part.stdout).toContain('awaiting funds');
    expect((await cli(['console', 'jobs', 'cancel', waiting], { env: ann(), timeoutMs: 30_000 })).code).toBe(0);
    expect(await settledOnChain(waiting)).toMatchObject({ state: 'closed', amount: 250n });
    expect(await balance(buyerKey.address)).toBe(buyer0);

    const running = await submitFunded('sleep 600');
    await waitFor('both replicas running', async () => (await show(running)).runs.filter((r) => r.state === 'running').length === 2, 90_000, 500);
    expect((await cli(['console', 'jobs', 'cancel', running], { env: ann(), timeoutMs: 30_000 })).code).toBe(0);
    const e = await settledOnChain(running);
    expect(e.state).toBe('settled');
    expect(e.billed).toBeLessThan(600n);
    const c = await cli(['console', 'jobs', 'confirm', running], { env: ann(), timeoutMs: 60_000 });
    expect(c.code, c.output).toBe(0);
    expect(await balance(buyerKey.address)).toBe(buyer0 - e.billed);
  });
});
