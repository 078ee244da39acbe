// npm run bench (tls part): N simulated devices (BENCH_TLS_DEVICES, default 5000) connected to a hub process
// that serves plain MQTT and MQTT over TLS (its own CA); the hub is restarted and the time until every
// device is back is measured, once with the devices on mqtt:// and once on mqtts:// (the same devices:
// provisioned once). Then the console -> hub -> device RPC round trip over TLS beside the same over plain
// MQTT, in alternating rounds, while the N TLS connections are held. Prints figures; never fails on time.
// The hub runs without a chain (--no-chain): its restart is the broker's, not the embedded chain's.
// Over TLS the devices keep their sessions, as agents do, and the hub keeps its ticket key across the
// restart, so the reconnect resumes them. BENCH_PROF=DIR writes CPU profiles of the hub and the devices.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConsoleClient, ConsoleProfile } from '@sosna/hub';
import { devicesService } from '@sosna/protocol';
import { CLI, cli, freePort, start } from '../procs.js';
import type { Proc } from '../procs.js';
import { tempDir } from '../helpers.js';
import { rssMiB } from './mem.js';

const here = dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.BENCH_TLS_DEVICES ?? 5000);
const PROCS = Math.max(1, Number(process.env.BENCH_PROCS ?? 4));
const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
/** A deadline per waiting phase (seconds); provisioning N devices has 6x as long. A phase past it is reported. */
const PHASE_MS = Number(process.env.BENCH_PHASE_SEC ?? 300) * 1000;

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (x: number) => `${x.toFixed(3)} ms`;
const sec = (x: number) => `${(x / 1000).toFixed(1)} s`;

interface Progress { connected: number; provisioned: number; reconnects: number; resumed: number }

