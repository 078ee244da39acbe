// The device dashboard in a real headless Chromium (Debian's package, driven by playwright-core; no
// browser download): a real hub process and the single-file agent bundle with its dashboard. Refused
// without the password, log in, the hardware page with a live telemetry sample arriving over the
// WebSocket, the update state on the System page, bad settings (telemetry interval, owner wallet) refused
// with field and reason, good ones (name, owner wallet, price floor, hub preference, interval) persisting
// across an agent restart.
// Screenshots go to test-results/screenshots/ (scripts/test-deps/browser.sh installs chromium).
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { DeviceConfig, parseTopic, silentLogger, Telemetry } from '@sosna/protocol';
import { startDashboard } from '../agent/src/dashboard/index.js';
import { CLI, cli, freePort, installBundle, requireBuild, ROOT, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const PASSWORD = 'correct horse battery';
const OWNER = `0x${'5e'.repeat(20)}`;
/** The price floor, token wei per second: 12,345,678,901,234 wei/s = 0.0444... tokens per hour (beyond 2^53 per hour). */
const ASK = '12345678901234';
const tmp = tempDir('sosna-dash-e2e-');
let hub: Proc;
let agent: Proc;
let bundle: string;
let configPath: string;
let dashPort: number;
let base: string;
let context: BrowserContext;
let page: Page;

const startAgent = async () => {
  agent = start([bundle, '--config', configPath], { cwd: join(tmp.dir, 'device-bin') });
  await agent.waitFor(/dashboard listening/, 60_000);
};
const shot = (name: string) => page.screenshot({ path: join(SHOTS, `dashboard-${name}.png`), fullPage: true });

async function logIn(password = PASSWORD): Promise<void> {
  await page.locator('#password').fill(password);
  await page.locator('button[type=submit]').click();
}

beforeAll(async () => {
  requireBuild();
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/test-deps/browser.sh (npm test does)`);
  mkdirSync(SHOTS, { recursive: true });
  const hubPort = await freePort();
  dashPort = await freePort();
  base = `http://127.0.0.1:${dashPort}`;
  const hubDir = join(tmp.dir, 'hub');
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(hubPort), '--ws-port', 'off', '--host', '127.0.0.1']);
  await hub.waitFor(/hub \S+ ready/);
  const key = await cli(['hub', 'keys', 'create', '--fleet', 'dash', '--max', '1', '--data-dir', hubDir]);
  expect(key.code, key.output).toBe(0);
  bundle = installBundle(join(tmp.dir, 'device-bin'));
  configPath = writeJson(join(tmp.dir, 'agent', 'config.json'), {
    hub: { url: `mqtt://127.0.0.1:${hubPort}` },
    provisioningKey: key.stdout.trim(),
    name: 'dash-rig',
    stateDir: join(tmp.dir, 'agent', 'state'),
    telemetry: { intervalSec: 1 },
    mqtt: { reconnectMinMs: 200, reconnectMaxMs: 2000 },
    jobs: { enabled: false },
    dashboard: { host: '127.0.0.1', port: dashPort, password: PASSWORD },
  });
  const [ctx] = await Promise.all([
    chromium.launchPersistentContext(join(tmp.dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    }),
    startAgent(),
  ]);
  context = ctx;
  page = context.pages()[0] ?? (await context.newPage());
}, 90_000);

afterAll(async () => {
  await context?.close();
  await agent?.stop();
  await hub?.stop();
  tmp.cleanup();
});

