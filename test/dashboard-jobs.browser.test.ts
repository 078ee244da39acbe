// The dashboard's Jobs and Earnings pages in a real headless Chromium, fed by real parts: `sosna hub` on its
// embedded chain, the single-file agent bundle on a private Docker Engine (test/docker.ts), a job submitted
// through the hub's console service (the operator's own client, as `sosna console jobs submit` uses). The job's output lines appear on the Jobs page live,
// over the WebSocket, while it runs; its earnings (the hub's ledger) appear on the Earnings page, then the
// payout (paid) and the owner's claimable amount read from the chain. Screenshots: test-results/screenshots/.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { Wallet } from 'ethers';
import { ConsoleClient, ConsoleProfile } from '@sosna/hub';
import { devicesService, jobsService, payoutsService, RunReport } from '@sosna/protocol';
import { CLI, cli, freePort, installBundle, requireBuild, ROOT, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { sosnaContainers, startPrivateDocker, SKIP_DOCKER } from './docker.js';
import type { PrivateDocker } from './docker.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-results', 'screenshots');
const PASSWORD = 'correct horse battery';
const BID = 10n ** 15n; // 0.001 SNM per second
const OWNER = Wallet.createRandom().address;
const tmp = tempDir('sosna-dash-jobs-');
const hubDir = join(tmp.dir, 'hub');
let operator: ConsoleClient;
let engine: PrivateDocker;
let hub: Proc;
let agent: Proc;
let base: string;
let context: BrowserContext;
let page: Page;
let jobId: string;
const frames: { topic: string; payload: unknown }[] = [];

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `dashboard-${name}.png`), fullPage: true });
const wei = (testid: string) => page.getByTestId(testid).getAttribute('data-wei');

beforeAll(async () => {
  if (SKIP_DOCKER) return;
  requireBuild();
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/test-deps/browser.sh (npm test does)`);
  mkdirSync(SHOTS, { recursive: true });
  const [docker, hubPort, dashPort] = await Promise.all([startPrivateDocker(), freePort(), freePort()]);
  engine = docker;
  base = `http://127.0.0.1:${dashPort}`;
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(hubPort), '--ws-port', 'off', '--host', '127.0.0.1']);
  await hub.waitFor(/hub \S+ ready/, 90_000);
  const runtime = JSON.parse(readFileSync(join(hubDir, 'runtime.json'), 'utf8')) as { chain: { rpcUrl: string; whitelist: string } };
  const key = await cli(['hub', 'keys', 'create', '--fleet', 'dash', '--max', '1', '--data-dir', hubDir]);
  expect(key.code, key.output).toBe(0);
  const bundle = installBundle(join(tmp.dir, 'device-bin'));
  const config = writeJson(join(tmp.dir, 'agent', 'config.json'), {
    hub: { url: `mqtt://127.0.0.1:${hubPort}` }, provisioningKey: key.stdout.trim(), name: 'dash-jobs-rig', owner: OWNER,
    stateDir: join(tmp.dir, 'agent', 'state'), telemetry: { intervalSec: 2 }, mqtt: { reconnectMinMs: 200, reconnectMaxMs: 2000 },
    chain: { rpcUrl: runtime.chain.rpcUrl, whitelist: runtime.chain.whitelist },
    jobs: { dockerHost: engine.host, askPerSec: '1', publicHost: '127.0.0.1', bindAddress: '127.0.0.1' },
    dashboard: { host: '127.0.0.1', port: dashPort, password: PASSWORD },
  });
  agent = start([bundle, '--config', config], { cwd: join(tmp.dir, 'device-bin') });
  const [ctx] = await Promise.all([
    chromium.launchPersistentContext(join(tmp.dir, 'chromium-profile'), {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    }),
    agent.waitFor(/dashboard listening/, 60_000),
  ]);
  context = ctx;
  page = context.pages()[0] ?? (await context.newPage());
  page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(JSON.parse(String(f.payload)))));
  operator = await ConsoleClient.connect(ConsoleProfile.parse(JSON.parse(readFileSync(join(hubDir, 'console.json'), 'utf8'))));
  await waitFor('the device online with a container engine', async () => {
    const { devices } = await operator.call(devicesService, 'list', {});
    return devices.length === 1 && devices[0]!.online && (devices[0]!.inventory as { jobs?: { engine: unknown } } | null)?.jobs?.engine ? true : null;
  }, 60_000, 300);
}, 180_000);

afterAll(async () => {
  await operator?.close();
  await context?.close();
  await agent?.stop('SIGKILL');
  await hub?.stop();
  await engine?.stop();
  tmp.cleanup();
}, 120_000); // sized for a loaded machine

