// The agent checks its hub on EVERY connection, not only at provisioning (agent/src/trust/gate.ts), with
// real processes: the built `sosna hub` on a chain this test owns, the agent bundle, the console CLI.
// The hub's wallet becomes underfunded (a real payout), is funded again, then is suspected by the DAO;
// each time the agent's next connection decides, and a refusal shows with its reason in the agent's log,
// in `sosna console devices` (text and --json) and on the device dashboard's overview API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Wallet } from 'ethers';
import { confirm, hubWalletAt, proposeCall } from '@sosna/contracts';
import { cli, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { ether, startChainFixture } from './chain-fixture.js';
import type { ChainFixture } from './chain-fixture.js';

const tmp = tempDir('sosna-trust-reconnect-');
const minAvailable = 500n * ether;
const password = 'trust-test-password';
let fx: ChainFixture;
let port: number;
let hub: Proc | null = null;
let agent: Proc;
let dashboard: string;
let cookie: string;
const procs: Proc[] = [];
const profile = () => ({ SOSNA_PROFILE: join(fx.hubDir, 'console.json') });

async function startHub(): Promise<void> {
  hub = start(fx.hubArgs(port));
  procs.push(hub);
  await hub.waitFor(/hub \S+ ready/, 60_000);
}

/** A reconnect for the agent: the hub process goes away and comes back on the same data directory. */
async function restartHub(): Promise<void> {
  await hub!.stop();
  await startHub();
}

/** Waits for `pattern` in the agent's output printed after `from` (an earlier length of its output). */
function agentSays(pattern: RegExp, from: number, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  return waitFor(`agent output ${pattern}`, () => agent.output().slice(from).match(pattern), timeoutMs);
}

interface Device { id: string; online: boolean; refused?: { reason: string; at: number } | null }
async function devices(): Promise<{ json: Device[]; text: string }> {
  const j = await cli(['console', 'devices', '--json'], { env: profile(), timeoutMs: 60_000 });
  expect(j.code, j.output).toBe(0);
  const t = await cli(['console', 'devices'], { env: profile(), timeoutMs: 60_000 });
  expect(t.code, t.output).toBe(0);
  return { json: JSON.parse(j.stdout) as Device[], text: t.stdout };
}

async function overview(): Promise<{ device: { connected: boolean; hubTrust: { state: string; reason: string | null } | null }; health: { checks: { name: string; level: string; detail: string }[] } }> {
  const r = await fetch(`${dashboard}/api/overview`, { headers: { cookie } });
  expect(r.status).toBe(200);
  return (await r.json()) as never;
}

beforeAll(async () => {
  requireBuild();
  port = await freePort();
  fx = await startChainFixture(tmp.dir, { funding: 1_000n * ether, endpoint: `mqtt://127.0.0.1:${port}` });
  await startHub();
  const key = await cli(['hub', 'keys', 'create', '--fleet', 'trust', '--data-dir', fx.hubDir], { timeoutMs: 60_000 });
  expect(key.code, key.output).toBe(0);
  const config = writeJson(join(tmp.dir, 'rig', 'config.json'), {
    hub: { url: `mqtt://127.0.0.1:${port}` }, provisioningKey: key.stdout.trim(), name: 'rig', stateDir: join(tmp.dir, 'rig', 'state'),
    owner: Wallet.createRandom().address,
    mqtt: { reconnectMinMs: 200, reconnectMaxMs: 1000 },
    chain: { rpcUrl: fx.chain.anvil.url, whitelist: fx.chain.deployment.addresses.whitelist, minAvailableWei: minAvailable.toString() },
    dashboard: { host: '127.0.0.1', port: 0, password },
    jobs: { enabled: false },
  });
  agent = start([installBundle(join(tmp.dir, 'device-bin')), '--config', config], { cwd: join(tmp.dir, 'device-bin') });
  procs.push(agent);
  dashboard = (await agent.waitFor(/dashboard listening url=(http:\/\/127\.0\.0\.1:\d+)/, 60_000))[1]!;
  const login = await fetch(`${dashboard}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
  expect(login.status).toBe(200);
  cookie = login.headers.get('set-cookie')!.split(';')[0]!;
}, 120_000);

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  await fx?.stop();
  tmp.cleanup();
});

const SLOW = 120_000; // real processes on a shared machine: each CLI call starts Node

describe('the agent checks the hub on every connection', () => {
  it('accepts a solvent, registered, whitelisted hub: online, trusted on the dashboard', async () => {
    await agent.waitFor(/hub checked .*trust=trusted/, 30_000);
    await agent.waitFor(/ online /, 30_000);
    const { json } = await devices();
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ online: true, refused: null });
    const o = await overview();
    expect(o.device.hubTrust).toMatchObject({ state: 'trusted', reason: null });
    expect(o.health.checks).toContainEqual(expect.objectContaining({ name: 'hub trust', level: 'ok' }));
  }, SLOW);

  it('refuses the hub on the next reconnect once its wallet cannot pay the minimum, and says why everywhere', async () => {
    // a real payout: 600 SNM approved (plus the 30% lock) leaves less than the 500 SNM the device asks for
    const db = new Database(join(fx.hubDir, 'hub.db'));
    db.prepare('INSERT INTO earnings (job_id, device_id, run_id, owner, seconds, price, amount, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run('job-trust-1', 'dev-x', 'run-1', Wallet.createRandom().address, 600, '1', (600n * ether).toString(), Date.now());
    db.close();
    const run = await cli(['console', 'payouts', 'run', '--json'], { env: profile(), timeoutMs: 60_000 });
    expect(run.code, run.output).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'paid' });
    const available = (await hubWalletAt(fx.wallet, fx.chain.provider).available()) as bigint;
    expect(available).toBeLessThan(minAvailable);

    const mark = agent.output().length;
    await restartHub();
    await agentSays(new RegExp(`refusing hub \\S+: wallet ${fx.wallet} can pay out ${available} wei, less than the required ${minAvailable}`), mark);
    const reason = `wallet ${fx.wallet} can pay out ${available} wei, less than the required ${minAvailable}`;
    const { json, text } = await waitFor('the console to show the refusal', async () => {
      const d = await devices();
      return d.json[0]?.refused ? d : null;
    }, 60_000);
    expect(json[0]).toMatchObject({ online: false, refused: { reason } });
    expect(text).toContain(`refused: ${reason}`);
    const o = await overview();
    expect(o.device).toMatchObject({ connected: false, hubTrust: { state: 'refused', reason } });
    expect(o.health.checks).toContainEqual({ name: 'hub trust', level: 'error', detail: `refused: ${reason}` });
  }, SLOW);

  it('accepts it again on a later reconnect once the wallet is funded (it keeps checking with backoff)', async () => {
    const mark = agent.output().length;
    const token = fx.chain.deployment.token.connect(fx.chain.signers[0]!);
    await confirm(token.mint(fx.wallet, 1_000n * ether));
    await agentSays(/hub checked .*trust=trusted/, mark);
    await agentSays(/ online /, mark);
    const d = await waitFor('the console to show the device online', async () => {
      const r = await devices();
      return r.json[0]?.online ? r : null;
    }, 60_000);
    expect(d.json[0]!.refused).toBeNull();
    expect(d.text).not.toContain('refused:');
    expect((await overview()).device.hubTrust?.state).toBe('trusted');
  }, SLOW);

  it('refuses it on the next reconnect after the DAO suspects its wallet', async () => {
    const member = fx.chain.signers[0]!; // the deployer is the DAO's member
    await proposeCall(fx.chain.deployment.dao.connect(member), member, hubWalletAt(fx.wallet, member), 'suspect', [], { fastForward: fx.chain.provider });
    const mark = agent.output().length;
    await restartHub();
    await agentSays(/refusing hub \S+: wallet \S+ is Suspected, not Registered/, mark);
    const { json, text } = await waitFor('the console to show the refusal', async () => {
      const d = await devices();
      return d.json[0]?.refused ? d : null;
    }, 60_000);
    expect(json[0]!.refused!.reason).toContain(`wallet ${fx.wallet} is Suspected, not Registered`);
    expect(json[0]!.online).toBe(false);
    expect(text).toMatch(/refused: wallet 0x[0-9a-fA-F]{40} is Suspected, not Registered/);
    expect((await overview()).device.hubTrust).toMatchObject({ state: 'refused', reason: expect.stringContaining('Suspected') });
  }, SLOW);
});
