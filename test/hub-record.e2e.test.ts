// Hubs judged by their record (issue 16 item 4, whitepaper 2.4.4), with real processes: two built `sosna
// hub`s on one test-owned chain (anvil, the real contracts). Hub A's wallet has paid its miners every day
// for four days (real HubWallet transfers, the chain clock moved with evm_increaseTime); hub B's has never
// paid anyone, though its signed card offers five times A's price. The agent (the bundle), configured with
// B first, reads both wallets' payout history from the chain logs, joins A, and says why in its log and on
// its dashboard: the record's standing, count, average amount, gaps, time since the last payout, age.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Wallet } from 'ethers';
import { confirm, hubWalletAt, increaseTime } from '@sosna/contracts';
import { cli, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { ether, prepareHub, startChainFixture } from './chain-fixture.js';
import type { ChainFixture, HubOnChain } from './chain-fixture.js';

const tmp = tempDir('sosna-hub-record-');
const password = 'record-test-password';
const PRICE_A = '1000000000';
const PRICE_B = '5000000000';
const DAY = 86_400n;
const CHROMIUM = '/usr/bin/chromium';
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

interface RecordView { standing: string; payouts: number; miners: number; total: string; average: string; typicalGapSec: number | null; maxGapSec: number | null; sinceLastSec: number | null; ageSec: number | null; suspicions: number; banned: boolean; summary: string }
interface Overview {
  device: { hubId: string; connected: boolean; hubChoice: { hubId: string; ranking: { hubId: string; price: string | null; record?: RecordView | null }[] } | null };
}

beforeAll(async () => {
  requireBuild();
  const [portA, portB] = [await freePort(), await freePort()];
  fx = await startChainFixture(join(tmp.dir, 'a'), { endpoint: `mqtt://127.0.0.1:${portA}` });
  const onB = await prepareHub(fx.chain, join(tmp.dir, 'b'), { endpoint: `mqtt://127.0.0.1:${portB}` });
  // hub A's record: a payout a day for four days, the last one an hour ago (chain time)
  const walletA = hubWalletAt(fx.wallet, fx.owner);
  for (let i = 0; i < 4; i++) {
    await increaseTime(fx.chain.provider, DAY);
    await confirm(walletA.transfer(Wallet.createRandom().address, 2n * ether));
  }
  await increaseTime(fx.chain.provider, 3_600n);
  hubs.a = { on: fx, port: portA, config: writeJson(join(tmp.dir, 'a', 'hub.json'), { name: 'hub A', prices: { cpu: PRICE_A } }), proc: null, id: '' };
  hubs.b = { on: onB, port: portB, config: writeJson(join(tmp.dir, 'b', 'hub.json'), { name: 'hub B', prices: { cpu: PRICE_B } }), proc: null, id: '' };
  await Promise.all([startHub(hubs.a), startHub(hubs.b)]);
  const keys = await Promise.all([hubs.a, hubs.b].map((h) => cli(['hub', 'keys', 'create', '--fleet', 'rec', '--data-dir', h.on.hubDir], { timeoutMs: 60_000 })));
  for (const k of keys) expect(k.code, k.output).toBe(0);
  const config = writeJson(join(tmp.dir, 'rig', 'config.json'), {
    hub: { url: `mqtt://127.0.0.1:${portB}` }, provisioningKey: keys[1]!.stdout.trim(),
    hubs: [{ url: `mqtt://127.0.0.1:${portA}`, provisioningKey: keys[0]!.stdout.trim() }],
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

describe('the agent judges hubs by their wallets’ payout record', () => {
  it('joins the hub that pays its miners regularly over the one that offers more but never paid, and says why', async () => {
    const { a, b } = hubs as Required<typeof hubs>;
    const chose = await waitFor('the agent’s hub choice', () => agent.output().match(/chose hub (\S+) at (\S+) \(first provisioning\): (.*)/), 90_000);
    expect(chose[1]).toBe(a.id);
    expect(chose[3]).toMatch(new RegExp(
      `^1\\. ${a.id} \\(listed, pays ${PRICE_A} wei/s, .*record regular: 4 payouts to 4 miners, avg 2000000000000000000 wei, every ~1d \\(longest gap 1d\\), last 1h ago, wallet 4d old\\)`
      + ` \\| 2\\. ${b.id} \\(listed, pays ${PRICE_B} wei/s, .*record none: no payouts, wallet \\d+[smhd] old\\)$`,
    ));
    await waitFor('the agent online at hub A', () => agent.output().match(new RegExp(`online .*hubId=${a.id}`)), 60_000);
    const r = await fetch(`${dashboard}/api/overview`, { headers: { cookie } });
    expect(r.status).toBe(200);
    const o = (await r.json()) as Overview;
    expect(o.device).toMatchObject({ hubId: a.id, connected: true });
    const [first, second] = o.device.hubChoice!.ranking;
    expect(first).toMatchObject({ hubId: a.id, price: PRICE_A, record: { standing: 'regular', payouts: 4, miners: 4, total: (8n * ether).toString(), average: (2n * ether).toString(), suspicions: 0, banned: false } });
    expect(Math.abs(first!.record!.typicalGapSec! - 86_400)).toBeLessThan(300);
    expect(first!.record!.sinceLastSec).toBeGreaterThanOrEqual(3_600);
    expect(first!.record!.ageSec).toBeGreaterThanOrEqual(4 * 86_400);
    expect(first!.record!.summary).toMatch(/^regular: 4 payouts/);
    expect(second).toMatchObject({ hubId: b.id, price: PRICE_B, record: { standing: 'none', payouts: 0, total: '0', typicalGapSec: null, sinceLastSec: null } });
  }, 150_000);

  it('shows each hub’s record in the hub-choice card of the dashboard (headless Chromium)', async () => {
    const { a, b } = hubs as Required<typeof hubs>;
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/test-deps/browser.sh (npm test does)`);
    const context = await chromium.launchPersistentContext(join(tmp.dir, 'chromium-profile'), {
      executablePath: CHROMIUM, headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const [name, value] = cookie.split('=') as [string, string];
      await context.addCookies([{ name, value, url: dashboard }]);
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${dashboard}/`);
      const card = page.getByTestId('hub-choice');
      await card.waitFor({ timeout: 30_000 });
      const items = await card.locator('li').allTextContents();
      expect(items).toHaveLength(2);
      expect(items[0]).toContain(a.id);
      expect(items[0]).toMatch(/record regular: 4 payouts to 4 miners, avg 2000000000000000000 wei, every ~1d \(longest gap 1d\), last \d+h ago, wallet 4d old/);
      expect(items[1]).toContain(b.id);
      expect(items[1]).toMatch(/record none: no payouts/);
    } finally {
      await context.close();
    }
  }, 90_000);
});
