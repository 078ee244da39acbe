// The agent's preference among several configured hubs (agent/src/trust/choose.ts), with real processes:
// two built `sosna hub`s on one test-owned chain (both whitelisted, registered and funded), hub B paying
// more per CPU-second on its signed card than hub A. The agent (the bundle) is configured with both; it
// surveys them before provisioning and joins B, saying why (the ranking) in its log and on the dashboard.
// Then the DAO suspects B's wallet and B restarts: the agent refuses B on its reconnect and moves to A,
// where it appears online.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { hubWalletAt, proposeCall } from '@sosna/contracts';
import { cli, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { ether, prepareHub, startChainFixture } from './chain-fixture.js';
import type { ChainFixture, HubOnChain } from './chain-fixture.js';

const tmp = tempDir('sosna-hub-pref-');
const password = 'pref-test-password';
const PRICE_A = '1000000000';
const PRICE_B = '5000000000';
let fx: ChainFixture;
const procs: Proc[] = [];
let agent: Proc;
let dashboard: string;
let cookie: string;

interface HubRun { on: HubOnChain; port: number; config: string; proc: Proc | null; id: string }
const hubs: { a?: HubRun; b?: HubRun } = {};

async function startHub(h: HubRun): Promise<void> {
  h.proc = start([...h.on.hubArgs(h.port), '--config', h.config]);
  procs.push(h.proc);
  h.id = (await h.proc.waitFor(/hub (\S+) ready/, 60_000))[1]!;
}

interface Device { id: string; online: boolean; refused?: { reason: string } | null }
async function devices(h: HubRun): Promise<Device[]> {
  const r = await cli(['console', 'devices', '--json'], { env: { SOSNA_PROFILE: join(h.on.hubDir, 'console.json') }, timeoutMs: 60_000 });
  expect(r.code, r.output).toBe(0);
  return JSON.parse(r.stdout) as Device[];
}

interface Overview {
  device: {
    hubId: string; hubUrl: string; connected: boolean;
    hubChoice: { hubId: string; url: string; why: string; ranking: { hubId: string; price: string | null }[]; refused: { hubId: string; reasons: string[] }[] } | null;
  };
}
async function overview(): Promise<Overview> {
  const r = await fetch(`${dashboard}/api/overview`, { headers: { cookie } });
  expect(r.status).toBe(200);
  return (await r.json()) as Overview;
}

function agentSays(pattern: RegExp, from: number, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  return waitFor(`agent output ${pattern}`, () => agent.output().slice(from).match(pattern), timeoutMs);
}

beforeAll(async () => {
  requireBuild();
  const [portA, portB] = [await freePort(), await freePort()];
  fx = await startChainFixture(join(tmp.dir, 'a'), { endpoint: `mqtt://127.0.0.1:${portA}` });
  const onB = await prepareHub(fx.chain, join(tmp.dir, 'b'), { endpoint: `mqtt://127.0.0.1:${portB}` });
  hubs.a = { on: fx, port: portA, config: writeJson(join(tmp.dir, 'a', 'hub.json'), { name: 'hub A', prices: { cpu: PRICE_A } }), proc: null, id: '' };
  hubs.b = { on: onB, port: portB, config: writeJson(join(tmp.dir, 'b', 'hub.json'), { name: 'hub B', prices: { cpu: PRICE_B } }), proc: null, id: '' };
  await Promise.all([startHub(hubs.a), startHub(hubs.b)]);
  const keys = await Promise.all([hubs.a, hubs.b].map((h) => cli(['hub', 'keys', 'create', '--fleet', 'pref', '--data-dir', h.on.hubDir], { timeoutMs: 60_000 })));
  for (const k of keys) expect(k.code, k.output).toBe(0);
  const config = writeJson(join(tmp.dir, 'rig', 'config.json'), {
    hub: { url: `mqtt://127.0.0.1:${portA}` }, provisioningKey: keys[0]!.stdout.trim(),
    hubs: [{ url: `mqtt://127.0.0.1:${portB}`, provisioningKey: keys[1]!.stdout.trim() }],
    name: 'rig', stateDir: join(tmp.dir, 'rig', 'state'), owner: Wallet.createRandom().address,
    mqtt: { reconnectMinMs: 200, reconnectMaxMs: 1000 },
    chain: { rpcUrl: fx.chain.anvil.url, whitelist: fx.chain.deployment.addresses.whitelist, minAvailableWei: (100n * ether).toString() },
    dashboard: { host: '127.0.0.1', port: 0, password },
    jobs: { enabled: false },
  });
  agent = start([installBundle(join(tmp.dir, 'device-bin')), '--config', config], { cwd: join(tmp.dir, 'device-bin') });
  procs.push(agent);
  dashboard = (await agent.waitFor(/dashboard listening url=(http:\/\/127\.0\.0\.1:\d+)/, 90_000))[1]!;
  const login = await fetch(`${dashboard}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
  expect(login.status).toBe(200);
  cookie = login.headers.get('set-cookie')!.split(';')[0]!;
}, 180_000);

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  await fx?.stop();
  tmp.cleanup();
});

const SLOW = 150_000;

describe('the agent prefers the best acceptable hub among those configured', () => {
  it('surveys both hubs before provisioning, joins the one that pays more and says why', async () => {
    const { a, b } = hubs as Required<typeof hubs>;
    const chose = await agentSays(/chose hub (\S+) at (\S+) \(first provisioning\): (.*)/, 0);
    expect(chose[1]).toBe(b.id);
    expect(chose[2]).toBe(`mqtt://127.0.0.1:${b.port}`);
    expect(chose[3]).toMatch(new RegExp(`^1\\. ${b.id} \\(listed, pays ${PRICE_B} wei/s.*\\| 2\\. ${a.id} \\(listed, pays ${PRICE_A} wei/s`));
    await agentSays(new RegExp(`online .*hubId=${b.id}`), 0);
    const onB = await waitFor('the device online at hub B', async () => ((await devices(b)).find((d) => d.online) ? devices(b) : null), 60_000);
    expect(onB).toHaveLength(1);
    expect(await devices(a)).toEqual([]); // hub A was only read, never joined
    const o = await overview();
    expect(o.device).toMatchObject({ hubId: b.id, hubUrl: `mqtt://127.0.0.1:${b.port}`, connected: true });
    expect(o.device.hubChoice).toMatchObject({ hubId: b.id, why: 'first provisioning', ranking: [{ hubId: b.id, price: PRICE_B }, { hubId: a.id, price: PRICE_A }], refused: [] });
  }, SLOW);

  it('moves to the other hub when its hub fails the trust check on a reconnect (DAO suspects its wallet)', async () => {
    const { a, b } = hubs as Required<typeof hubs>;
    const member = fx.chain.signers[0]!; // the deployer is the DAO's member
    await proposeCall(fx.chain.deployment.dao.connect(member), member, hubWalletAt(b.on.wallet, member), 'suspect', [], { fastForward: fx.chain.provider });
    const mark = agent.output().length;
    await b.proc!.stop();
    await startHub(b);
    await agentSays(new RegExp(`refusing hub ${b.id}: wallet ${b.on.wallet} is Suspected, not Registered`), mark);
    const chose = await agentSays(new RegExp(`chose hub (\\S+) at \\S+ \\(hub ${b.id} refused: [^)]*Suspected[^)]*\\): (.*)`), mark);
    expect(chose[1]).toBe(a.id);
    expect(chose[2]).toMatch(new RegExp(`^1\\. ${a.id} .*\\| ${b.id} refused: wallet ${b.on.wallet} is Suspected, not Registered`));
    await agentSays(new RegExp(`moving from hub ${b.id} to hub ${a.id}`), mark);
    await agentSays(new RegExp(`online .*hubId=${a.id}`), mark);
    const onA = await waitFor('the device online at hub A', async () => {
      const d = await devices(a);
      return d.some((x) => x.online) ? d : null;
    }, 60_000);
    expect(onA).toHaveLength(1);
    expect(onA[0]).toMatchObject({ online: true, refused: null });
    // the device answers with the id hub A gave it (not the one from hub B)
    const info = await cli(['console', 'call', onA[0]!.id, 'system.info'], { env: { SOSNA_PROFILE: join(a.on.hubDir, 'console.json') }, timeoutMs: 60_000 });
    expect(info.code, info.output).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ deviceId: onA[0]!.id });
    const atB = await devices(b);
    expect(atB[0]).toMatchObject({ online: false, refused: { reason: expect.stringContaining('Suspected') } });
    const o = await overview();
    expect(o.device).toMatchObject({ hubId: a.id, hubUrl: `mqtt://127.0.0.1:${a.port}`, connected: true });
    expect(o.device.hubChoice).toMatchObject({ hubId: a.id, ranking: [{ hubId: a.id }], refused: [{ hubId: b.id, reasons: [expect.stringContaining('Suspected')] }] });
    expect(o.device.hubChoice!.why).toContain(`hub ${b.id} refused`);
  }, SLOW);
});
