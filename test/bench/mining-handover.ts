// npm run bench (mining part): the acceptance figure of issue 15, "the time from a job's arrival to the GPU
// running it while mining (target <= 5 s)". A real private Docker Engine (test/docker.ts, as in
// test/rig-jobs.e2e.test.ts) with a fake `nvidia-container-runtime-hook` on its PATH (so it offers its real
// "nvidia" device driver and honours DeviceIDs), the agent's own job manager (agent/src/jobs) wired to the
// rig the way app.ts wires it (ProfitSwitch admit/place, RunGpus -> MiningRig.setJobGpus), and the fake xmrig
// mining on GPUs 0 and 1. Each hand-over: the run arrives at the agent (the jobs.start RPC handler is called,
// as the link calls it when the hub's message is in), the rig places it on a GPU and stops mining there, the
// engine starts its container; the clock stops at the container's State.StartedAt (seen through the engine's
// `start` event, then inspect: State.Running, and the GPU in its DeviceRequests). Also timed: arrival -> the
// miner off that GPU (its old process exited). Then the run ends and mining resumes on both GPUs.
// Without a private dockerd (root, docker.io, busybox-static) it fails and says what is missing: no figure.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceConfig, JobSpec, MiningConfig, silentLogger } from '@sosna/protocol';
import type { DeviceJob, RunReport } from '@sosna/protocol';
import { connectEngine, JobManager } from '../../agent/src/jobs/index.js';
import { MiningRig } from '../../agent/src/mining/rig.js';
import { ProfitSwitch } from '../../agent/src/mining/profit.js';
import { RunGpus } from '../../agent/src/mining/run-gpus.js';
import type { RigGpu } from '../../agent/src/mining/flight-sheet.js';
import { dockerUnavailable, startPrivateDocker } from '../docker.js';
import { makeFakeMiner } from '../fake-miner.js';
import { freePort } from '../procs.js';

export interface ContainerHandover {
  /** ms from the run's arrival at the agent to its container running (State.StartedAt). */
  toRunning: number;
  /** ms from the arrival to the miner's old process gone from that GPU. */
  toMinerOff: number;
  /** The driver's id the engine gave the container (DeviceRequests[0].DeviceIDs). */
  gpu: string;
}