describe.skipIf(SKIP_DOCKER)('the dashboard\'s jobs and earnings pages', { timeout: 120_000 }, () => {
  it('streams a running job\'s output lines onto the Jobs page live, then shows it finished', async () => {
    await page.goto(`${base}/jobs`);
    await page.locator('#password').fill(PASSWORD);
    await page.locator('button[type=submit]').click();
    await page.waitForURL(`${base}/jobs`);
    await page.getByTestId('jobs-running').waitFor();
    const listLoads: string[] = [];
    page.on('request', (r) => r.url().endsWith('/api/jobs') && listLoads.push(r.url()));

    // the job prints a line, then waits for a file that the test creates only after the page showed that line
    const script = 'echo "hello from the rig"; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo "second line, after the go"';
    ({ jobId } = await operator.call(jobsService, 'submit', { spec: { image: engine.images.local, bid: BID, timeoutSec: 60, command: ['sh', '-c', script] } }));
    const runId = `${jobId}.0.0`;
    const log = page.getByTestId(`job-log-${runId}`);
    await expect.poll(() => log.textContent(), { timeout: 60_000 }).toContain('hello from the rig');
    expect(await page.getByTestId(`job-state-${runId}`).textContent()).toBe('running');
    expect(await log.textContent()).not.toContain('second line');
    await shot('jobs-running');
    // the new run made the page load the list once (its image, bid...); from here on it only listens
    expect(listLoads.length).toBeLessThanOrEqual(1);
    listLoads.length = 0;

    const [c] = (await sosnaContainers(engine.docker, false)).filter((x) => x.Labels['sosna.hub-job'] === jobId);
    await (await engine.docker.getContainer(c!.Id).exec({ Cmd: ['touch', '/tmp/go'] })).start({ Detach: true });
    await expect.poll(() => log.textContent(), { timeout: 30_000 }).toContain('second line, after the go');
    await expect.poll(() => page.getByTestId(`job-state-${runId}`).textContent(), { timeout: 30_000 }).toBe('succeeded');
    expect(await page.getByTestId('jobs-recent').textContent()).toContain(runId);
    // the rest came over the live socket in the jobs.update / jobs.log payload shapes, not by reloading the list
    const logFrames = frames.filter((f) => f.topic.endsWith('/jobs/log') && (f.payload as { id: string }).id === runId);
    expect(logFrames.map((f) => (f.payload as { pieces: { data: string }[] }).pieces.map((p) => p.data).join('')).join('')).toContain('second line, after the go');
    const updates = frames.filter((f) => f.topic.endsWith('/jobs/update')).map((f) => RunReport.parse(f.payload)).filter((u) => u.id === runId);
    expect(updates.map((u) => u.state)).toContain('running');
    expect(updates.at(-1)).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect(frames.find((f) => f.topic.endsWith('/jobs/log'))!.topic).toMatch(/^sosna\/v1\/hub-[0-9a-f]+\/dev\/dash-jobs-rig-[^/]+\/jobs\/log$/);
    expect(listLoads).toHaveLength(0);
    await shot('jobs-finished');
  });

  it('shows the job\'s earnings from the hub\'s ledger, then paid and claimable on chain after a payout', async () => {
    const run = await waitFor('the run billed by the hub', async () => {
      const j = await operator.call(jobsService, 'show', { jobId });
      return j.state === 'succeeded' && j.runs[0]?.amount ? j.runs[0] : null;
    }, 30_000, 300);
    const amount = run.amount!;
    expect(amount).toBe(BigInt(run.billedSec!) * BID);
    expect(amount).toBeGreaterThan(0n);

    await page.locator('nav a[href="/earnings"]').click();
    await expect.poll(() => wei('earnings-accrued'), { timeout: 20_000 }).toBe(amount.toString());
    expect(await wei('earnings-paid')).toBe('0');
    expect(await wei('earnings-claimable')).toBe('0');
    expect(await page.getByTestId('earnings-owner').textContent()).toBe(OWNER);
    const row = page.locator('[data-testid^="earnings-hub-hub-"]');
    expect(await row.textContent()).toMatch(/wallet 0x[0-9a-fA-F]{40}/);
    await shot('earnings-accrued');

    const { payout } = await operator.call(payoutsService, 'run', {}, { timeoutMs: 120_000 });
    expect(payout).toMatchObject({ status: 'paid', items: [{ owner: OWNER, amount: amount.toString() }] });
    await expect.poll(() => wei('earnings-paid'), { timeout: 20_000 }).toBe(amount.toString());
    await expect.poll(() => wei('earnings-claimable'), { timeout: 20_000 }).toBe(amount.toString());
    expect(await wei('earnings-accrued')).toBe(amount.toString());
    await shot('earnings-paid');
  });
});
