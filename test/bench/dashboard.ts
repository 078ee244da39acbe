// npm run bench (dashboard part; alone: `node scripts/bench.mjs dashboard`): the device dashboard as a
// person opens it, in a real headless Chromium (Debian's chromium through playwright-core). The first
// load of the overview page (bytes on the wire as the browser got them, compressed, and the number of
// requests, from playwright's request events, cache empty), and the agent's resident memory while the
// dashboard is open and live-updating (one telemetry sample a second on the hardware page's charts)
// for ~10 s, beside the same process idle before the browser came. Prints figures; never fails on time.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import type { Request } from 'playwright-core';
import { CLI, cli, freePort, installBundle, ROOT, start, startExecutable, writeJson } from '../procs.js';
import { tempDir } from '../helpers.js';
import { memSplit, rssMiB } from './mem.js';

const CHROMIUM = '/usr/bin/chromium';
const OPEN_SEC = Number(process.env.BENCH_DASHBOARD_SEC ?? 10);
const PASSWORD = 'bench dashboard password';

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

/** The built UI files gzipped as the agent embeds them (level 9). */
function uiSize(): { files: number; rawBytes: number; gzBytes: number } {
  const dir = join(ROOT, 'agent', 'dist', 'dashboard-ui');
  const files = ['index.html', ...readdirSync(join(dir, 'assets')).map((f) => `assets/${f}`)].map((f) => readFileSync(join(dir, f)));
  return { files: files.length, rawBytes: files.reduce((s, b) => s + b.length, 0), gzBytes: files.reduce((s, b) => s + gzipSync(b, { level: constants.Z_BEST_COMPRESSION }).length, 0) };
}

