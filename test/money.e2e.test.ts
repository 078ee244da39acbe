// Money end to end with real processes: `sosna hub` on its embedded chain, agents that check the hub on
// chain before they join, payouts through the console, and an owner claiming with `sosna wallet`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsonRpcProvider, Wallet } from 'ethers';
import Database from 'better-sqlite3';
import { attachDeployment, hubWalletAt, proposeCall } from '@sosna/contracts';
import { CLI, cli, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { sampleValue, scrapeAndCheck } from './promtool.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('sosna-money-');
const hubDir = join(tmp.dir, 'hub');
let port: number;
let hub: Proc;
let bundle: string;
let runtime: { chain: { rpcUrl: string; chainId: number; wallet: string; whitelist: string } };
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });
const agents: Proc[] = [];

async function newKey(): Promise<string> {
  const r = await cli(['hub', 'keys', 'create', '--fleet', 'money', '--data-dir', hubDir]);
  expect(r.code, r.output).toBe(0);
  return r.stdout.trim();
}

function startAgent(name: string, key: string, extra: Record<string, unknown> = {}): Proc {
  const config = writeJson(join(tmp.dir, name, 'config.json'), {
    hub: { url: `mqtt://127.0.0.1:${port}` }, provisioningKey: key, name, stateDir: join(tmp.dir, name, 'state'),
    mqtt: { reconnectMinMs: 200, reconnectMaxMs: 1000 },
    chain: { rpcUrl: runtime.chain.rpcUrl, whitelist: runtime.chain.whitelist },
    ...extra,
  });
  const p = start([bundle, '--config', config], { cwd: join(tmp.dir, 'device-bin') });
  agents.push(p);
  return p;
}

beforeAll(async () => {
  requireBuild();
  port = await freePort();
  bundle = installBundle(join(tmp.dir, 'device-bin'));
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1']);
  await hub.waitFor(/hub \S+ ready/, 60_000);
  runtime = JSON.parse(readFileSync(join(hubDir, 'runtime.json'), 'utf8'));
}, 90_000);

afterAll(async () => {
  for (const a of agents) await a.stop('SIGKILL');
  await hub?.stop();
  tmp.cleanup();
});

