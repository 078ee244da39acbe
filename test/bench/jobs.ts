// npm run bench (jobs part):
//  1. scheduler throughput: 1,000 simulated devices and 10,000 queued jobs; the pure matcher alone, then
//     a whole scheduling pass of the hub's scheduler (verdicts, matching, runs written to SQLite, a start
//     sent to each device through a stub link), in process;
//  2. container start overhead: the agent's path for a run (record fsync'd, image check, create, start,
//     output followed and hashed, wait, result, remove) beside a bare dockerode create/start/wait/remove
//     cycle, interleaved in the same run against the same private engine (target: within 1.2x).
import { join } from 'node:path';
import { HubEventBus, openSqliteStore } from '@sosna/hub';
import { DeviceConfig, JobSpec, silentLogger } from '@sosna/protocol';
import type { DeviceJob } from '@sosna/protocol';
import { deviceView } from '../../hub/src/jobs/device-view.js';
import { planDispatch } from '../../hub/src/jobs/matcher.js';
import type { JobNeed } from '../../hub/src/jobs/matcher.js';
import { Scheduler } from '../../hub/src/jobs/scheduler.js';
import { connectEngine, JobManager } from '../../agent/src/jobs/index.js';
import type { HubCalls } from '../../agent/src/jobs/index.js';
import { dockerUnavailable, startPrivateDocker } from '../docker.js';
import { tempDir } from '../helpers.js';

const DEVICES = Number(process.env.BENCH_JOB_DEVICES ?? 1000);
const JOBS = Number(process.env.BENCH_JOBS ?? 10_000);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 20);
const GiB = 2 ** 30;

function simInventory(i: number) {
  const gpus = i % 5 === 0 ? [{ index: 0, vendor: 'nvidia', name: i % 10 === 0 ? 'NVIDIA GeForce RTX 4090' : 'NVIDIA GeForce RTX 3060', vramBytes: (i % 10 === 0 ? 24 : 12) * GiB }] : [];
  return {
    hostname: `sim-${i}`, platform: 'linux', arch: i % 7 === 0 ? 'arm64' : 'x64', os: { distro: 'sim', release: '1', kernel: 'sim' },
    cpu: { manufacturer: 'sim', brand: 'sim', cores: 16, physicalCores: 8, speedGHz: 3 }, memory: { totalBytes: 64 * GiB },
    hardware: { gpus, disks: [{ freeBytes: 500 * GiB }] },
    benchmarks: { 'cpu.sha256.multi.MBps': 500 + (i % 10) * 100 },
    jobs: { engine: { name: 'sim', version: '1', apiVersion: '1.41' }, askPerSec: String(i % 20), capacity: { cpus: 64, memoryBytes: 48 * GiB, jobs: 16 } },
  };
}

function simSpec(i: number) {
  return JobSpec.parse({
    image: 'busybox',
    command: ['true'],
    bid: String(10 + (i % 40)),
    replicas: i % 50 === 0 ? 3 : 1,
    resources: { cpus: 1 + (i % 4), memoryBytes: (256 + (i % 8) * 256) * 2 ** 20, ...(i % 25 === 0 ? { gpus: { count: 1, vramMin: 10 * GiB } } : {}) },
    ...(i % 33 === 0 ? { constraints: { benchMin: { 'cpu.sha256.multi.MBps': 900 } } } : {}),
  });
}

