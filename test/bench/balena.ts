// npm run bench (balena part; alone: `node scripts/bench.mjs balena`), issue 18:
//  1. the balenaOS fleet app container's idle memory beside the same agent run directly: one hub, a private
//     Docker Engine standing in for balenaEngine (test/docker.ts), the app image built offline and run as
//     the supervisor would (test/balena.ts), the bundle executed directly on the host with the same
//     settings; after both are online and their start-up work (hardware detection, capability benchmarks)
//     is done, the agent process's resident memory in each, and the container's cgroup memory (what
//     balenaOS accounts to the app: usage less inactive file cache). Target: within 10 MiB.
//  2. the Raspberry Pi image's size: `sosna image build --arch arm64 --board rpi4` (Debian packages from
//     the shared image cache the image tests use; BENCH_RPI=0 skips it), raw and compressed.
// Prints figures; never fails on time.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { CLI, cli, freePort, installBundle, start, startExecutable, writeJson } from '../procs.js';
import type { Proc } from '../procs.js';
import { tempDir, waitFor } from '../helpers.js';
import { dockerUnavailable, startPrivateDocker } from '../docker.js';
import type { PrivateDocker } from '../docker.js';
import { buildBalenaApp, containerLogs, createAppContainer, readCompose } from '../balena.js';
import { memSplit, rssMiB } from './mem.js';

const SAMPLES = Number(process.env.BENCH_BALENA_SAMPLES ?? 10);
const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The container's memory as its cgroup counts it, less the file cache it could drop (as `docker stats`). */
async function cgroupMiB(c: Docker.Container): Promise<number> {
  const s = (await c.stats({ stream: false })) as unknown as { memory_stats: { usage: number; stats?: Record<string, number> } };
  const cache = s.memory_stats.stats?.inactive_file ?? s.memory_stats.stats?.total_inactive_file ?? 0;
  return (s.memory_stats.usage - cache) / MiB;
}