describe('agents trust only solvent, whitelisted hubs', () => {
  it('an agent accepts the hub: whitelisted, registered, funded, card signed by its owner', async () => {
    const a = startAgent('good', await newKey(), { owner: Wallet.createRandom().address });
    await a.waitFor(/hub checked on chain/, 30_000);
    await a.waitFor(/ online /, 30_000);
  });

  it('refuses a hub whose wallet cannot pay the minimum it asks for', async () => {
    const a = startAgent('picky', await newKey(), { chain: { rpcUrl: runtime.chain.rpcUrl, whitelist: runtime.chain.whitelist, minAvailableWei: (10n ** 40n).toString() } });
    await a.waitFor(/refusing hub \S+: .*less than the required/, 30_000);
  });

  it('refuses a hub card signed by someone other than the owner it expects', async () => {
    const a = startAgent('pinned', await newKey(), { hub: { url: `mqtt://127.0.0.1:${port}`, owner: Wallet.createRandom().address } });
    await a.waitFor(/refusing hub .*is not the expected/, 30_000);
  });

  it('pays owners through the console and they claim with sosna wallet', async () => {
    const owner = Wallet.createRandom();
    // what the jobs scheduler writes when a job finishes (the jobs tests cover that part)
    const db = new Database(join(hubDir, 'hub.db'));
    db.prepare('INSERT INTO earnings (job_id, device_id, run_id, owner, seconds, price, amount, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run('job-money-1', 'dev-x', 'run-1', owner.address, 100, '1000000000000000', '100000000000000000', Date.now());
    db.close();
    const run = await cli(['console', 'payouts', 'run', '--json'], { env: profile(), timeoutMs: 120_000 });
    expect(run.code, run.output).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'paid', owners: 1, total: '100000000000000000' });
    const ls = await cli(['console', 'payouts', 'ls'], { env: profile() });
    expect(ls.stdout).toMatch(/paid\s+1\s+0\.1/);
    const show = await cli(['wallet', 'show', owner.address, '--data-dir', hubDir]);
    expect(show.stdout).toContain('can claim 0.1 SNM');
    // the owner needs gas: the embedded chain's first dev account sends some
    const provider = new JsonRpcProvider(runtime.chain.rpcUrl, undefined, { batchMaxCount: 1, staticNetwork: true });
    await (await (await provider.getSigner(0)).sendTransaction({ to: owner.address, value: 10n ** 17n })).wait();
    const keyFile = join(tmp.dir, 'owner.key');
    writeFileSync(keyFile, owner.privateKey, { mode: 0o600 });
    const claim = await cli(['wallet', 'claim', '--key-file', keyFile, '--data-dir', hubDir], { timeoutMs: 60_000 });
    expect(claim.code, claim.output).toBe(0);
    expect(claim.stdout).toContain('claimed 0.1 SNM');
    const again = await cli(['console', 'payouts', 'run', '--json'], { env: profile(), timeoutMs: 120_000 });
    expect(JSON.parse(again.stdout)).toBeNull(); // paid once
  });

  it('earnings of a device without a wallet are paid once it names one; amounts show exactly; empty rounds say why', async () => {
    const owner = Wallet.createRandom();
    // a device of fleet "money" that named no owner earned 4,000 wei (the README's --bid 1000 for 4 s)
    const db = new Database(join(hubDir, 'hub.db'));
    db.prepare('INSERT INTO devices (id, name, fleet, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)').run('rig-late-x1', 'rig-late', 'money', 'x', Date.now());
    db.prepare('INSERT INTO earnings (job_id, device_id, run_id, owner, seconds, price, amount, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run('job-money-2', 'rig-late-x1', 'run-2', 'money', 4, '1000', '4000', Date.now());
    const first = await cli(['console', 'payouts', 'run'], { env: profile(), timeoutMs: 120_000 });
    expect(first.code, first.output).toBe(0);
    expect(first.stdout).toMatch(/no payout sent: .*have earnings but no wallet address: 'money' \(4,000 wei; device rig-late-x1\).*"owner"/);
    const chain = await cli(['console', 'chain'], { env: profile() });
    expect(chain.stdout).toMatch(/no wallet\s+0\.000000000000004 SNM/);
    // it comes back naming its owner's wallet (what its birth records)
    db.prepare('UPDATE devices SET inventory = ? WHERE id = ?').run(JSON.stringify({ owner: owner.address }), 'rig-late-x1');
    db.close();
    const paid = await cli(['console', 'payouts', 'run'], { env: profile(), timeoutMs: 120_000 });
    expect(paid.code, paid.output).toBe(0);
    expect(paid.stdout).toMatch(/^paid: 1 owner\(s\), 0\.000000000000004 SNM/);
    const show = await cli(['wallet', 'show', owner.address, '--data-dir', hubDir]);
    expect(show.stdout).toContain('can claim 0.000000000000004 SNM');
    const again = await cli(['console', 'payouts', 'run'], { env: profile(), timeoutMs: 120_000 });
    expect(again.stdout).toContain('no payout sent: nothing is owed: all earnings already paid');
  });

  it("the hub's /metrics agrees with payouts ls: batches by status, failures, the total paid", async () => {
    const ls = await cli(['console', 'payouts', 'ls', '--json', '--limit', '1000'], { env: profile() });
    expect(ls.code, ls.output).toBe(0);
    const batches = JSON.parse(ls.stdout) as { status: string; total: string }[];
    const r = await scrapeAndCheck((JSON.parse(readFileSync(join(hubDir, 'runtime.json'), 'utf8')) as { metricsUrl: string }).metricsUrl);
    expect(r.code, r.output).toBe(0);
    for (const s of ['planned', 'signed', 'paid', 'failed', 'unknown']) expect(sampleValue(r.text, 'sosna_hub_payout_batches', { status: s }), s).toBe(batches.filter((b) => b.status === s).length);
    expect(sampleValue(r.text, 'sosna_hub_payout_batches', { status: 'paid' })).toBe(2);
    expect(sampleValue(r.text, 'sosna_hub_payout_failures_total')).toBe(batches.filter((b) => b.status === 'failed' || b.status === 'unknown').length);
    const paid = batches.filter((b) => b.status === 'paid').reduce((sum, b) => sum + BigInt(b.total), 0n);
    expect(paid).toBe(100000000000004000n);
    expect(sampleValue(r.text, 'sosna_hub_paid_wei_total')).toBe(Number(paid)); // a float: the exact amount is the console's
  });

  it('refuses a hub whose wallet the DAO suspects', async () => {
    const provider = new JsonRpcProvider(runtime.chain.rpcUrl, undefined, { batchMaxCount: 1, staticNetwork: true });
    const contracts = JSON.parse(readFileSync(join(hubDir, 'contracts.json'), 'utf8'));
    const member = await provider.getSigner(0); // the embedded chain's deployer is the DAO's member
    const d = attachDeployment(contracts, member);
    await proposeCall(d.dao, member, hubWalletAt(contracts.wallet, member), 'suspect', [], { fastForward: provider });
    const a = startAgent('wary', await newKey());
    await a.waitFor(/refusing hub \S+: .*Suspected, not Registered/, 30_000);
  });
});