const deadline = async <T>(what: string, ms: number, f: () => Promise<T | null>): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`bench mining: ${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** RFC 3339 with nanoseconds (the engine's StartedAt) -> ms since the epoch, with the sub-ms part. */
export function rfc3339Ms(s: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) throw new Error(`bench mining: not an RFC 3339 time: ${s}`);
  const frac = (m[2] ?? '0').padEnd(9, '0');
  return Date.parse(`${m[1]}${m[3]}`) + Number(frac) / 1e6;
}

export async function containerHandovers(runs: number): Promise<ContainerHandover[]> {
  const why = dockerUnavailable();
  if (why) throw new Error(`bench mining: the hand-over figure (a job's arrival -> its container running on the GPU) needs a private Docker Engine as test/rig-jobs.e2e.test.ts uses, and it cannot start here: ${why}. No figure was measured.`);
  const dir = await mkdtemp(join(tmpdir(), 'sosna-bench-rig-'));
  const hookBin = join(dir, 'hook-bin');
  const hookLog = join(dir, 'nvidia-hook.log');
  await mkdir(hookBin);
  // the fake hook: dockerd offers its "nvidia" device driver when it finds this on its PATH; runc runs it before the container starts
  await writeFile(join(hookBin, 'nvidia-container-runtime-hook'), `#!/bin/sh\nstate=$(cat)\nbundle=$(printf '%s' "$state" | sed -n 's/.*"bundle":"\\([^"]*\\)".*/\\1/p')\ngrep -o 'NVIDIA_VISIBLE_DEVICES=[^"]*' "$bundle/config.json" >> '${hookLog}'\nexit 0\n`);
  await chmod(join(hookBin, 'nvidia-container-runtime-hook'), 0o755);
  const engine = await startPrivateDocker({ path: [hookBin] });
  const miner = await makeFakeMiner();
  let rig: MiningRig | null = null;
  let jobs: JobManager | null = null;
  const events: NodeJS.ReadableStream[] = [];
  try {
    const client = await connectEngine(engine.host);
    await miner.setRate({ total: 2e6, perGpu: 1e6 });
    const gpus: RigGpu[] = [0, 1].map((i) => ({ index: i, vendorIndex: i, vendor: 'nvidia', state: 'ok' }));
    const sheet = MiningConfig.parse({
      miner: { id: 'xmrig', command: [miner.path, '--http-port', '{apiPort}', '--devices', '{gpus}', '--control', miner.control], api: { port: await freePort() } },
      algorithm: 'randomx', pool: 'p.example:1', wallet: 'w', gpus: [0, 1], statsIntervalSec: 1, stopGraceSec: 3,
      profit: { revenueWeiPerMh: { randomx: '1000' }, askAtLeastMining: true, hysteresisSec: 0 },
    });
    const r = new MiningRig({ sheet, gpus, log: silentLogger, worker: 'bench', restartMinMs: 100 });
    rig = r;
    let minerOff: number | null = null; // when the last setJobGpus that took GPUs resolved (Date.now())
    let jobsRef: JobManager | null = null;
    const runGpus = new RunGpus({
      gpus, gpusOf: (id) => jobsRef?.gpusOf(id),
      onChange: (held) => void r.setJobGpus(held).then(() => { if (held.length) minerOff = Date.now(); }),
    });
    const profit = new ProfitSwitch({ sheet, askPerSec: 1n, gpus, hashrate: (i) => r.gpuHashrate(i), jobGpus: () => runGpus.jobGpus() });
    const states = new Map<string, string>();
    const stateDir = join(dir, 'agent');
    const config = DeviceConfig.parse({ hub: { url: 'mqtt://127.0.0.1:1' }, stateDir, jobs: { publicHost: '127.0.0.1', bindAddress: '127.0.0.1', maxJobs: 2 } });
    jobs = new JobManager({
      config: config.jobs, stateDir, deviceId: 'bench-rig', engine: client, log: silentLogger,
      hub: { connected: () => false, call: () => Promise.reject(new Error('no hub in the bench')) },
      admit: (job) => profit.admit(job), placeGpus: (job) => profit.place(job),
      events: { update: (job: DeviceJob, report: RunReport) => (states.set(job.id, report.state), runGpus.update(job, report)), log: () => {} },
    });
    jobsRef = jobs;
    await jobs.start();
    // the engine's container starts, as it reports them
    const started = new Map<string, string>(); // job id -> container id
    const stream = (await client.docker.getEvents({ filters: { type: ['container'], event: ['start'], label: ['sosna.job'] } })) as NodeJS.ReadableStream;
    events.push(stream);
    let buf = '';
    stream.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const e = JSON.parse(line) as { id?: string; Actor?: { ID: string; Attributes?: Record<string, string> } };
          const id = e.Actor?.ID ?? e.id;
          const job = e.Actor?.Attributes?.['sosna.job'];
          if (id && job) started.set(job, id);
        } catch { /* a partial line: the next chunk completes it */ }
      }
    });
    r.start();
    const mining = (want: string) => deadline(`the miner mining on GPUs ${want}`, 30_000, async () => {
      const last = (await miner.starts()).at(-1);
      return last && last.argv[last.argv.indexOf('--devices') + 1] === want && r.state === 'running' && (await r.poll()) !== null ? true : null;
    });
    await mining('0,1');
    profit.observe({});
    const out: ContainerHandover[] = [];
    for (let n = 0; n < runs; n++) {
      minerOff = null;
      const job: DeviceJob = { id: `j-bench${n}.0.0`, jobId: `j-bench${n}`, leaseSec: 30, issuedAt: Date.now(), spec: JobSpec.parse({ image: engine.images.local, command: ['sh', '-c', 'sleep 1'], bid: 5000n, timeoutSec: 60, resources: { gpus: { count: 1 } } }) };
      const arrived = Date.now();
      const ack = await jobs.handlers().start({ job }, {} as never);
      if (ack.state !== 'assigned') throw new Error(`bench mining: run ${job.id} not taken: ${JSON.stringify(ack)}`);
      const containerId = await deadline(`the container of ${job.id} starting`, 60_000, async () => started.get(job.id) ?? null);
      const c = await client.docker.getContainer(containerId).inspect();
      const placed = jobs.gpusOf(job.id) ?? [];
      const req = (c.HostConfig as { DeviceRequests?: { DeviceIDs?: string[] }[] }).DeviceRequests?.[0]?.DeviceIDs ?? [];
      if (placed.length !== 1 || req.join(',') !== String(placed[0])) throw new Error(`bench mining: the container of ${job.id} got GPUs [${req}] but the rig placed it on [${placed}]`);
      const off = await deadline(`the miner off GPU ${placed[0]}`, 30_000, async () => minerOff);
      out.push({ toRunning: rfc3339Ms(c.State.StartedAt) - arrived, toMinerOff: off - arrived, gpu: req[0]! });
      await deadline(`run ${job.id} ending`, 60_000, async () => (['succeeded', 'failed', 'cancelled'].includes(states.get(job.id) ?? '') ? true : null));
      if (states.get(job.id) !== 'succeeded') throw new Error(`bench mining: run ${job.id} ended ${states.get(job.id)}`);
      await mining('0,1'); // mining on both GPUs again before the next run arrives
      profit.observe({});
    }
    const grants = (await readFile(hookLog, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    if (grants.length !== runs) throw new Error(`bench mining: the NVIDIA hook saw ${grants.length} containers, expected ${runs}`);
    return out;
  } finally {
    for (const s of events) (s as unknown as { destroy?: () => void }).destroy?.();
    await jobs?.stop().catch(() => {});
    await rig?.stop().catch(() => {});
    await engine.stop();
    await rm(miner.dir, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}
