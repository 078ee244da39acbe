// The runs this device holds, one file each in stateDir/jobs (atomic writes): written before a start is
// acknowledged, kept until the hub has the final report, so that a restart resumes every run and a
// redelivered start finds the run it already has.
import { readdirSync } from 'node:fs';
import { z } from 'zod';
import { DeviceJob, isFinal, JobState, Sha256Digest, SignedReceipt } from '@sosna/protocol';
import type { RunReport } from '@sosna/protocol';
import { StateStore } from '../state.js';

export const JobRecord = z.object({
  job: DeviceJob,
  state: JobState,
  /** Bumped on every change; the hub has seen everything up to reportedSeq. */
  seq: z.number().int().nonnegative(),
  reportedSeq: z.number().int().nonnegative(),
  acceptedAt: z.number(),
  reason: z.string().optional(),
  containerId: z.string().optional(),
  exitCode: z.number().int().optional(),
  oom: z.boolean().optional(),
  digest: Sha256Digest.optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  /** Running time of earlier container runs (service restarts); the current one is added on exit. */
  runtimeMs: z.number().int().nonnegative().default(0),
  endpoints: z.array(z.string()).default([]),
  restarts: z.number().int().nonnegative().default(0),
  /** Output bytes already forwarded to the hub (a re-attached runner skips them). */
  forwardedBytes: z.number().int().nonnegative().default(0),
  /** The hub no longer wants this run: stop it and forget it, no more reports. */
  abandoned: z.boolean().default(false),
  /** The container is gone (removed after the result was taken). */
  cleaned: z.boolean().default(false),
  progress: z.string().optional(),
  /** The finished run's receipt, signed with the device key (sent with the final report). */
  receipt: SignedReceipt.optional(),
  /** Rig mode: the GPUs chosen for this run (inventory indices) and the driver's ids the container gets. */
  gpus: z.array(z.number().int().nonnegative()).optional(),
  gpuDeviceIds: z.array(z.string().regex(/^[A-Za-z0-9-]{1,64}$/)).optional(),
});
export type JobRecord = z.infer<typeof JobRecord>;

/** JSON has no bigint: the bid is written as a decimal string and parsed back by the schema. */
const toJson = (rec: JobRecord) => JSON.parse(JSON.stringify(rec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as unknown;

export function newRecord(job: DeviceJob, now = Date.now()): JobRecord {
  return { job, state: 'assigned', seq: 1, reportedSeq: 0, acceptedAt: now, runtimeMs: 0, endpoints: [], restarts: 0, forwardedBytes: 0, abandoned: false, cleaned: false };
}

export function reportOf(rec: JobRecord, now = Date.now()): RunReport {
  return {
    id: rec.job.id,
    state: rec.state,
    at: now,
    ...(rec.reason !== undefined ? { reason: rec.reason.slice(0, 1024) } : {}),
    ...(rec.exitCode !== undefined ? { exitCode: rec.exitCode } : {}),
    ...(rec.oom !== undefined ? { oom: rec.oom } : {}),
    ...(rec.digest !== undefined ? { digest: rec.digest } : {}),
    ...(rec.startedAt !== undefined ? { startedAt: rec.startedAt } : {}),
    ...(rec.finishedAt !== undefined ? { finishedAt: rec.finishedAt } : {}),
    ...(rec.runtimeMs > 0 || rec.finishedAt !== undefined ? { runtimeMs: rec.runtimeMs } : {}),
    endpoints: rec.endpoints,
    restarts: rec.restarts,
    ...(rec.progress !== undefined ? { progress: rec.progress.slice(0, 256) } : {}),
    ...(rec.receipt !== undefined && isFinal(rec.state) ? { receipt: rec.receipt } : {}),
  };
}

const FILE = /^(.+)\.json$/;
const DONE_FILE = 'finished.json';
const DONE_LIMIT = 1000;
const Finished = z.array(z.tuple([z.string(), JobState]));

export class JobRecords {
  private readonly store: StateStore;
  private readonly all = new Map<string, JobRecord>();
  /** Ids of runs that are over and forgotten (the latest DONE_LIMIT): a late redelivery finds them. */
  private done = new Map<string, JobState>();

  constructor(dir: string, private readonly onCorrupt: (why: string) => void = () => {}) {
    this.store = new StateStore(dir);
  }

  load(): JobRecord[] {
    this.done = new Map(this.store.read(DONE_FILE, Finished, this.onCorrupt) ?? []);
    for (const name of readdirSync(this.store.dir)) {
      if (!FILE.test(name) || name === DONE_FILE) continue;
      const rec = this.store.read(name, JobRecord, this.onCorrupt);
      if (rec) this.all.set(rec.job.id, rec);
    }
    return [...this.all.values()];
  }

  get(id: string): JobRecord | undefined {
    return this.all.get(id);
  }

  list(): JobRecord[] {
    return [...this.all.values()];
  }

  /** Persists (fsync'd) before returning. */
  save(rec: JobRecord): void {
    this.store.write(`${rec.job.id}.json`, toJson(rec));
    this.all.set(rec.job.id, rec);
  }

  /** Forgets a run; a finished one is remembered by id and final state. */
  remove(id: string, state?: JobState): void {
    if (state) {
      this.done.delete(id);
      this.done.set(id, state);
      while (this.done.size > DONE_LIMIT) this.done.delete(this.done.keys().next().value!);
      this.store.write(DONE_FILE, [...this.done.entries()]);
    }
    this.store.remove(`${id}.json`);
    this.all.delete(id);
  }

  finished(id: string): JobState | undefined {
    return this.done.get(id);
  }
}
