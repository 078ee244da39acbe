// The trust simulation: the hub's real scheduler (dispatch, the verdict, adaptive replication, ringers,
// streaks and slashes from hub/src/jobs) over an in-memory SQLite store, with simulated devices that
// answer at once through a stub link (no MQTT). Each device has its own owner (a wallet address); 10% of
// them cheat in one of several ways. Counts what fraction of accepted results is wrong and how many runs
// each accepted result cost.
import { createHash } from 'node:crypto';
import { HubEventBus } from '../../hub/src/events.js';
import { openSqliteStore } from '../../hub/src/store/sqlite.js';
import { JobSpec, silentLogger } from '@sosna/protocol';
import type { DeviceJob } from '@sosna/protocol';
import { Scheduler } from '../../hub/src/jobs/scheduler.js';
import { checkRingers, DEFAULT_TRUST_POLICY } from '../../hub/src/jobs/trust.js';
import type { TrustPolicy } from '../../hub/src/jobs/trust.js';
import { MemoryStakes } from '../../hub/src/jobs/verifier.js';

export type Cheat = 'honest' | 'always-wrong' | 'wrong-10%' | 'lazy' | 'colluding' | 'colluding-always';

export interface SimOptions {
  cheat: Cheat;
  devices?: number;
  /** Fraction of devices that cheat. */
  share?: number;
  jobs?: number;
  seed?: number;
  /** 'adaptive': the hub's trust policy; 'fixed': every job asks for 2 replicas; 'none': single runs, no checks. */
  mode?: 'adaptive' | 'fixed' | 'none';
  policy?: Partial<TrustPolicy>;
  /** Jobs in flight at most (default: one per device, the fleet kept busy). */
  wave?: number;
  /** Owners staking (index -> wei). */
  stake?: (i: number, cheat: boolean) => bigint;
}