export async function benchDashboard(): Promise<Record<string, unknown> | null> {
  console.log('== dashboard: first load in Chromium and the agent\'s memory with the dashboard open');
  if (!existsSync(CHROMIUM)) {
    console.log(`  skipped: ${CHROMIUM} is missing (scripts/test-deps/browser.sh installs it)`);
    return null;
  }
  const tmp = tempDir('sosna-bench-dash-');
  const hubDir = join(tmp.dir, 'hub');
  const [hubPort, dashPort] = await Promise.all([freePort(), freePort()]);
  const base = `http://127.0.0.1:${dashPort}`;
  const hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(hubPort), '--ws-port', 'off', '--host', '127.0.0.1']);
  let agent: ReturnType<typeof startExecutable> | null = null;
  let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | null = null;
  try {
    await hub.waitFor(/hub \S+ ready/, 120_000);
    const key = (await cli(['hub', 'keys', 'create', '--fleet', 'dash', '--max', '1', '--data-dir', hubDir])).stdout.trim();
    const bin = installBundle(join(tmp.dir, 'device-bin'));
    const config = writeJson(join(tmp.dir, 'agent', 'config.json'), {
      hub: { url: `mqtt://127.0.0.1:${hubPort}` }, provisioningKey: key, name: 'bench-dash', stateDir: join(tmp.dir, 'agent', 'state'),
      telemetry: { intervalSec: 1 }, jobs: { enabled: false }, dashboard: { host: '127.0.0.1', port: dashPort, password: PASSWORD },
    });
    // as shipped: the bundle executed directly (its first line adds the device's node flags)
    agent = startExecutable(bin, ['--config', config], join(tmp.dir, 'device-bin'));
    await agent.waitFor(/ online /, 120_000);
    await agent.waitFor(/capability benchmarks /, 120_000);
    const pid = agent.child.pid!;
    // idle beside it: the same process with nobody looking, a few telemetry ticks after start-up work
    const idleSamples: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      idleSamples.push(rssMiB(pid));
    }
    const idleRss = idleSamples.at(-1)!;
    const idleSplit = memSplit(pid);

    context = await chromium.launchPersistentContext(join(tmp.dir, 'chromium-profile'), {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const login = await page.request.post(`${base}/api/login`, { data: { password: PASSWORD } });
    if (!login.ok()) throw new Error(`dashboard login failed: ${login.status()} ${await login.text()}`);

    // First load of the overview page, cache empty: every request the browser makes and its sizes on the wire.
    const requests: Request[] = [];
    const sockets: string[] = [];
    page.on('request', (r) => requests.push(r));
    page.on('websocket', (ws) => sockets.push(ws.url()));
    const firstFrame = new Promise<void>((ok) => page.on('websocket', (ws) => ws.once('framereceived', () => ok())));
    const t0 = Date.now();
    await page.goto(`${base}/`, { waitUntil: 'load' });
    await page.getByTestId('device-id').waitFor({ timeout: 30_000 });
    await firstFrame;
    const shownMs = Date.now() - t0;
    const sizes = await Promise.all(requests.map(async (r) => {
      const res = await r.response();
      const s = await r.sizes();
      return { url: new URL(r.url()).pathname, status: res?.status() ?? 0, encoding: (await res?.allHeaders())?.['content-encoding'] ?? '', body: s.responseBodySize, headers: s.responseHeadersSize, sent: s.requestHeadersSize + s.requestBodySize };
    }));
    const bodyBytes = sizes.reduce((n, s) => n + s.body, 0);
    const received = sizes.reduce((n, s) => n + s.body + s.headers, 0);
    const sent = sizes.reduce((n, s) => n + s.sent, 0);

    // Open and live: the hardware page's charts take a sample a second over the WebSocket.
    await page.locator('nav a[href="/hardware"]').click();
    await page.getByTestId('card-cpu').waitFor();
    const openSamples: number[] = [];
    const liveBefore = Number(await page.getByTestId('live-updated').getAttribute('data-count'));
    for (let i = 0; i < OPEN_SEC; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      openSamples.push(rssMiB(pid));
    }
    const liveSamples = Number(await page.getByTestId('live-updated').getAttribute('data-count')) - liveBefore;
    const openRss = openSamples.at(-1)!;
    const openMax = Math.max(...openSamples);
    const openSplit = memSplit(pid);
    const ui = uiSize();

    console.log(`dashboard UI              ${kib(ui.gzBytes)} gzipped in ${ui.files} files (${kib(ui.rawBytes)} raw; target under 150 KB)`);
    console.log(`first load of /           ${sizes.length} HTTP requests + ${sockets.length} WebSocket, ${kib(bodyBytes)} of bodies on the wire (compressed), ${kib(received)} received with headers, ${kib(sent)} sent; shown with live data in ${shownMs} ms`);
    for (const s of sizes) console.log(`  ${String(s.status).padEnd(4)} ${s.url.padEnd(22)} ${kib(s.body).padStart(10)} ${s.encoding}`);
    console.log(`agent RSS idle            ${idleRss.toFixed(1)} MiB (${idleSplit.privateMiB.toFixed(1)} MiB private, ${idleSplit.sharedMiB.toFixed(1)} MiB shared file-backed; PSS ${idleSplit.pssMiB.toFixed(1)} MiB)`);
    console.log(`agent RSS dashboard open  ${openRss.toFixed(1)} MiB after ${OPEN_SEC} s live (max ${openMax.toFixed(1)} MiB, ${liveSamples} live samples shown); ${openSplit.privateMiB.toFixed(1)} MiB private, ${openSplit.sharedMiB.toFixed(1)} MiB shared file-backed; PSS ${openSplit.pssMiB.toFixed(1)} MiB`);
    return {
      ui, firstLoad: { requests: sizes.length, websockets: sockets.length, bodyBytes, receivedBytes: received, sentBytes: sent, shownMs, files: sizes },
      agentIdleRssMiB: idleRss, agentIdleMemSplit: idleSplit, agentOpenRssMiB: openRss, agentOpenRssMaxMiB: openMax, agentOpenMemSplit: openSplit, openSec: OPEN_SEC, liveSamples,
    };
  } finally {
    await context?.close();
    await agent?.stop();
    await hub.stop();
    tmp.cleanup();
  }
}