async function benchIdle(): Promise<Record<string, unknown> | null> {
  console.log('== balena: the fleet app container\'s idle memory beside the agent run directly');
  const why = dockerUnavailable();
  if (why) {
    console.log(`  skipped: ${why}`);
    return null;
  }
  const tmp = tempDir('sosna-bench-balena-');
  const hubDir = join(tmp.dir, 'hub');
  let engine: PrivateDocker | null = null;
  let hub: Proc | null = null;
  let direct: Proc | null = null;
  try {
    engine = await startPrivateDocker();
    const image = await buildBalenaApp(engine.docker, join(tmp.dir, 'build'));
    const port = await freePort();
    hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--no-chain']);
    await hub.waitFor(/hub \S+ ready/, 120_000);
    const key = (await cli(['hub', 'keys', 'create', '--fleet', 'bench', '--max', '2', '--data-dir', hubDir])).stdout.trim();
    const url = `mqtt://127.0.0.1:${port}`;
    // the same settings for both: the fleet's variables in the container, a config file on the host
    const app = await createAppContainer(engine.docker, {
      image, compose: readCompose(), device: { uuid: 'bench0000000000000000000000000001', name: 'bench-balena', fleet: 'bench', appId: 1 },
      engineSocket: engine.host.replace(/^unix:\/\//, ''), variables: { SOSNA_HUB_URL: url, SOSNA_PROVISIONING_KEY: key, SOSNA_DASHBOARD_PORT: '0' }, name: 'agent_bench',
    });
    const bin = installBundle(join(tmp.dir, 'device-bin'));
    const config = writeJson(join(tmp.dir, 'agent', 'config.json'), {
      hub: { url }, provisioningKey: key, name: 'bench-direct', stateDir: join(tmp.dir, 'agent', 'state'), dashboard: { port: 0 }, jobs: { dockerHost: engine.host },
    });
    await app.start();
    direct = startExecutable(bin, ['--config', config], join(tmp.dir, 'device-bin'));
    await direct.waitFor(/ online /, 180_000);
    await direct.waitFor(/capability benchmarks /, 180_000);
    await waitFor('the app container online with its benchmarks done', async () => / online [\s\S]*capability benchmarks /.test(await containerLogs(app)), 180_000, 500);
    const appPid = (await app.inspect()).State.Pid;
    const directPid = direct.child.pid!;
    const d: number[] = [];
    const a: number[] = [];
    const g: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      await sleep(1000);
      d.push(rssMiB(directPid));
      a.push(rssMiB(appPid));
      g.push(await cgroupMiB(app));
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const r = {
      samples: SAMPLES, directRssMiB: median(d), appRssMiB: median(a), appCgroupMiB: median(g),
      directSplit: memSplit(directPid), appSplit: memSplit(appPid), differenceMiB: median(a) - median(d), targetMiB: 10,
    };
    console.log(`agent run directly, RSS          ${r.directRssMiB.toFixed(1)} MiB (${r.directSplit.privateMiB.toFixed(1)} MiB private; PSS ${r.directSplit.pssMiB.toFixed(1)} MiB)`);
    console.log(`agent in the app container, RSS  ${r.appRssMiB.toFixed(1)} MiB (${r.appSplit.privateMiB.toFixed(1)} MiB private; PSS ${r.appSplit.pssMiB.toFixed(1)} MiB)`);
    console.log(`app container, cgroup memory     ${r.appCgroupMiB.toFixed(1)} MiB (usage less inactive file cache)`);
    console.log(`difference (container - direct)  ${r.differenceMiB >= 0 ? '+' : ''}${r.differenceMiB.toFixed(1)} MiB RSS (target: within ${r.targetMiB} MiB) ${Math.abs(r.differenceMiB) <= r.targetMiB ? 'ok' : 'OVER'}`);
    console.log(`  (medians of ${SAMPLES} samples a second apart, after both were online with their start-up benchmarks done)`);
    return r;
  } finally {
    await direct?.stop();
    await hub?.stop();
    await engine?.stop();
    tmp.cleanup();
  }
}

async function benchRpiImage(): Promise<Record<string, unknown> | null> {
  console.log('== balena/Pi: the Raspberry Pi image (sosna image build --arch arm64 --board rpi4)');
  if (process.env.BENCH_RPI === '0') {
    console.log('  skipped: BENCH_RPI=0');
    return null;
  }
  const tmp = tempDir('sosna-bench-rpi-');
  try {
    const out = join(tmp.dir, 'images');
    const t0 = Date.now();
    // the cache the image tests share: Debian packages downloaded once
    const r = await cli(['image', 'build', '--arch', 'arm64', '--board', 'rpi4', '--out', out, '--cache-dir', join(tmpdir(), 'sosna-image-cache')], { timeoutMs: 1_200_000 });
    if (r.code !== 0) {
      console.log(`  not measured: the build failed (exit ${r.code}):\n${r.output.slice(-1500)}`);
      return null;
    }
    const m = JSON.parse(readFileSync(join(out, 'sosna-smoke-arm64-rpi4.manifest.json'), 'utf8')) as { image: { size: number }; compressed: { file: string; size: number }; layout: { name: string; size: number }[] };
    const boot = m.layout.find((p) => p.name === 'sosna-boot');
    const res = { rawMiB: m.image.size / MiB, compressedMiB: m.compressed.size / MiB, compressed: m.compressed.file, bootPartitionMiB: boot ? boot.size / MiB : null, buildSec: (Date.now() - t0) / 1000 };
    console.log(`rpi4 image raw                   ${res.rawMiB.toFixed(0)} MiB (boot partition ${res.bootPartitionMiB?.toFixed(0) ?? '?'} MiB)`);
    console.log(`rpi4 image compressed            ${res.compressedMiB.toFixed(1)} MiB (${res.compressed}, default level)`);
    console.log(`  built in ${res.buildSec.toFixed(0)} s (a figure, not a target; the package cache was ${res.buildSec < 120 ? 'warm' : 'probably cold'})`);
    return res;
  } finally {
    tmp.cleanup();
  }
}

export async function benchBalena(): Promise<Record<string, unknown>> {
  return { idle: await benchIdle(), rpiImage: await benchRpiImage() };
}
