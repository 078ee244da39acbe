// Jobs: the spec a buyer submits, the lifecycle as an explicit transition table, and the RPC services
// that carry jobs between console, hub and device (see docs/architecture.md "The job lifecycle").
//
//   console -> hub    jobs.submit/ls/show/logs/cancel, earnings.list/devices    (console/{op}/rpc/in)
//   hub -> device     jobs.start/cancel/list/logs                              (dev/{id}/rpc/in)
//   device -> hub     jobs.lease/update/log, earnings.mine                     (dev/{id}/rpc/out, odd channels)
//
// On a device a "job" is one run of a hub job: one replica, one attempt. Its id (`{jobId}.{replica}.{attempt}`)
// is the idempotency key: a redelivered start never starts a second container.
import { z } from 'zod';
import { SosnaError } from './errors.js';
import { Id, Millis } from './messages.js';
import { defineService } from './rpc/service.js';

// ---------------------------------------------------------------------------------------------------
// Lifecycle

export const JOB_STATES = ['queued', 'assigned', 'pulling', 'running', 'succeeded', 'failed', 'cancelled', 'lost'] as const;
export const JobState = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobState>;

/**
 * The only allowed moves. `lost` (the device died or its lease lapsed) ends a run; the job moves on from
 * it to `queued` (retry on another device), `failed` (retries exhausted) or `cancelled`.
 */
export const JOB_TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ['assigned', 'cancelled', 'failed'],
  assigned: ['pulling', 'running', 'failed', 'cancelled', 'lost'],
  pulling: ['running', 'failed', 'cancelled', 'lost'],
  running: ['succeeded', 'failed', 'cancelled', 'lost'],
  succeeded: [],
  failed: [],
  cancelled: [],
  lost: ['queued', 'failed', 'cancelled'],
};

/** States a job never leaves. A run also ends in `lost`. */
export const FINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled']);
export const isFinal = (s: JobState): boolean => FINAL_STATES.has(s);
/** States in which a run occupies a device. */
export const ACTIVE_STATES: ReadonlySet<JobState> = new Set(['assigned', 'pulling', 'running']);
export const isActive = (s: JobState): boolean => ACTIVE_STATES.has(s);

export class InvalidTransitionError extends SosnaError {
  constructor(readonly from: JobState, readonly to: JobState, what = 'job') {
    super('E_CONFLICT', `${what} cannot go from ${from} to ${to}`, { from, to });
  }
}

export function canTransition(from: JobState, to: JobState): boolean {
  return JOB_TRANSITIONS[from].includes(to);
}

/** Checks one move; throws InvalidTransitionError when the table does not allow it. */
export function transition(from: JobState, to: JobState, what?: string): JobState {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to, what);
  return to;
}

/**
 * The shortest chain of allowed moves from `from` to `to` (without `from`, with `to`), or null. A device
 * reports only its latest state, so the hub may learn `succeeded` of a run it still has as `assigned`:
 * it then records assigned -> running -> succeeded. `lost -> queued` never appears inside a path.
 */