export interface SimResult {
  cheat: Cheat;
  mode: string;
  accepted: number;
  wrongAccepted: number;
  failedJobs: number;
  runs: number;
  ringerRuns: number;
  /** Runs per accepted buyer result. */
  overhead: number;
  wrongRate: number;
  slashed: bigint;
  /** Runs (buyers' jobs, replicas and ringers) each device got. */
  runsPerDevice: Record<string, number>;
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const GiB = 2 ** 30;
const taskOf = (spec: { command?: string[] }) => spec.command?.[1] ?? '';
const truth = (task: string) => sha(`result of ${task}`);

export async function runTrustSim(o: SimOptions): Promise<SimResult> {
  const n = o.devices ?? 40;
  const jobsTotal = o.jobs ?? 4000;
  const mode = o.mode ?? 'adaptive';
  const random = rng(o.seed ?? 1);
  const behave = rng((o.seed ?? 1) * 7919);
  const policy: TrustPolicy = { ...DEFAULT_TRUST_POLICY, ...o.policy };
  const cheaters = Math.round(n * (o.share ?? 0.1));
  const store = openSqliteStore(':memory:');
  const owners: string[] = [];
  const kind = new Map<string, Cheat>();
  const partner = new Map<string, string>();
  const stakes = new Map<string, bigint>();
  for (let i = 0; i < n; i++) {
    const id = `dev-${String(i).padStart(3, '0')}`;
    const owner = `0x${(i + 1).toString(16).padStart(40, '0')}`;
    owners.push(owner);
    const cheat = o.cheat !== 'honest' && i % Math.round(n / Math.max(1, cheaters)) === 0 && [...kind.values()].filter((k) => k !== 'honest').length < cheaters;
    kind.set(id, cheat ? o.cheat : 'honest');
    store.createDevice({ id, name: id, fleet: null, tags: [], secretHash: 'sim', createdAt: 0 });
    const inventory = {
      hostname: id, platform: 'linux', arch: 'x64', owner,
      jobs: { engine: { name: 'sim', version: '1', apiVersion: '1.41' }, askPerSec: '0', capacity: { cpus: 4, memoryBytes: 8 * GiB, jobs: 1 } },
    };
    store.recordBirth(id, { at: 0, name: id, agentVersion: 'sim', inventory });
    const s = o.stake?.(i, cheat) ?? 0n;
    if (s > 0n) stakes.set(owner, s);
  }
  const colluders = [...kind].filter(([, k]) => k.startsWith('colluding')).map(([id]) => id);
  for (let i = 0; i + 1 < colluders.length; i += 2) {
    partner.set(colluders[i]!, colluders[i + 1]!);
    partner.set(colluders[i + 1]!, colluders[i]!);
  }
  const book = new MemoryStakes(policy);
  for (const [owner, s] of stakes) book.stake(owner, s);
  const startStake = [...stakes.values()].reduce((a, b) => a + b, 0n);
  const ringers = checkRingers(
    Array.from({ length: 50 }, (_, k) => {
      const task = `task-r${Math.floor(random() * 1e9)}-${k}`;
      return { spec: JobSpec.parse({ image: 'sim/work', command: ['work', task], bid: '1' }), digest: truth(task) };
    }),
  );

  let clock = 1_000_000;
  const starts: { deviceId: string; job: DeviceJob }[] = [];
  const links = {
    call: (deviceId: string, _service: string, method: string, params: unknown) => {
      if (method === 'start') starts.push({ deviceId, job: (params as { job: DeviceJob }).job });
      return Promise.resolve({});
    },
  };
  const scheduler = new Scheduler({
    store, links: links as never, registry: { isOnline: () => true }, events: new HubEventBus(), log: silentLogger,
    config: { leaseSec: 3600, offlineGraceSec: 3600, maxRetries: 3, maxLogBytesPerRun: 1024, tickMs: 3_600_000 },
    now: () => clock,
    ...(mode === 'adaptive' ? { trust: { policy, ringers, stakes: book, random } } : {}),
  });
  scheduler.start();

  const last = new Map<string, string>(); // a lazy device's cached output
  const held = new Map<string, Set<string>>(); // job id -> colluders holding a run of it now
  const answer = (deviceId: string, job: DeviceJob): string => {
    const task = taskOf(job.spec);
    const right = truth(task);
    const k = kind.get(deviceId)!;
    let out = right;
    if (k === 'always-wrong') out = sha(`junk ${deviceId} ${task}`);
    else if (k === 'wrong-10%') out = behave() < 0.1 ? sha(`junk ${deviceId} ${task}`) : right;
    else if (k === 'lazy') out = last.has(deviceId) && behave() < 0.5 ? last.get(deviceId)! : right;
    else if (k === 'colluding-always') out = sha(`agreed lie ${task}`);
    else if (k === 'colluding') {
      // lie only when the partner holds a run of the same job (they compare notes out of band)
      const p = partner.get(deviceId);
      out = p && held.get(job.jobId)?.has(p) ? sha(`agreed lie ${task}`) : right;
    }
    last.set(deviceId, out);
    return out;
  };

  const buyerJobs: string[] = [];
  let submitted = 0;
  let runs = 0;
  const wave = o.wave ?? n;
  const runsPerDevice: Record<string, number> = {};
  while (submitted < jobsTotal || scheduler['live'].size > 0) {
    if (scheduler['live'].size < wave && submitted < jobsTotal) {
      const add = Math.min(wave, jobsTotal - submitted);
      for (let i = 0; i < add; i++, submitted++) {
        const spec = JobSpec.parse({ image: 'sim/work', command: ['work', `task-${submitted}`], bid: '1', replicas: mode === 'fixed' ? 2 : 1 });
        buyerJobs.push(scheduler.submit(spec, 'buyer').jobId);
      }
    }
    scheduler.schedule();
    await Promise.resolve(); // start promises settle
    const batch = starts.splice(0);
    if (batch.length === 0 && scheduler['live'].size > 0 && submitted >= jobsTotal) {
      // nothing placeable is left: the rest cannot finish (no other owner free); give up on them
      const stuck = [...scheduler['live'].keys()] as string[];
      if (scheduler.schedule() === 0 && starts.length === 0) {
        for (const id of stuck) scheduler.cancel(id, 'simulation over');
        break;
      }
      continue;
    }
    for (const s of batch) {
      if (colluders.includes(s.deviceId)) {
        let set = held.get(s.job.jobId);
        if (!set) held.set(s.job.jobId, (set = new Set()));
        set.add(s.deviceId);
      }
    }
    for (const s of batch) {
      clock += 10;
      const found = scheduler.findRun(s.job.id, s.deviceId);
      if (!found) continue;
      runs++;
      runsPerDevice[s.deviceId] = (runsPerDevice[s.deviceId] ?? 0) + 1;
      scheduler.applyReport(found.run, 'succeeded', { exitCode: 0, digest: answer(s.deviceId, s.job), runtimeMs: 1000, startedAt: clock - 1000, finishedAt: clock }, null);
    }
    for (const s of batch) held.delete(s.job.jobId);
  }
  scheduler.schedule();
  let accepted = 0;
  let wrong = 0;
  let failed = 0;
  for (const id of buyerJobs) {
    const j = store.jobs.getJob(id)!;
    if (j.state === 'succeeded') {
      accepted++;
      if (j.digest !== truth(taskOf(j.spec))) wrong++;
    } else failed++;
  }
  const ringerRuns = store.jobs.listJobs({ limit: 1e9 }).filter((j) => j.submittedBy === 'hub:ringer').length;
  const slashed = store.jobs.slashes().reduce((a, r) => a + r.amount, 0n);
  // the ledger is exact: what was slashed plus what is left is what was staked
  const left = owners.reduce((a, ow) => a + book.stakeOf(ow), 0n);
  if (mode === 'adaptive' && left + slashed !== startStake) throw new Error(`stake ledger off: ${left} + ${slashed} != ${startStake}`);
  scheduler.stop();
  store.close();
  return {
    cheat: o.cheat, mode, accepted, wrongAccepted: wrong, failedJobs: failed, runs, ringerRuns,
    overhead: runs / Math.max(1, accepted), wrongRate: wrong / Math.max(1, accepted), slashed, runsPerDevice,
  };
}
