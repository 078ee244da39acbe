// npm run bench (fleet part): N simulated devices connect, provision and register against a real hub
// process; then the RPC round trip through the hub beside the same round trip over a bare aedes broker,
// and the agent bundle's size and idle RSS. Prints figures; never fails on time.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { ConsoleClient, ConsoleProfile } from '@sosna/hub';
import { createCodec, devicesService, hubService, noDelay, RpcPeer, systemService } from '@sosna/protocol';
import { BUNDLE, CLI, cli, freePort, installBundle, start, startExecutable, writeJson } from '../procs.js';
import { tempDir } from '../helpers.js';
import { memSplit, rssMiB } from './mem.js';

const here = dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.BENCH_DEVICES ?? 5000);
const PROCS = Math.max(1, Number(process.env.BENCH_PROCS ?? 4));
const CALLS = Number(process.env.BENCH_CALLS ?? 2000);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (x: number) => `${x.toFixed(3)} ms`;

function forkChild(file: string, args: string[]): ChildProcess {
  return fork(join(here, file), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}
/** The child's next `type` message; rejects on its 'error' message, its exit, or after `timeoutMs` (a bounded phase). */
function message<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((ok, fail) => {
    const done = (f: () => void) => {
      clearTimeout(t);
      child.off('message', onMessage);
      child.off('exit', onExit);
      f();
    };
    const t = setTimeout(() => done(() => fail(new Error(`no ${type} from child within ${timeoutMs} ms`))), timeoutMs);
    const onMessage = (m: { type: string; message?: string }) => {
      if (m.type === type) done(() => ok(m as T));
      else if (m.type === 'error') done(() => fail(new Error(m.message)));
    };
    const onExit = (code: number | null, signal: string | null) => done(() => fail(new Error(`child exited (${signal ?? code}) before ${type}`)));
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Phase deadlines (seconds): BENCH_PHASE_SEC for each waiting phase; a phase past it is reported, not waited for. */
const PHASE_MS = Number(process.env.BENCH_PHASE_SEC ?? 300) * 1000;

async function timeCalls(call: () => Promise<unknown>, n: number, warmup = 200): Promise<number[]> {
  for (let i = 0; i < Math.min(warmup, n); i++) await call();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await call();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out.sort((a, b) => a - b);
}

export async function benchFleet(): Promise<Record<string, unknown>> {
  const tmp = tempDir('sosna-bench-');
  const hubDir = join(tmp.dir, 'hub');
  const port = await freePort();
  // thousands of simulated devices, all from 127.0.0.1, connect in bursts of 25 per process: as many devices on
  // as many hosts would each have their own address' share of unauthenticated connections
  const config = writeJson(join(tmp.dir, 'hub.json'), { mqtt: { maxPendingPerAddress: 100_000, maxPending: 100_000 } });
  const hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--log-level', 'warn', '--config', config]);
  const children: ChildProcess[] = [];
  const measured: Record<string, unknown> = {}; // what is known so far: printed and returned if a phase fails
  try {
    await hub.waitFor(/hub \S+ ready/, PHASE_MS);
    const hubPid = hub.child.pid!;
    const key = (await cli(['hub', 'keys', 'create', '--fleet', 'bench', '--data-dir', hubDir])).stdout.trim();
    const url = `mqtt://127.0.0.1:${port}`;
    console.log(`== fleet: ${N} simulated devices in ${PROCS} processes against a hub process (device secrets: salted SHA-256, no scrypt)`);
    const t0 = Date.now();
    const per = Math.ceil(N / PROCS);
    const progress = new Map<number, { provisioned: number; online: number }>();
    const ready: Promise<{ ids: string[] }>[] = [];
    for (let p = 0; p < PROCS; p++) {
      const count = Math.min(per, N - p * per);
      if (count <= 0) break;
      const child = forkChild('sim-devices.mjs', [url, key, String(count), `sim${p}`, '25']);
      children.push(child);
      child.on('message', (m: { type: string; provisioned: number; online: number }) => m.type === 'progress' && progress.set(p, m));
      ready.push(message(child, 'ready', 30 * 60_000));
    }
    const ticker = setInterval(() => {
      const sum = [...progress.values()].reduce((a, b) => ({ provisioned: a.provisioned + b.provisioned, online: a.online + b.online }), { provisioned: 0, online: 0 });
      console.log(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: provisioned ${sum.provisioned}/${N}, online ${sum.online}/${N}, hub RSS ${rssMiB(hubPid).toFixed(0)} MiB`);
    }, 10_000);
    const results = await Promise.all(ready);
    clearInterval(ticker);
    const registerSec = (Date.now() - t0) / 1000;

    const profile = ConsoleProfile.parse(JSON.parse(readFileSync(join(hubDir, 'console.json'), 'utf8')));
    const consoleClient = await ConsoleClient.connect(profile, { timeoutMs: 60_000 });
    const info = await consoleClient.call(hubService, 'info', {});
    const hubRss = rssMiB(hubPid);
    const tList = process.hrtime.bigint();
    const listed = await consoleClient.call(devicesService, 'list', {}, { timeoutMs: 60_000 });
    const listMs = Number(process.hrtime.bigint() - tList) / 1e6;
    console.log(`connections held          ${info.connections}`);
    console.log(`devices online (registry) ${info.devices.online}/${info.devices.total}`);
    console.log(`time to register all      ${registerSec.toFixed(1)} s (${(N / registerSec).toFixed(0)} devices/s)`);
    console.log(`hub RSS                   ${hubRss.toFixed(0)} MiB`);
    console.log(`console devices.list      ${listed.devices.length} devices in ${listMs.toFixed(0)} ms`);
    Object.assign(measured, { devices: N, processes: PROCS, connections: info.connections, online: info.devices.online, registerSec, hubRssMiB: hubRss, listMs });

    // RPC: console -> hub -> simulated device, against caller -> bare aedes -> responder. Both brokers hold
    // the same number of idle connections, and the two are timed in alternating rounds so that whatever
    // else the machine does falls on both alike.
    const target = results[0]!.ids[0]!;
    const bare = forkChild('bare-broker.mjs', ['0']);
    children.push(bare);
    const { port: barePort } = await message<{ port: number }>(bare, 'ready', PHASE_MS);
    const idle: Promise<unknown>[] = [];
    const idleProgress = new Map<number, { connected: number; count: number; errors: number; lastError: string | null }>();
    for (let p = 0; p < PROCS; p++) {
      const count = Math.min(per, N - p * per);
      if (count <= 0) break;
      const child = forkChild('bare-idle.mjs', [`mqtt://127.0.0.1:${barePort}`, String(count), `idle${p}`]);
      children.push(child);
      child.on('message', (m: { type: string; connected: number; count: number; errors: number; lastError: string | null }) => m.type === 'progress' && idleProgress.set(p, m));
      idle.push(message(child, 'ready', PHASE_MS));
    }
    const idleOutcome = await Promise.allSettled(idle);
    const idleHeld = [...idleProgress.values()].reduce((a, b) => a + b.connected, 0);
    if (idleOutcome.some((o) => o.status === 'rejected')) {
      // the reference holds fewer idle connections than the hub: say so, and measure anyway
      const errs = [...idleProgress.values()].reduce((a, b) => a + b.errors, 0);
      const last = [...idleProgress.values()].map((x) => x.lastError).find((x) => x) ?? (idleOutcome.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason;
      console.log(`  bare broker: ${idleHeld}/${N} idle connections after ${PHASE_MS / 1000} s (${errs} connection errors; last: ${String(last)}); the RPC figures below are measured with these`);
    }
    const responder = forkChild('bare-responder.mjs', [`mqtt://127.0.0.1:${barePort}`]);
    children.push(responder);
    await message(responder, 'ready', PHASE_MS);
    const client = mqtt.connect(`mqtt://127.0.0.1:${barePort}`, { clientId: 'bare-caller', protocolVersion: 4 });
    await new Promise<void>((ok, fail) => {
      const t = setTimeout(() => fail(new Error(`the bench's caller did not connect to the bare broker within ${PHASE_MS} ms`)), PHASE_MS);
      client.on('error', () => undefined); // reconnects by itself; the deadline reports
      client.once('connect', () => (clearTimeout(t), ok()));
    });
    noDelay(client);
    const peer = new RpcPeer({ role: 'caller', codec: createCodec(), send: (b) => client.publish('bare/rpc/in', Buffer.from(b), { qos: 1 }) });
    client.on('message', (_t, p) => peer.receive(p));
    await new Promise<void>((ok) => client.subscribe('bare/rpc/out', { qos: 1 }, () => ok()));
    const callHub = () => consoleClient.call(devicesService, 'call', { deviceId: target, service: 'system', method: 'ping', params: {} }, { onChunk: () => {} });
    const callBare = () => peer.call(systemService, 'ping', {});
    const viaHub: number[] = [];
    const viaBare: number[] = [];
    await timeCalls(callHub, 200);
    await timeCalls(callBare, 200);
    const ROUND = 100;
    for (let done = 0; done < CALLS; done += ROUND) {
      viaHub.push(...(await timeCalls(callHub, ROUND, 0)));
      viaBare.push(...(await timeCalls(callBare, ROUND, 0)));
    }
    viaHub.sort((a, b) => a - b);
    viaBare.sort((a, b) => a - b);
    client.end(true);
    await consoleClient.close();

    const hub50 = pct(viaHub, 50), hub99 = pct(viaHub, 99), bare50 = pct(viaBare, 50), bare99 = pct(viaBare, 99);
    console.log(`RPC round trip, ${CALLS} sequential system.ping calls each at QoS 1, in alternating rounds of 100 (${N} other connections held by each broker):`);
    console.log(`                      p50          p99`);
    console.log(`  through the hub     ${ms(hub50).padEnd(12)} ${ms(hub99)}`);
    console.log(`  bare aedes          ${ms(bare50).padEnd(12)} ${ms(bare99)}`);
    console.log(`  ratio               ${(hub50 / bare50).toFixed(2)}x        ${(hub99 / bare99).toFixed(2)}x   (target: p99 within 1.5x)`);
    Object.assign(measured, { bareIdleConnections: idleHeld, rpc: { calls: CALLS, hubP50: hub50, hubP99: hub99, bareP50: bare50, bareP99: bare99, ratioP50: hub50 / bare50, ratioP99: hub99 / bare99 } });

    // The agent bundle: size, and RSS once it is online and idle, executed as shipped (its first line
    // adds the memory flags of scripts/build.mjs) and under plain `node`.
    const bundleKiB = statSync(BUNDLE).size / 1024;
    const akey = (await cli(['hub', 'keys', 'create', '--fleet', 'footprint', '--max', '2', '--data-dir', hubDir])).stdout.trim();
    const bin = installBundle(join(tmp.dir, 'device-bin'));
    const agentCfg = (name: string) =>
      writeJson(join(tmp.dir, name, 'config.json'), { hub: { url }, provisioningKey: akey, stateDir: join(tmp.dir, name, 'state'), name });
    const shipped = startExecutable(bin, ['--config', agentCfg('shipped')], join(tmp.dir, 'device-bin'));
    const plain = start([bin, '--config', agentCfg('plain')], { cwd: join(tmp.dir, 'device-bin') });
    await Promise.all([shipped.waitFor(/ online /, 120_000), plain.waitFor(/ online /, 120_000)]);
    await Promise.all([shipped.waitFor(/capability benchmarks /, 120_000), plain.waitFor(/capability benchmarks /, 120_000)]);
    await new Promise((r) => setTimeout(r, 10_000)); // idle: a few telemetry ticks
    const agentRss = rssMiB(shipped.child.pid!);
    const agentRssPlain = rssMiB(plain.child.pid!);
    const split = memSplit(shipped.child.pid!);
    await Promise.all([shipped.stop(), plain.stop()]);
    // `sosna-agent detect` as a person runs it: wall time with node's start, median of 3
    const detectMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const d = startExecutable(bin, ['detect', '--json'], join(tmp.dir, 'device-bin'));
      if ((await d.exited) !== 0) throw new Error(`sosna-agent detect failed: ${d.output()}`);
      detectMs.push(Date.now() - t0);
    }
    detectMs.sort((a, b) => a - b);
    // `sosna provision fleet --count 100`: wall time with the CLI's start (target under 5 s each)
    const provisionMs = async (extra: string[]): Promise<number> => {
      const t0 = Date.now();
      const r = await cli(['provision', 'fleet', '--hub', url, '--fleet', 'bench-prov', '--count', '100', '--out', join(tmp.dir, `prov-${extra.length}`), '--data-dir', hubDir, ...extra], { timeoutMs: 300_000 });
      if (r.code !== 0) throw new Error(`sosna provision fleet failed: ${r.output}`);
      return Date.now() - t0;
    };
    const provisionKeyMs = await provisionMs([]);
    const provisionCredsMs = await provisionMs(['--credentials', '--prefix', 'bench']);
    console.log(`provision fleet --count 100   ${provisionKeyMs} ms with a provisioning key, ${provisionCredsMs} ms with --credentials (100 machine hashes); CLI start included (target under 5 s)`);
    console.log(`agent bundle              ${bundleKiB.toFixed(0)} KiB (target under 1.5 MB = 1465 KiB)`);
    console.log(`agent idle RSS            ${agentRss.toFixed(1)} MiB = ${(agentRss * 1.048576).toFixed(1)} MB as shipped (executed directly), ${agentRssPlain.toFixed(1)} MiB under plain node (target under 60 MB)`);
    console.log(`  of which                ${split.privateMiB.toFixed(1)} MiB private, ${split.sharedMiB.toFixed(1)} MiB shared file-backed (node's own code pages); PSS ${split.pssMiB.toFixed(1)} MiB`);
    console.log(`sosna-agent detect        ${detectMs[1]} ms wall, node start included (median of ${detectMs.join(', ')}; target under 2 s)`);

    return {
      devices: N, processes: PROCS, connections: info.connections, online: info.devices.online, registerSec, hubRssMiB: hubRss, listMs,
      bareIdleConnections: idleHeld,
      rpc: { calls: CALLS, hubP50: hub50, hubP99: hub99, bareP50: bare50, bareP99: bare99, ratioP50: hub50 / bare50, ratioP99: hub99 / bare99 },
      agentBundleKiB: bundleKiB, agentIdleRssMiB: agentRss, detectWallMs: detectMs[1], agentIdleRssPlainNodeMiB: agentRssPlain, agentMemSplit: split,
      provisionFleet100Ms: { provisioningKey: provisionKeyMs, credentials: provisionCredsMs },
    };
  } catch (err) {
    // give up on this bench, not silently: what was measured, and what failed
    const error = (err as Error).message;
    console.log(`fleet bench stopped: ${error}`);
    console.log(`measured before that: ${JSON.stringify(measured)}`);
    return { ...measured, error };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await hub.stop();
    tmp.cleanup();
  }
}
