// npm run bench (metrics part): the hub's cost of serving Prometheus' /metrics. A hub process is scraped
// with no device connected (the reference), then with BENCH_METRICS_DEVICES simulated devices (default
// 5000, sim-fleet.ts) connected and online: time per scrape as Prometheus' client sees it, the hub's CPU
// time per scrape (from /proc), the size of the answer and the hub's RSS. The first scrape after the
// devices' births is shown apart (it reads each new device's classes from the store once). Prints
// figures; never fails on time.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, cli, freePort, start, writeJson } from '../procs.js';
import { tempDir } from '../helpers.js';
import { rssMiB } from './mem.js';

const here = dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.BENCH_METRICS_DEVICES ?? 5000);
const PROCS = Math.max(1, Number(process.env.BENCH_PROCS ?? 4));
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 200);
const PHASE_MS = Number(process.env.BENCH_PHASE_SEC ?? 300) * 1000;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** CPU time (user + system) of a process so far, ms (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime: fields 14 and 15 of stat
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 }); // as Prometheus scrapes: one connection kept
function scrape(url: string): Promise<{ ms: number; text: string }> {
  return new Promise((ok, fail) => {
    const t0 = process.hrtime.bigint();
    request(url, { agent: keepAlive }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? ok({ ms: Number(process.hrtime.bigint() - t0) / 1e6, text: Buffer.concat(chunks).toString() }) : fail(new Error(`HTTP ${res.statusCode}`))));
    }).on('error', fail).end();
  });
}

function value(text: string, line: string): number | undefined {
  const at = text.indexOf(`\n${line} `);
  return at < 0 ? undefined : Number(text.slice(at + line.length + 2, text.indexOf('\n', at + 1)));
}

interface Round { p50: number; p95: number; max: number; cpuMsPerScrape: number; bytes: number; rssBeforeMiB: number; rssAfterMiB: number }
async function round(url: string, pid: number, label: string): Promise<Round> {
  for (let i = 0; i < 20; i++) await scrape(url); // warm-up: connection, JIT
  const rssBefore = rssMiB(pid);
  const cpu0 = cpuMs(pid);
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < SCRAPES; i++) {
    const r = await scrape(url);
    times.push(r.ms);
    bytes = r.text.length;
  }
  const cpuPer = (cpuMs(pid) - cpu0) / SCRAPES;
  times.sort((a, b) => a - b);
  const r = { p50: pct(times, 50), p95: pct(times, 95), max: times[times.length - 1]!, cpuMsPerScrape: cpuPer, bytes, rssBeforeMiB: rssBefore, rssAfterMiB: rssMiB(pid) };
  console.log(
    `${label.padEnd(26)} scrape p50 ${r.p50.toFixed(2)} ms, p95 ${r.p95.toFixed(2)} ms, max ${r.max.toFixed(1)} ms; hub CPU ${r.cpuMsPerScrape.toFixed(2)} ms/scrape; ` +
      `${(r.bytes / 1024).toFixed(1)} KiB; hub RSS ${r.rssBeforeMiB.toFixed(0)} -> ${r.rssAfterMiB.toFixed(0)} MiB over ${SCRAPES} scrapes`,
  );
  return r;
}

export async function benchMetrics(): Promise<Record<string, unknown>> {
  const tmp = tempDir('sosna-bench-metrics-');
  const hubDir = join(tmp.dir, 'hub');
  const port = await freePort();
  // all simulated devices come from 127.0.0.1: lift the per-address bound on connections not yet logged in
  const config = writeJson(join(tmp.dir, 'hub.json'), { mqtt: { maxPendingPerAddress: 100_000, maxPending: 100_000 } });
  const hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--log-level', 'warn', '--no-chain', '--metrics-port', '0', '--config', config]);
  const children: ChildProcess[] = [];
  const measured: Record<string, unknown> = { devices: N, scrapes: SCRAPES };
  try {
    await hub.waitFor(/hub \S+ ready/, PHASE_MS);
    const pid = hub.child.pid!;
    const url = (JSON.parse(readFileSync(join(hubDir, 'runtime.json'), 'utf8')) as { metricsUrl: string }).metricsUrl;
    console.log(`== metrics: the hub's /metrics (${url}) with 0 devices, then with ${N} simulated devices connected (${SCRAPES} scrapes each, one kept connection)`);
    measured.reference = await round(url, pid, '0 devices (reference)');

    const key = (await cli(['hub', 'keys', 'create', '--fleet', 'bench', '--data-dir', hubDir])).stdout.trim();
    const mqttUrl = `mqtt://127.0.0.1:${port}`;
    const per = Math.ceil(N / PROCS);
    const ready: Promise<unknown>[] = [];
    const progress = new Map<number, number>();
    const t0 = Date.now();
    for (let p = 0; p < PROCS; p++) {
      const count = Math.min(per, N - p * per);
      if (count <= 0) break;
      const child = fork(join(here, 'sim-fleet.mjs'), [mqttUrl, mqttUrl, '-', key, String(count), `m${p}`, join(tmp.dir, `creds-${p}.json`)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      ready.push(new Promise((ok, fail) => {
        child.on('message', (m: { type: string; connected?: number; message?: string }) => {
          if (m.type === 'progress') progress.set(p, m.connected ?? 0);
          else if (m.type === 'ready') ok(null);
          else if (m.type === 'error') fail(new Error(m.message));
        });
        child.once('exit', (code) => fail(new Error(`simulated devices exited (${code})`)));
      }));
    }
    const ticker = setInterval(() => console.log(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${[...progress.values()].reduce((a, b) => a + b, 0)}/${N} connected, hub RSS ${rssMiB(pid).toFixed(0)} MiB`), 10_000);
    try {
      await Promise.race([Promise.all(ready), new Promise((_, fail) => setTimeout(() => fail(new Error(`devices not all connected within ${(6 * PHASE_MS) / 1000} s`)), 6 * PHASE_MS))]);
    } finally {
      clearInterval(ticker);
    }
    // every birth seen by the registry (the metrics say so themselves)
    const deadline = Date.now() + PHASE_MS;
    let online = 0;
    let first: { ms: number; text: string } | null = null;
    while (Date.now() < deadline) {
      const r = await scrape(url);
      first ??= r;
      online = value(r.text, 'sosna_hub_devices{state="online"}') ?? 0;
      if (online >= N) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const connections = value((await scrape(url)).text, 'sosna_hub_connections{kind="device"}');
    console.log(`devices online ${online}/${N}, device connections ${connections}; first scrape after the births ${first!.ms.toFixed(1)} ms (reads each new device's classes once)`);
    Object.assign(measured, { online, connections, firstScrapeMs: first!.ms });
    const loaded = await round(url, pid, `${N} devices`);
    measured.loaded = loaded;
    const ref = measured.reference as Round;
    console.log(`ratio ${N} devices / reference: scrape p50 x${(loaded.p50 / ref.p50).toFixed(2)}, hub CPU per scrape x${(loaded.cpuMsPerScrape / Math.max(ref.cpuMsPerScrape, 0.01)).toFixed(2)}`);
  } catch (err) {
    console.log(`metrics bench stopped: ${(err as Error).message}; measured so far: ${JSON.stringify(measured)}`);
    measured.error = (err as Error).message;
  } finally {
    keepAlive.destroy();
    for (const c of children) c.kill('SIGKILL');
    await hub.stop();
    tmp.cleanup();
  }
  return measured;
}
