// The rig earnings card of the device dashboard in a real headless Chromium: an in-process dashboard
// (agent/src/dashboard, the built UI from agent/dist/dashboard-ui/) whose rig-earnings source is a real
// RigLedger in a private state directory, filled the way the agent fills it (app.ts): the fake xmrig (a real
// process, test/fake-miner.ts) mines on two GPUs under MiningRig, each telemetry tick is
// ProfitSwitch.observe -> RigLedger.observe with what the running runs pay (RunGpus), a run that pays less
// than mining is refused by ProfitSwitch.admit and recorded, one that pays more is placed on a GPU, takes
// it from the miner, runs and ends. The clock of the profit switch and the ledger is the test's (minutes
// pass at once). First the empty ledger's card, then mining beside compute per interval and the decisions.
// Screenshots: test-results/screenshots/.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { DeviceConfig, JobSpec, MiningConfig, silentLogger } from '@sosna/protocol';
import type { DeviceJob } from '@sosna/protocol';
import { startDashboard } from '../agent/src/dashboard/index.js';
import type { Dashboard } from '../agent/src/dashboard/index.js';
import { MiningRig, ProfitSwitch, RigLedger, RunGpus, type RigGpu } from '../agent/src/mining/index.js';
import { makeFakeMiner, type FakeMiner } from './fake-miner.js';
import { freePort, requireBuild, ROOT } from './procs.js';
import { tempDir, waitFor } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const tmp = tempDir('sosna-dash-rig-');
let miner: FakeMiner;
let rig: MiningRig;
let dash: Dashboard;
let context: BrowserContext;
let page: Page;
let url: string;
let ledger: RigLedger;
let clock = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000; // a minute boundary, ten minutes ago
const codes: string[] = [];
const shot = (name: string) => page.screenshot({ path: join(SHOTS, `dashboard-${name}.png`), fullPage: true });

function builtAssets() {
  const uiDir = join(ROOT, 'agent', 'dist', 'dashboard-ui');
  const types: Record<string, string> = { js: 'text/javascript', css: 'text/css', html: 'text/html' };
  return Object.fromEntries(
    ['index.html', ...readdirSync(join(uiDir, 'assets')).map((f) => `assets/${f}`)].map((f) => {
      const bytes = readFileSync(join(uiDir, f));
      return [`/${f}`, { type: types[f.slice(f.lastIndexOf('.') + 1)] ?? 'application/octet-stream', gz: gzipSync(bytes).toString('base64'), etag: `"${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}"` }];
    }),
  );
}