function child(args: string[]): { proc: ChildProcess; progress: Progress; ready: Promise<{ ids: string[] }> } {
  const proc = fork(join(here, 'sim-fleet.mjs'), args, { execArgv: process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}/sim`] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const progress: Progress = { connected: 0, provisioned: 0, reconnects: 0, resumed: 0 };
  const ready = new Promise<{ ids: string[] }>((ok, fail) => {
    proc.on('message', (m: { type: string; message?: string; ids?: string[] } & Progress) => {
      if (m.type === 'progress') Object.assign(progress, { connected: m.connected, provisioned: m.provisioned, reconnects: m.reconnects, resumed: m.resumed });
      else if (m.type === 'ready') ok({ ids: m.ids! });
      else if (m.type === 'error') fail(new Error(m.message));
    });
    proc.once('exit', (code) => fail(new Error(`simulated devices exited (${code})`)));
  });
  ready.catch(() => {});
  return { proc, progress, ready };
}

async function until(what: string, test: () => boolean, timeoutMs: number, tick?: () => void): Promise<void> {
  const t0 = Date.now();
  let lastTick = t0;
  while (!test()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    if (tick && Date.now() - lastTick > 10_000) {
      lastTick = Date.now();
      tick();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function timeCalls(call: () => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await call();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

export async function benchTls(): Promise<Record<string, unknown>> {
  const tmp = tempDir('sosna-bench-tls-');
  const hubDir = join(tmp.dir, 'hub');
  const [port, tlsPort] = [await freePort(), await freePort()];
  const plainUrl = `mqtt://127.0.0.1:${port}`;
  const tlsUrl = `mqtts://127.0.0.1:${tlsPort}`;
  const caFile = join(hubDir, 'tls', 'ca.pem');
  // every simulated device connects from 127.0.0.1, a fleet from many addresses: the per-address bound on
  // connections not yet logged in (32 by default) would refuse most of the storm here and nowhere else
  const hubConfig = join(tmp.dir, 'hub.json');
  writeFileSync(hubConfig, JSON.stringify({ mqtt: { maxPendingPerAddress: N } }));
  const hubArgs = [...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []), CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--tls', '--tls-port', String(tlsPort), '--wss-port', 'off', '--host', '127.0.0.1', '--log-level', 'warn', '--no-chain', '--config', hubConfig];
  let hub: Proc = start(hubArgs);
  const children: ChildProcess[] = [];
  const measured: Record<string, unknown> = { devices: N, processes: PROCS };
  try {
    await hub.waitFor(/hub \S+ ready/, PHASE_MS);
    const key = (await cli(['hub', 'keys', 'create', '--fleet', 'bench', '--data-dir', hubDir])).stdout.trim();
    const per = Math.ceil(N / PROCS);
    console.log(`== tls: ${N} simulated devices in ${PROCS} processes reconnecting after a hub restart, plain and TLS (ECDSA P-256 certificate of the hub's own CA; hub config mqtt.maxPendingPerAddress ${N}, as the devices share one address here)`);

    const phase = async (kind: 'plain' | 'tls', after?: (ids: string[]) => Promise<void>) => {
      const sims: ReturnType<typeof child>[] = [];
      for (let p = 0; p < PROCS; p++) {
        const count = Math.min(per, N - p * per);
        if (count <= 0) break;
        const s = child([kind === 'tls' ? tlsUrl : plainUrl, plainUrl, kind === 'tls' ? caFile : '-', key, String(count), `sim${p}`, join(tmp.dir, `creds-${p}.json`)]);
        sims.push(s);
        children.push(s.proc);
      }
      const sum = (k: keyof Progress) => sims.reduce((a, s) => a + s.progress[k], 0);
      const t0 = Date.now();
      const ready = Promise.all(sims.map((s) => s.ready));
      await until(`${kind}: ${N} devices connected`, () => sum('connected') >= N, 6 * PHASE_MS, () =>
        console.log(`  ${sec(Date.now() - t0)}: provisioned ${sum('provisioned')}, connected ${sum('connected')}/${N}`));
      const ids = (await ready).flatMap((r) => r.ids);
      const connectMs = Date.now() - t0;
      console.log(`  ${kind}: all ${N} connected in ${sec(connectMs)}${sum('provisioned') ? ` (${sum('provisioned')} provisioned first)` : ''}; hub RSS ${rssMiB(hub.child.pid!).toFixed(0)} MiB`);
      // the restart: stop the hub (SIGTERM), start it again, and wait for every device to be back
      const tStop = Date.now();
      await hub.stop('SIGTERM', 30_000);
      hub = start(hubArgs);
      await hub.waitFor(/hub \S+ ready/, PHASE_MS);
      const tReady = Date.now();
      // past the phase deadline: say how many were back, and go on (the round trip is still measured)
      const allBack = await until(`${kind}: all back after the restart`, () => sum('connected') >= N && sum('reconnects') >= N, PHASE_MS, () =>
        console.log(`  ${sec(Date.now() - tStop)} after the restart began: ${sum('connected')}/${N} back`)).then(() => true, () => false);
      const tBack = Date.now();
      const r = { connectMs, restartMs: tReady - tStop, backAfterReadyMs: tBack - tReady, backAfterStopMs: tBack - tStop, back: sum('connected'), resumed: sum('resumed'), hubRssMiB: rssMiB(hub.child.pid!) };
      console.log(allBack
        ? `  ${kind.padEnd(5)}: all ${N} back ${sec(r.backAfterStopMs)} after the restart began (hub stop+start ${sec(r.restartMs)}, then ${sec(r.backAfterReadyMs)}; target: within 30 s)${kind === 'tls' ? `; ${r.resumed} resumed their TLS session` : ''}`
        : `  ${kind.padEnd(5)}: only ${r.back}/${N} back ${sec(r.backAfterStopMs)} after the restart began (BENCH_PHASE_SEC; hub stop+start ${sec(r.restartMs)}; target: all within 30 s)`);
      measured[kind] = r;
      if (after) await after(ids);
      for (const s of sims) s.proc.send({ type: 'stop' });
      await Promise.all(sims.map((s) => new Promise((ok) => (s.proc.exitCode !== null ? ok(null) : s.proc.once('exit', ok)))));
    };

    await phase('plain');
    await phase('tls', async (ids) => {
      // one more device on plain MQTT: the reference for the round trip
      const ref = child([plainUrl, plainUrl, '-', key, '1', 'plainref', join(tmp.dir, 'creds-ref.json')]);
      children.push(ref.proc);
      const [plainDevice] = (await ref.ready).ids;
      const profile = ConsoleProfile.parse(JSON.parse(readFileSync(join(hubDir, 'console.json'), 'utf8')));
      const overTls = await ConsoleClient.connect(profile, { timeoutMs: 60_000 });
      const overPlain = await ConsoleClient.connect({ ...profile, url: plainUrl, ca: undefined }, { timeoutMs: 60_000 });
      const ping = (c: ConsoleClient, deviceId: string) => () => c.call(devicesService, 'call', { deviceId, service: 'system', method: 'ping', params: {} }, { onChunk: () => {} });
      const callTls = ping(overTls, ids[0]!);
      const callPlain = ping(overPlain, plainDevice!);
      await timeCalls(callTls, 200);
      await timeCalls(callPlain, 200);
      const tls: number[] = [];
      const plain: number[] = [];
      for (let done = 0; done < CALLS; done += 100) {
        tls.push(...(await timeCalls(callTls, 100)));
        plain.push(...(await timeCalls(callPlain, 100)));
      }
      tls.sort((a, b) => a - b);
      plain.sort((a, b) => a - b);
      await overTls.close();
      await overPlain.close();
      ref.proc.send({ type: 'stop' });
      const rpc = { calls: CALLS, tlsP50: pct(tls, 50), tlsP99: pct(tls, 99), plainP50: pct(plain, 50), plainP99: pct(plain, 99) };
      console.log(`RPC round trip console -> hub -> device, ${CALLS} sequential system.ping calls each, alternating rounds of 100 (${N} TLS connections held):`);
      console.log(`                      p50          p99`);
      console.log(`  over TLS            ${ms(rpc.tlsP50).padEnd(12)} ${ms(rpc.tlsP99)}`);
      console.log(`  over plain MQTT     ${ms(rpc.plainP50).padEnd(12)} ${ms(rpc.plainP99)}`);
      console.log(`  ratio               ${(rpc.tlsP50 / rpc.plainP50).toFixed(2)}x        ${(rpc.tlsP99 / rpc.plainP99).toFixed(2)}x`);
      measured.rpc = rpc;
    });
    return measured;
  } catch (err) {
    const error = (err as Error).message;
    console.log(`tls bench stopped: ${error}`);
    console.log(`measured before that: ${JSON.stringify(measured)}`);
    return { ...measured, error };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await hub.stop();
    tmp.cleanup();
  }
}