describe('device dashboard in Chromium', () => {
  it('is refused without the password: pages go to the login, the API and the live socket answer 401', async () => {
    const api = await fetch(`${base}/api/overview`);
    expect(api.status).toBe(401);
    expect(await api.json()).toMatchObject({ error: 'unauthorized' });
    const ws = new WebSocket(`ws://127.0.0.1:${dashPort}/api/live`);
    expect(await new Promise<number>((r) => ws.on('unexpected-response', (_q, res) => r(res.statusCode!)))).toBe(401);

    await page.goto(`${base}/hardware`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await expect.poll(() => page.locator('label[for=password]').textContent()).toBe('Dashboard password');
    await logIn('not the password');
    await expect.poll(() => page.getByTestId('login-error').textContent()).toBe('wrong password');
    expect(new URL(page.url()).pathname).toBe('/login');
    await shot('login-refused');
    // the plain password in the config file was replaced by its scrypt hash at start
    const saved = JSON.parse(readFileSync(configPath, 'utf8')) as { dashboard: Record<string, unknown> };
    expect(saved.dashboard.password).toBeUndefined();
    expect(saved.dashboard.passwordHash).toMatch(/^scrypt\$/);
  });

  it('logs in and shows the hardware with a live telemetry sample from the WebSocket', async () => {
    const frames: { topic: string; payload: unknown }[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(JSON.parse(String(f.payload)))));
    await logIn();
    await page.waitForURL(`${base}/hardware`);
    await page.getByTestId('card-cpu').waitFor();
    await expect.poll(() => page.getByTestId('chart-cpu.loadPct').locator('canvas').count(), { timeout: 10_000 }).toBe(1);
    // two live samples arrive (one a second) and the page shows the newest
    await expect.poll(() => frames.filter((f) => f.topic.endsWith('/telemetry')).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const sample = frames.filter((f) => f.topic.endsWith('/telemetry')).at(-1)!;
    expect(parseTopic(sample.topic)).toMatchObject({ kind: 'device', channel: 'telemetry' });
    const payload = Telemetry.parse(sample.payload);
    expect(payload.metrics['cpu.loadPct']).toBeGreaterThanOrEqual(0);
    await expect.poll(async () => Number(await page.getByTestId('live-updated').getAttribute('data-seq')), { timeout: 5000 }).toBeGreaterThanOrEqual(payload.seq);
    expect(await page.getByTestId('live-updated').textContent()).toMatch(/live: sample #\d+/);
    expect(await page.getByTestId('metric-cpu.loadPct').textContent()).toMatch(/^\d+%$/);
    expect(await page.getByTestId('chart-cpu.tempC').count()).toBe(1); // the CPU temperature chart (or its "no sensor" note)
    expect(frames.some((f) => f.topic.endsWith('/state') && (f.payload as { status: string }).status === 'online')).toBe(true);
    await page.waitForTimeout(1500); // one more point on the charts for the picture
    await shot('hardware');
  });

  it('shows the overview, jobs, earnings and system pages', async () => {
    await page.locator('nav a[href="/"]').click();
    await expect.poll(() => page.getByTestId('link-state').textContent()).toBe('connected');
    expect(await page.getByTestId('device-id').textContent()).toMatch(/^dash-rig-/);
    await shot('overview');
    // jobs are disabled on this device: no runs; earnings from the hub's ledger (none yet)
    await page.locator('nav a[href="/jobs"]').click();
    await expect.poll(() => page.getByTestId('jobs-running').textContent()).toBe('No job runs on this device now.');
    await page.locator('nav a[href="/earnings"]').click();
    await expect.poll(() => page.getByTestId('earnings-accrued').getAttribute('data-wei')).toBe('0');
    await page.locator('nav a[href="/system"]').click();
    await expect.poll(() => page.getByTestId('logs').textContent()).toContain('dashboard listening');
    const version = (await page.getByTestId('agent-version').textContent())!;
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    // the update state from {stateDir}/update/state.json: nothing was ever updated on this device
    await expect.poll(() => page.getByTestId('update-summary').textContent()).toBe(`running ${version}, no update`);
    expect(await page.getByTestId('update-current').textContent()).toBe('the installed bundle');
    expect(await page.getByTestId('update-trial').textContent()).toBe('none');
    expect(await page.getByTestId('update-rollback').textContent()).toBe('none');
    expect(await page.getByTestId('update-refused').textContent()).toBe('none since the agent started');
    await shot('system');
  });

  it('refuses a bad setting with the field and reason and writes nothing', async () => {
    await page.locator('nav a[href="/settings"]').click();
    await page.getByTestId('settings-form').waitFor();
    const before = readFileSync(configPath, 'utf8');
    await page.locator('[id="telemetry.intervalSec"]').fill('0');
    await page.locator('button[type=submit]').click();
    await expect.poll(() => page.getByTestId('error-telemetry.intervalSec').textContent()).toMatch(/>=\s*1/);
    expect(await page.getByTestId('settings-result').textContent()).toMatch(/^Not saved: telemetry\.intervalSec: /);
    expect(readFileSync(configPath, 'utf8')).toBe(before);
    await shot('settings-invalid');

    // a bad owner wallet: refused with the field and the reason, the file untouched
    await page.locator('[id="telemetry.intervalSec"]').fill('1');
    await page.locator('#owner').fill('0x12345-not-an-address');
    await page.locator('button[type=submit]').click();
    await expect.poll(() => page.getByTestId('error-owner').textContent()).toBe('must be a 0x-prefixed 20-byte hex address');
    expect(await page.getByTestId('settings-result').textContent()).toBe('Not saved: owner: must be a 0x-prefixed 20-byte hex address');
    expect(await page.getByTestId('error-telemetry.intervalSec').count()).toBe(0);
    expect(readFileSync(configPath, 'utf8')).toBe(before);
    await shot('settings-invalid-owner');
  });

  it('saves a good setting, which persists after an agent restart', async () => {
    const hubUrl = (JSON.parse(readFileSync(configPath, 'utf8')) as { hub: { url: string } }).hub.url;
    await page.locator('#name').fill('dash-rig-renamed');
    await page.locator('#owner').fill(OWNER);
    await page.locator('[id="jobs.askPerSec"]').fill(ASK);
    await expect.poll(() => page.locator('.field:has([id="jobs.askPerSec"]) small.muted').textContent()).toContain('= 0.0444444440444424 tokens per hour'); // exact, never rounded (issue 11 item 6)
    await page.locator('#hubPreference').selectOption(hubUrl);
    await page.locator('[id="telemetry.intervalSec"]').fill('2');
    await page.locator('button[type=submit]').click();
    await expect.poll(() => page.getByTestId('settings-result').textContent()).toMatch(
      /^Saved\. Takes effect when the agent restarts: name, owner, jobs\.askPerSec, hubPreference, telemetry\.intervalSec\./,
    );
    expect(JSON.parse(readFileSync(configPath, 'utf8'))).toMatchObject({ name: 'dash-rig-renamed', owner: OWNER, jobs: { askPerSec: ASK }, hubPreference: hubUrl, telemetry: { intervalSec: 2 } });
    await expect.poll(() => page.getByTestId('restart-pending').textContent()).toContain('ask 0 wei/s, owner none, hub preference best');
    await shot('settings-saved');

    await agent.stop('SIGTERM');
    await startAgent();
    // sessions live in the agent's memory: after a restart the browser logs in again
    await page.goto(`${base}/settings`);
    await page.waitForURL(/\/login\?next=%2Fsettings$/);
    await logIn();
    await page.waitForURL(`${base}/settings`);
    await expect.poll(() => page.locator('#name').inputValue()).toBe('dash-rig-renamed');
    expect(await page.locator('[id="telemetry.intervalSec"]').inputValue()).toBe('2');
    expect(await page.locator('#owner').inputValue()).toBe(OWNER);
    expect(await page.locator('[id="jobs.askPerSec"]').inputValue()).toBe(ASK);
    expect(await page.locator('#hubPreference').inputValue()).toBe(hubUrl);
    expect(await page.getByTestId('restart-pending').count()).toBe(0); // the agent now runs with them
    await shot('settings-after-restart');
    await waitFor('the renamed device in the overview', async () => {
      const r = await page.request.get(`${base}/api/overview`);
      return ((await r.json()) as { device: { name: string } }).device.name === 'dash-rig-renamed';
    });
  });

  it('logs out', async () => {
    await page.getByTestId('logout').click();
    await page.waitForURL(/\/login(\?.*)?$/);
    await page.goto(`${base}/system`);
    expect(new URL(page.url()).pathname).toBe('/login');
  });
});

// The cards of a rig with GPUs and an ASIC (this machine has neither): the built UI from
// agent/dist/dashboard-ui/ on an in-process dashboard fed an hour of synthetic samples.
describe('hardware cards of a GPU and ASIC rig', () => {
  it('shows a card per GPU and ASIC with its figures and charts of the last hour', async () => {
    const uiDir = join(ROOT, 'agent', 'dist', 'dashboard-ui');
    const types: Record<string, string> = { js: 'text/javascript', css: 'text/css', html: 'text/html' };
    const assets = Object.fromEntries(
      ['index.html', ...readdirSync(join(uiDir, 'assets')).map((f) => `assets/${f}`)].map((f) => {
        const bytes = readFileSync(join(uiDir, f));
        return [`/${f}`, { type: types[f.slice(f.lastIndexOf('.') + 1)] ?? 'application/octet-stream', gz: gzipSync(bytes).toString('base64'), etag: `"${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}"` }];
      }),
    );
    const codes: string[] = [];
    const gpu = (index: number, name: string) => ({ index, vendor: 'nvidia', name, vramBytes: 24 * 2 ** 30, driver: '550.54.14', pciBusId: `0000:0${index + 1}:00.0` });
    const dash = await startDashboard({
      config: DeviceConfig.parse({ hub: { url: 'mqtt://127.0.0.1:1883' }, telemetry: { intervalSec: 60 }, dashboard: { host: '127.0.0.1', port: 0 } }),
      configPath: null, log: silentLogger, agentVersion: '0.1.0', env: {}, assets, showCode: (c) => codes.push(c),
      status: () => ({
        deviceId: 'rig-07-x7k2ab', hubId: 'hub-8e3af89d', name: 'rig-07', hubUrl: 'mqtt://hub.example:1883', connected: true, benchmarks: null,
        inventory: { hostname: 'rig-07', platform: 'linux', arch: 'x64', os: { distro: 'sosna', release: '1', kernel: '6.1' }, cpu: { manufacturer: 'AMD', brand: 'Ryzen 5 5600X', cores: 12, physicalCores: 6, speedGHz: 3.7 }, memory: { totalBytes: 32 * 2 ** 30 } },
        hardware: { gpus: [gpu(0, 'NVIDIA GeForce RTX 3090'), gpu(1, 'NVIDIA GeForce RTX 3090')], asics: [{ host: '10.0.0.21', port: 4028, maker: 'Bitmain', model: 'Antminer S19j Pro', state: 'ok' }] },
      }),
    });
    try {
      const now = Date.now();
      for (let i = 60; i >= 0; i--) {
        const w = Math.sin(i / 6);
        dash.telemetry({
          'cpu.loadPct': 30 + 20 * w, 'cpu.tempC': 55 + 5 * w, 'load.1m': 3 + w, 'mem.usedBytes': (9 + w) * 2 ** 30,
          'gpu.0.tempC': 62 + 4 * w, 'gpu.0.powerW': 280 + 30 * w, 'gpu.0.fanPct': 55 + 10 * w, 'gpu.0.utilPct': 96 + 3 * w,
          'gpu.1.tempC': 66 + 3 * w, 'gpu.1.powerW': 300 + 20 * w, 'gpu.1.fanPct': 60 + 8 * w, 'gpu.1.utilPct': 90 + 8 * w,
          'asic.10.0.0.21.hashrate5s': (104 + 3 * w) * 1e12, 'asic.10.0.0.21.hashrateAvg': 104e12, 'asic.10.0.0.21.tempMaxC': 71 + 2 * w, 'asic.10.0.0.21.powerW': 3050, 'asic.10.0.0.21.fan.0.rpm': 5400,
        }, now - i * 60_000);
      }
      const url = `http://127.0.0.1:${dash.port}`;
      await page.goto(`${url}/hardware`);
      await page.locator('#password').fill(codes[0]!);
      await page.locator('button[type=submit]').click();
      await page.waitForURL(`${url}/hardware`);
      for (const card of ['cpu', 'gpu.0', 'gpu.1', 'asic.10.0.0.21']) await page.getByTestId(`card-${card}`).waitFor();
      expect(await page.getByTestId('metric-gpu.0.tempC').textContent()).toBe('62°C');
      expect(await page.getByTestId('metric-gpu.1.powerW').textContent()).toBe('300 W');
      expect(await page.getByTestId('metric-asic.10.0.0.21.hashrate5s').textContent()).toBe('104 TH/s');
      await expect.poll(() => page.locator('[data-testid=card-gpu\\.0] canvas').count()).toBe(3);
      await shot('hardware-gpu-asic');
    } finally {
      await dash.stop();
    }
  });
});