export function transitionPath(from: JobState, to: JobState): JobState[] | null {
  if (from === to) return [];
  const prev = new Map<JobState, JobState>([[from, from]]);
  const queue: JobState[] = [from];
  while (queue.length) {
    const s = queue.shift()!;
    for (const n of JOB_TRANSITIONS[s]) {
      if (prev.has(n) || (n === 'queued' && s === 'lost' && to !== 'queued')) continue;
      prev.set(n, s);
      if (n === to) {
        const path: JobState[] = [n];
        for (let p = s; p !== from; p = prev.get(p)!) path.unshift(p);
        return path;
      }
      queue.push(n);
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------
// The job spec (strict: an unknown field is an error, not silently ignored)

const MiB = 1024 * 1024;
/** Token amount in wei: a decimal string (JSON, command lines) or a bigint (msgpack); always a bigint after parsing. */
export const Wei = z.union([
  z.bigint().nonnegative('must not be negative'),
  z.string().regex(/^\d{1,78}$/, 'must be a non-negative decimal integer (token wei)').transform((s) => BigInt(s)),
]);
export const ImageRef = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/, 'must be an image reference such as busybox:1.36 or registry.example:5000/team/app@sha256:...');
export const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name');
export const Sha256Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256: and 64 hex digits');
/** A torrent's info hash (BitTorrent v1: sha1 of the info dictionary), 40 lowercase hex digits. */
export const InfoHash = z.string().regex(/^[0-9a-f]{40}$/, 'must be a torrent info hash: 40 lowercase hex digits');
/** A run's result digest: sha256 of its stdout or output archive, or `btih:` the info hash of its output torrent. */
export const ResultDigest = z.union([Sha256Digest, z.string().regex(/^btih:[0-9a-f]{40}$/, 'must be btih: and 40 hex digits')]);
export const PeerAddress = z.string().max(262).regex(/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, 'must be host:port');

/**
 * The job's input, moved peer to peer (docs/architecture.md "Job data"): devices fetch the torrent's
 * pieces from the seeds and from each other, check each piece, and mount the files read-only.
 */
export const JobInput = z.strictObject({
  infoHash: InfoHash,
  /** The .torrent (bencoded, base64): names, sizes and piece hashes; small (20 bytes a piece). */
  torrent: z.string().max(4 * 1024 * 1024).regex(/^[A-Za-z0-9+/]+=*$/, 'must be base64'),
  /** Where the buyer (and the hub, as a fallback) seed it. */
  seeds: z.array(PeerAddress).min(1).max(16),
  /** Where the container sees it, read-only: the torrent's file or folder appears below this folder. */
  mount: z.string().max(4096).regex(/^\/[^:]*$/, 'must be an absolute path').default('/input'),
  /**
   * The hub fetches the input from the seeds too and seeds it until the job ends (a fallback seed: the
   * buyer's machine may then go offline). A hub that does not seed inputs, or has no room, refuses the job.
   */
  hubSeed: z.boolean().optional(),
});
export type JobInput = z.infer<typeof JobInput>;

export const GpuRequest = z.strictObject({
  count: z.number().int().min(1).max(64).default(1),
  vendor: z.enum(['nvidia', 'amd', 'intel']).optional(),
  /** Case-insensitive substring of the GPU name, e.g. "RTX 4090". */
  model: z.string().min(1).max(128).optional(),
  /** Minimum memory of each GPU, bytes. */
  vramMin: z.number().int().nonnegative().optional(),
});
export type GpuRequest = z.infer<typeof GpuRequest>;

export const JobResources = z.strictObject({
  cpus: z.number().positive('must be more than 0').max(1024).default(1),
  /** Hard limit; the container is OOM-killed above it (no swap). Docker's floor is 6 MiB. */
  memoryBytes: z.number().int().min(6 * MiB, 'must be at least 6 MiB').max(2 ** 50).default(256 * MiB),
  pids: z.number().int().min(8).max(4_194_304).default(512),
  gpus: GpuRequest.optional(),
  /** Free disk the device must have; used in matching (engines limit container disk only on some storage drivers). */
  diskBytes: z.number().int().positive().max(2 ** 53).optional(),
});
export type JobResources = z.infer<typeof JobResources>;

export const JobConstraints = z.strictObject({
  arch: z.string().max(32).optional(),
  profile: z.string().max(64).optional(),
  benchMin: z.record(z.string().max(64), z.number()).optional(),
});
export type JobConstraints = z.infer<typeof JobConstraints>;

export const PortSpec = z.strictObject({ port: z.number().int().min(1).max(65535), protocol: z.enum(['tcp', 'udp']).default('tcp') });
export type PortSpec = z.infer<typeof PortSpec>;

export const JobSpec = z
  .strictObject({
    /** What to run; pulled unless present, or loaded from `imageArchive` when given. */
    image: ImageRef,
    /** A `docker save` archive (served by the hub or any http(s) server) that provides `image`. */
    imageArchive: z.strictObject({ url: z.string().url().max(2048).regex(/^https?:\/\//, 'must be an http(s) URL'), sha256: Sha256Digest.optional() }).optional(),
    registryAuth: z.strictObject({ username: z.string().max(256), password: z.string().max(4096), serveraddress: z.string().max(256).optional() }).optional(),
    command: z.array(z.string().max(65_536)).max(1024).default([]),
    env: z.record(EnvName, z.string().max(65_536)).default({}),
    resources: JobResources.prefault({}),
    constraints: JobConstraints.optional(),
    /** Duration limit: a batch job past it is killed and failed; a service job is stopped (its term ended). */
    timeoutSec: z.number().int().min(1).max(30 * 86_400).default(3600),
    /** Bid: the most the buyer pays per second of running, in token wei. */
    bid: Wei.default(0n),
    /** Run on this many devices of distinct owners; the majority digest wins. */
    replicas: z.number().int().min(1).max(9).default(1),
    /**
     * The hub may check a single-replica batch job's result by running it again elsewhere (adaptive
     * verification); that needs output that is the same on every honest run. false: the output is not
     * reproducible (times, randomness, waiting on the buyer), so the hub never replicates it on its own.
     * Absent means true (optional rather than defaulted, so that older specs encode as they did).
     */
    verify: z.boolean().optional(),
    kind: z.enum(['batch', 'service']).default('batch'),
    /** Container ports a service publishes on the device (endpoints host:port are reported). */
    ports: z.array(PortSpec).max(16).default([]),
    /**
     * A writable root filesystem. Off: the image's files are read-only, the job writes to a tmpfs /tmp and
     * to the folder of its declared output (see docs/architecture.md "Hostile workloads"). Optional without
     * a default, so that a spec which does not ask carries no field an older device would refuse.
     */
    writableRoot: z.boolean().optional(),
    /** Network access; off (no interfaces but loopback) unless asked. */
    network: z.boolean().default(false),
    /** The declared output whose sha256 is the result: a path copied out of the container, else stdout. */
    output: z
      .strictObject({
        path: z.string().max(4096).regex(/^\//, 'must be an absolute path'),
        /** Share the output as a torrent: the result digest is `btih:` its info hash, the buyer downloads it from the devices. */
        torrent: z.boolean().optional(),
        /** The most bytes the output may hold; a larger one fails the run with that reason. */
        maxBytes: z.number().int().positive().max(2 ** 50).optional(),
      })
      .optional(),
    input: JobInput.optional(),
    /** A job that makes no progress (no output and no CPU time) for this long is restarted, then failed. */
    watchdog: z.strictObject({ stallSec: z.number().int().min(2).max(86_400) }).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.ports.length && !s.network) ctx.addIssue({ code: 'custom', path: ['ports'], message: 'publishing ports needs network: true' });
    if (s.kind === 'service' && s.replicas > 1) ctx.addIssue({ code: 'custom', path: ['replicas'], message: 'service jobs run once (replicas: 1)' });
    if (s.kind === 'batch' && s.ports.length) ctx.addIssue({ code: 'custom', path: ['ports'], message: 'only service jobs publish ports' });
    const envBytes = Object.entries(s.env).reduce((n, [k, v]) => n + k.length + v.length, 0);
    if (envBytes > 256 * 1024) ctx.addIssue({ code: 'custom', path: ['env'], message: 'must be at most 256 KiB in all' });
  });
export type JobSpec = z.output<typeof JobSpec>;
export type JobSpecInput = z.input<typeof JobSpec>;

/** Job and run ids: hub job ids are `j-` + 12 base32 characters; a run adds `.{replica}.{attempt}`. */
export const runIdOf = (jobId: string, replica: number, attempt: number) => `${jobId}.${replica}.${attempt}`;

// ---------------------------------------------------------------------------------------------------
// hub -> device

/** One run as the hub hands it to a device. */
export const DeviceJob = z.strictObject({
  id: Id,
  jobId: Id,
  spec: JobSpec,
  /** The device renews its lease at least this often (a third of it is a good period). */
  leaseSec: z.number().int().min(1).max(3600),
  issuedAt: Millis,
});
export type DeviceJob = z.infer<typeof DeviceJob>;

/** What a device says about one run: its latest state and results (sent until the hub acknowledges). */
export const RunReport = z.object({
  id: Id,
  state: JobState,
  at: Millis,
  reason: z.string().max(1024).optional(),
  exitCode: z.number().int().optional(),
  oom: z.boolean().optional(),
  digest: ResultDigest.optional(),
  startedAt: Millis.optional(),
  finishedAt: Millis.optional(),
  /** Time the container ran (all restarts of a service together), from the engine's clock. */
  runtimeMs: z.number().int().nonnegative().optional(),
  endpoints: z.array(z.string().max(256)).max(32).optional(),
  restarts: z.number().int().nonnegative().optional(),
  /** Pull progress, e.g. "12.5 MiB of 40.0 MiB". */
  progress: z.string().max(256).optional(),
  /** A finished run's receipt, signed with the device key (protocol/src/receipts.ts; checked against the registered key). */
  receipt: z.unknown().optional(),
});
export type RunReport = z.infer<typeof RunReport>;

export const LogStream = z.enum(['stdout', 'stderr', 'system']);
export type LogStream = z.infer<typeof LogStream>;
export const LogPiece = z.object({ stream: LogStream, data: z.string().max(64 * 1024), at: Millis });
export type LogPiece = z.infer<typeof LogPiece>;

export const deviceJobsService = defineService('jobs', {
  /** Answers only after the run is persisted on the device; a known id answers its current state. */
  start: { params: z.object({ job: DeviceJob }), result: z.object({ id: Id, state: JobState, duplicate: z.boolean() }) },
  cancel: { params: z.object({ id: Id, reason: z.string().max(256).optional() }), result: z.object({ id: Id, state: JobState }) },
  list: { params: z.object({}), result: z.object({ jobs: z.array(RunReport) }) },
  logs: { params: z.object({ id: Id, follow: z.boolean().default(false) }), result: LogPiece, streaming: true },
});

// ---------------------------------------------------------------------------------------------------
// device -> hub

export const hubJobsService = defineService('jobs', {
  /** Renews the leases of the runs the device holds; `keep: false` tells it to stop and forget one. */
  lease: {
    params: z.object({
      ids: z.array(Id).max(1024),
      health: z.enum(['ok', 'unhealthy']).optional(),
      reason: z.string().max(256).optional(),
    }),
    result: z.object({
      leaseSec: z.number().int().positive(),
      /** `peers`: for a run fetching a job input, where the job's other runs serve it (replicas feed each other). */
      jobs: z.array(z.object({ id: Id, keep: z.boolean(), reason: z.string().optional(), peers: z.array(PeerAddress).max(64).optional() })),
    }),
  },
  update: { params: RunReport, result: z.object({ id: Id, state: JobState }) },
  /**
   * While run `id` fetched its job's input, the peer at `peer` sent all of piece `piece` and it failed its
   * hash. The hub counts it against the device serving the job's input there (its reputation drops)
   * only within the limits of docs/architecture.md "Corrupted pieces"; `counted` says whether it did, `reason` why.
   */
  badPiece: {
    params: z.object({ id: Id, peer: PeerAddress, piece: z.number().int().nonnegative().max(2 ** 31) }),
    result: z.object({ counted: z.boolean(), deviceId: Id.nullable(), reason: z.string() }),
  },
  /** Output of a run, coalesced and rate-bounded by the device. */
  log: {
    params: z.object({ id: Id, pieces: z.array(LogPiece).min(1).max(64), dropped: z.number().int().nonnegative().optional() }),
    result: z.object({ accepted: z.number().int().nonnegative() }),
  },
});

// ---------------------------------------------------------------------------------------------------
// console -> hub

export const RunSummary = z.object({
  id: Id,
  deviceId: Id,
  owner: z.string(),
  replica: z.number().int(),
  attempt: z.number().int(),
  state: JobState,
  reason: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  oom: z.boolean(),
  digest: z.string().nullable(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  runtimeMs: z.number().nullable(),
  endpoints: z.array(z.string()),
  restarts: z.number().int(),
  /** agree / dissent with the majority digest (replicated jobs). */
  verdict: z.enum(['agree', 'dissent']).nullable(),
  billedSec: z.number().int().nullable(),
  amount: z.bigint().nullable(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const JobSummary = z.object({
  id: Id,
  state: JobState,
  kind: z.enum(['batch', 'service']),
  image: z.string(),
  replicas: z.number().int(),
  bid: z.bigint(),
  reason: z.string().nullable(),
  digest: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  retries: z.number().int(),
  devices: z.array(Id),
  endpoints: z.array(z.string()),
  submittedBy: z.string(),
  createdAt: Millis,
  updatedAt: Millis,
});
export type JobSummary = z.infer<typeof JobSummary>;

export const JobEvent = z.object({ at: Millis, runId: z.string().nullable(), from: JobState.nullable(), to: JobState, reason: z.string().nullable() });
export type JobEvent = z.infer<typeof JobEvent>;

/** The hub's copy of a job's input (input.hubSeed): fetching it from the seeds, then seeding it. */
export const InputSeedStatus = z.object({ state: z.enum(['fetching', 'seeding', 'failed']), have: z.number().int().nonnegative(), total: z.number().int().nonnegative(), reason: z.string().optional() });
export type InputSeedStatus = z.infer<typeof InputSeedStatus>;

export const JobDetail = JobSummary.extend({ spec: JobSpec, runs: z.array(RunSummary), events: z.array(JobEvent), inputSeed: InputSeedStatus.optional() });
export type JobDetail = z.infer<typeof JobDetail>;

export const JobLogChunk = z.object({ runId: Id, stream: LogStream, data: z.string(), at: Millis });
export type JobLogChunk = z.infer<typeof JobLogChunk>;

export const jobsService = defineService('jobs', {
  /** `key` makes a retried submit idempotent: the same key answers the job it created. */
  submit: { params: z.object({ spec: JobSpec, key: Id.optional() }), result: z.object({ jobId: Id, state: JobState, duplicate: z.boolean() }) },
  ls: { params: z.object({ state: JobState.optional(), limit: z.number().int().min(1).max(10_000).default(100) }), result: z.object({ jobs: z.array(JobSummary) }) },
  show: { params: z.object({ jobId: Id }), result: JobDetail },
  /** The output so far; with `follow`, then live until the job ends. */
  logs: { params: z.object({ jobId: Id, follow: z.boolean().default(false) }), result: JobLogChunk, streaming: true },
  cancel: { params: z.object({ jobId: Id, reason: z.string().max(256).optional() }), result: z.object({ jobId: Id, state: JobState }) },
});

export const OwnerEarnings = z.object({ owner: z.string(), amount: z.bigint(), runs: z.number().int(), seconds: z.number().int() });
export const DeviceStanding = z.object({
  deviceId: Id,
  owner: z.string(),
  reputation: z.number(),
  agreed: z.number().int(),
  dissented: z.number().int(),
  healthy: z.boolean(),
  amount: z.bigint(),
});
export type DeviceStanding = z.infer<typeof DeviceStanding>;

export const earningsService = defineService('earnings', {
  list: { params: z.object({ owner: z.string().max(128).optional() }), result: z.object({ owners: z.array(OwnerEarnings), total: z.bigint() }) },
  devices: { params: z.object({}), result: z.object({ devices: z.array(DeviceStanding) }) },
});

// ---------------------------------------------------------------------------------------------------
// device -> hub: what this device earned (its dashboard's earnings page)

/** The calling device's own share of the hub's earnings ledger (amounts in token wei). */
export const DeviceEarnings = z.object({
  /** The owner address the hub credits this device's runs to (null: none known). */
  owner: z.string().nullable(),
  /** Credited for this device's runs (verified results). */
  accrued: z.bigint(),
  /** The part of `accrued` in payouts mined on chain. */
  paid: z.bigint(),
  runs: z.number().int().nonnegative(),
  seconds: z.number().int().nonnegative(),
  /** The hub's HubWallet, where the owner claims (null: the hub runs without a chain). */
  wallet: z.string().regex(/^0x[0-9a-fA-F]{40}$/).nullable(),
});
export type DeviceEarnings = z.infer<typeof DeviceEarnings>;

export const deviceEarningsService = defineService('earnings', {
  mine: { params: z.object({}), result: DeviceEarnings },
});