async function benchScheduler(): Promise<Record<string, number>> {
  console.log(`== jobs: scheduler with ${DEVICES} simulated devices and ${JOBS} queued jobs (in process)`);
  // 1. the pure matcher
  const views = Array.from({ length: DEVICES }, (_, i) => deviceView({ id: `sim-${i}`, fleet: `owner-${i % 300}`, inventory: simInventory(i) }));
  const needs: JobNeed[] = Array.from({ length: JOBS }, (_, i) => {
    const s = simSpec(i);
    return { jobId: `j-${i}`, count: s.replicas, bid: s.bid, resources: s.resources, constraints: s.constraints, excludeDevices: new Set(), excludeOwners: new Set() };
  });
  needs.sort((a, b) => (a.bid === b.bid ? 0 : a.bid > b.bid ? -1 : 1));
  planDispatch(needs.slice(0, 200), views, new Map()); // warm-up
  let t = process.hrtime.bigint();
  const plan = planDispatch(needs, views, new Map());
  const matchMs = Number(process.hrtime.bigint() - t) / 1e6;
  const placedJobs = new Set(plan.map((a) => a.jobId)).size;
  console.log(`matcher (pure):        ${plan.length} runs for ${placedJobs} jobs in ${matchMs.toFixed(0)} ms: ${Math.round((placedJobs / matchMs) * 1000)} jobs/s`);

  // 2. a whole scheduling pass of the hub's scheduler, persisted
  const tmp = tempDir('sosna-bench-sched-');
  const store = openSqliteStore(join(tmp.dir, 'hub.db'));
  try {
    store.jobs.tx(() => {
      for (let i = 0; i < DEVICES; i++) {
        store.createDevice({ id: `sim-${i}`, name: `sim-${i}`, fleet: `owner-${i % 300}`, tags: [], secretHash: 'x', createdAt: 0 });
        store.recordBirth(`sim-${i}`, { at: 0, name: `sim-${i}`, agentVersion: 'sim', inventory: simInventory(i) });
      }
      const now = Date.now();
      for (let i = 0; i < JOBS; i++) {
        const spec = simSpec(i);
        store.jobs.insertJob({ id: `j-${String(i).padStart(6, '0')}`, spec, state: 'queued', reason: null, replicas: spec.replicas, retries: 0, digest: null, exitCode: null, submittedBy: 'bench', key: null, createdAt: now + i, updatedAt: now + i, finishedAt: null });
      }
    });
    let starts = 0;
    const scheduler = new Scheduler({
      store,
      links: { call: async () => (starts++, [{ state: 'assigned' }]) },
      registry: { isOnline: () => true },
      events: new HubEventBus(),
      log: silentLogger,
      config: { leaseSec: 30, offlineGraceSec: 60, maxRetries: 3, maxLogBytesPerRun: 1 << 20, tickMs: 60_000 },
    });
    t = process.hrtime.bigint();
    scheduler.start(); // loads the queue and the devices
    const loadMs = Number(process.hrtime.bigint() - t) / 1e6;
    t = process.hrtime.bigint();
    const runs = scheduler.schedule();
    const passMs = Number(process.hrtime.bigint() - t) / 1e6;
    await new Promise((r) => setImmediate(r));
    scheduler.stop();
    const jobsPlaced = store.jobs.listJobs({ limit: JOBS }).filter((j) => j.state !== 'queued').length;
    console.log(`scheduler pass:        ${runs} runs for ${jobsPlaced} jobs matched, written and dispatched in ${passMs.toFixed(0)} ms: ${Math.round((jobsPlaced / passMs) * 1000)} jobs/s (queue load ${loadMs.toFixed(0)} ms, ${starts} starts sent)`);
    return { devices: DEVICES, jobs: JOBS, matcherMs: matchMs, matcherJobsPerSec: (placedJobs / matchMs) * 1000, passMs, passJobsPerSec: (jobsPlaced / passMs) * 1000, jobsPlaced, runs };
  } finally {
    store.close();
    tmp.cleanup();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function benchContainers(): Promise<Record<string, number> | null> {
  const why = dockerUnavailable();
  if (why) {
    console.log(`== jobs: container start overhead skipped (${why})`);
    return null;
  }
  console.log(`== jobs: container start overhead, ${CYCLES} runs of \`true\` each, interleaved, private dockerd`);
  const engine = await startPrivateDocker();
  const tmp = tempDir('sosna-bench-agent-');
  try {
    const client = await connectEngine(engine.host);
    const docker = client.docker;
    let finals = 0;
    const hub: HubCalls = {
      connected: () => true,
      call: (async (_s: unknown, method: string, p: { id: string; state: string; ids?: string[] }) => {
        if (method === 'update' && p.state === 'succeeded') finals++;
        return method === 'update' ? { id: p.id, state: p.state } : method === 'log' ? { accepted: 1 } : { leaseSec: 30, jobs: [] };
      }) as HubCalls['call'],
    };
    const config = DeviceConfig.parse({ hub: { url: 'mqtt://127.0.0.1:1' }, stateDir: tmp.dir });
    const manager = new JobManager({ config: config.jobs, stateDir: tmp.dir, deviceId: 'bench', engine: client, hub, log: silentLogger });
    await manager.start();
    const bare = async () => {
      const t = process.hrtime.bigint();
      const c = await docker.createContainer({ Image: engine.images.local, Cmd: ['true'], HostConfig: { NetworkMode: 'none', Memory: 256 * 2 ** 20 } });
      await c.start();
      await c.wait();
      await c.remove({ force: true });
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    let n = 0;
    const agent = async () => {
      const job: DeviceJob = { id: `j-bench.${n}.0`, jobId: 'j-bench', leaseSec: 30, issuedAt: Date.now(), spec: JobSpec.parse({ image: engine.images.local, command: ['true'] }) };
      n++;
      const t = process.hrtime.bigint();
      await manager.handlers().start({ job }, {} as never);
      await manager.settled(job.id);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    await bare();
    await agent(); // warm-up
    const b: number[] = [];
    const a: number[] = [];
    for (let i = 0; i < CYCLES; i++) {
      b.push(await bare());
      a.push(await agent());
    }
    await manager.stop();
    const mb = median(b);
    const ma = median(a);
    console.log(`bare dockerode cycle:  median ${mb.toFixed(1)} ms (create, start, wait, remove)`);
    console.log(`agent run:             median ${ma.toFixed(1)} ms (accept + fsync, image check, create, start, output, wait, result, remove): ${(ma / mb).toFixed(2)}x the bare cycle (target 1.2x); ${finals} results reported`);
    return { cycles: CYCLES, bareMedianMs: mb, agentMedianMs: ma, ratio: ma / mb };
  } finally {
    await engine.stop();
    tmp.cleanup();
  }
}

export async function benchJobs(): Promise<Record<string, unknown>> {
  const scheduler = await benchScheduler();
  const containers = await benchContainers();
  return { scheduler, containers };
}