beforeAll(async () => {
  requireBuild();
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/test-deps/browser.sh (npm test does)`);
  mkdirSync(SHOTS, { recursive: true });
  ledger = new RigLedger({ stateDir: tmp.dir, intervalSec: 60, now: () => clock });
  dash = await startDashboard({
    config: DeviceConfig.parse({ hub: { url: 'mqtt://127.0.0.1:1883' }, telemetry: { intervalSec: 10 }, dashboard: { host: '127.0.0.1', port: 0 } }),
    configPath: null, log: silentLogger, agentVersion: '0.1.0', env: {}, assets: builtAssets(), showCode: (c) => codes.push(c),
    sources: { rigEarnings: () => ledger.report(60) }, // as app.ts passes it
    status: () => ({
      deviceId: 'rig-08-x7k2ab', hubId: 'hub-8e3af89d', name: 'rig-08', hubUrl: 'mqtt://hub.example:1883', connected: true, benchmarks: null,
      inventory: { hostname: 'rig-08', platform: 'linux', arch: 'x64', os: { distro: 'sosna', release: '1', kernel: '6.1' }, cpu: { manufacturer: 'AMD', brand: 'Ryzen 5 5600X', cores: 12, physicalCores: 6, speedGHz: 3.7 }, memory: { totalBytes: 32 * 2 ** 30 } },
      hardware: { gpus: [0, 1].map((index) => ({ index, vendor: 'nvidia', name: 'NVIDIA GeForce RTX 3070', vramBytes: 8 * 2 ** 30, driver: '550.54.14', pciBusId: `0000:0${index + 1}:00.0` })), asics: [] },
    }),
  });
  url = `http://127.0.0.1:${dash.port}`;
  context = await chromium.launchPersistentContext(join(tmp.dir, 'chromium-profile'), {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${url}/`);
  await page.locator('#password').fill(codes[0]!);
  await page.locator('button[type=submit]').click();
  await page.waitForURL(`${url}/`);
}, 90_000);

afterAll(async () => {
  await context?.close();
  await dash?.stop();
  await rig?.stop();
  if (miner) await rm(miner.dir, { recursive: true, force: true });
  tmp.cleanup();
});

describe('the dashboard\'s rig earnings card', { timeout: 90_000 }, () => {
  it('with an empty ledger: says nothing is recorded yet, no totals, no rows, no decisions', async () => {
    await page.getByTestId('rig-earnings').waitFor();
    expect(await page.getByTestId('rig-earnings-empty').textContent()).toBe('nothing recorded yet: mining and compute revenue appear here per 60 s interval once the rig has mined or run a job');
    expect(await page.getByTestId('rig-mining-total').count()).toBe(0);
    expect(await page.getByTestId('rig-intervals').count()).toBe(0);
    expect(await page.getByTestId('rig-earnings').textContent()).toContain('no switching decisions yet');
    await shot('rig-earnings-empty');
  });

  it('shows mining beside compute per interval and the decisions, from a ledger the rig filled', async () => {
    miner = await makeFakeMiner();
    await miner.setRate({ total: 2_000_000, perGpu: 1_000_000 }); // 1 MH/s per GPU
    const gpus: RigGpu[] = [0, 1].map((i) => ({ index: i, vendorIndex: i, vendor: 'nvidia', state: 'ok' }));
    const sheet = MiningConfig.parse({
      miner: { id: 'xmrig', command: [miner.path, '--http-port', '{apiPort}', '--devices', '{gpus}', '--control', miner.control], api: { port: await freePort() } },
      algorithm: 'randomx', pool: 'p.example:1', wallet: 'w', gpus: [0, 1], statsIntervalSec: 1,
      // 1 MH/s x 1000 wei per MH: mining earns 1000 wei/s per GPU (no electricity price); a run must pay more than 1050
      profit: { revenueWeiPerMh: { randomx: '1000' }, askAtLeastMining: true, hysteresisSec: 0 },
    });
    const r = new MiningRig({ sheet, gpus, log: silentLogger, worker: 'rig' });
    rig = r;
    const placed = new Map<string, number[]>();
    const runs = new RunGpus({ gpus, gpusOf: (id) => placed.get(id), onChange: (held) => void r.setJobGpus(held) });
    const profit = new ProfitSwitch({ sheet, askPerSec: 1n, gpus, hashrate: (i) => r.gpuHashrate(i), jobGpus: () => runs.jobGpus(), now: () => clock });
    // one telemetry tick, `sec` later (app.ts: plan = profit.observe(metrics); ledger.observe(plan, compute per second))
    const tick = (sec: number) => {
      clock += sec * 1000;
      ledger.observe(profit.observe({}), runs.computePerSec());
    };
    const job = (n: number, bid: bigint): DeviceJob => ({ id: `j-rig${n}.0.0`, jobId: `j-rig${n}`, leaseSec: 30, issuedAt: clock, spec: JobSpec.parse({ image: 'busybox', bid, resources: { gpus: { count: 1 } } }) });

    r.start();
    await waitFor('the miner\'s per-GPU figures', async () => ((await r.poll())?.gpus.length === 2 ? true : null), 30_000, 100);
    tick(0);
    tick(60); // minute 1: both GPUs mine
    const cheap = job(1, 500n);
    const why = profit.admit(cheap);
    expect(why).toMatch(/this rig mines instead/);
    ledger.refused(cheap, why!); // as app.ts's admit does
    const rich = job(2, 5000n);
    expect(profit.admit(rich)).toBeNull();
    placed.set(rich.id, profit.place(rich)!.gpus);
    runs.update(rich, { state: 'running' }); // GPU 0 leaves mining
    await waitFor('the miner on GPU 1 only', async () => { const a = (await miner.starts()).at(-1)?.argv ?? []; return a[a.indexOf('--devices') + 1] === '1' && r.state === 'running' ? true : null; }, 30_000, 100);
    tick(60); // minute 2: GPU 0 runs the job (5000 wei/s), GPU 1 mines
    runs.update(rich, { state: 'succeeded' });
    tick(60); // minute 3: both mine again

    const report = ledger.report(60);
    // minute 1: 2 x 1000 wei/s x 60 s; minute 2: GPU 1's 1000 wei/s and the run's 5000 wei/s; minute 3: both mine
    expect(report.intervals.map((b) => [b.sec, b.miningWei, b.computeWei])).toEqual([[60, '120000', '0'], [60, '60000', '300000'], [60, '120000', '0']]);
    expect(report.totals).toEqual({ miningWei: '300000', computeWei: '300000', sec: 180 });

    await page.reload();
    await page.getByTestId('rig-intervals').waitFor();
    expect(await page.getByTestId('rig-earnings-empty').count()).toBe(0);
    expect(await page.getByTestId('rig-mining-total').textContent()).toBe('300000');
    expect(await page.getByTestId('rig-compute-total').textContent()).toBe('300000');
    const rows = await page.locator('[data-testid=rig-intervals] tbody tr').allTextContents();
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^\d\d:\d\d1200000$/); // newest first: time, mining, compute
    expect(rows[1]).toMatch(/^\d\d:\d\d60000300000$/);
    expect(rows[2]).toMatch(/^\d\d:\d\d1200000$/);
    const decisions = await page.getByTestId('rig-decisions').locator('li').allTextContents();
    expect(decisions.join('\n')).toMatch(/GPU 0: job → mine/);
    expect(decisions.join('\n')).toMatch(/GPU 0: mine → job/);
    expect(decisions.join('\n')).toMatch(/run refused run j-rig1\.0\.0 \(bid 500 wei\/s\) refused: this rig mines instead/);
    await shot('rig-earnings');
  });
});
