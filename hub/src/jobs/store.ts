// The job queue's persistent state behind one interface (SQLite now, a server database later): jobs,
// their runs on devices, the history of moves, output, the earnings ledger and each device's standing.
import type { LedgerEntry } from '../ledger/ledger.js';
import type { JobSpec, JobState, LogStream } from '@sosna/protocol';
import type { Standing } from './trust.js';

export interface JobRow {
  id: string;
  spec: JobSpec;
  state: JobState;
  reason: string | null;
  /** Results needed: spec.replicas, plus one for each split vote. */
  replicas: number;
  /** Runs lost so far (device died, lease lapsed). */
  retries: number;
  digest: string | null;
  exitCode: number | null;
  submittedBy: string;
  key: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export type Verdict = 'agree' | 'dissent';

export interface RunRow {
  id: string;
  jobId: string;
  replica: number;
  attempt: number;
  deviceId: string;
  owner: string;
  state: JobState;
  reason: string | null;
  exitCode: number | null;
  oom: boolean;
  digest: string | null;
  assignedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  runtimeMs: number | null;
  leaseUntil: number;
  endpoints: string[];
  restarts: number;
  gpus: number[];
  verdict: Verdict | null;
  billedSec: number | null;
  amount: bigint | null;
}

export interface JobEventRow {
  jobId: string;
  runId: string | null;
  at: number;
  from: JobState | null;
  to: JobState;
  reason: string | null;
}

export interface LogRow {
  seq: number;
  jobId: string;
  runId: string;
  at: number;
  stream: LogStream;
  data: string;
}

/** A ledger entry as the store keeps it (the ledger declares the shape: ledger/ledger.ts). */
export type CreditRow = LedgerEntry;

export interface MarketRow {
  deviceId: string;
  owner: string | null;
  reputation: number;
  agreed: number;
  dissented: number;
  lost: number;
  healthy: boolean;
  healthReason: string | null;
}

/** A ringer: a job the hub mixed in for one device, with the answer it knows. */
export interface RingerRow {
  jobId: string;
  deviceId: string;
  expected: string;
}

/** One proven wrong result's cut of an owner's stake (amount in wei); txHash once sent to the chain. */
export interface SlashRow {
  runId: string;
  owner: string;
  amount: bigint;
  reason: string;
  at: number;
  txHash: string | null;
}

export interface JobStore {
  /** Runs fn in one transaction (nested calls join the outer one). */
  tx<T>(fn: () => T): T;

  insertJob(row: JobRow): void;
  getJob(id: string): JobRow | undefined;
  findJobByKey(key: string): JobRow | undefined;
  /** Newest first; `submittedBy`: only that submitter's jobs (a buyer's view). */
  listJobs(filter: { state?: JobState; limit: number; submittedBy?: string }): JobRow[];
  /** Jobs not in a final state, oldest first. */
  liveJobs(): JobRow[];
  /** How many jobs are in each state (states with none are absent); one grouped query, for /metrics. */
  countByState(): Partial<Record<JobState, number>>;
  updateJob(id: string, patch: Partial<Omit<JobRow, 'id' | 'spec' | 'createdAt' | 'submittedBy' | 'key'>>): void;

  insertRun(row: RunRow): void;
  getRun(id: string): RunRow | undefined;
  runsOf(jobId: string): RunRow[];
  updateRun(id: string, patch: Partial<Omit<RunRow, 'id' | 'jobId' | 'replica' | 'attempt' | 'deviceId' | 'owner' | 'assignedAt'>>): void;

  addEvent(e: JobEventRow): void;
  eventsOf(jobId: string): JobEventRow[];

  /** Appends output; returns the sequence numbers given. */
  appendLogs(rows: Omit<LogRow, 'seq'>[]): number[];
  logsOf(jobId: string, afterSeq?: number, limit?: number): LogRow[];

  /** Writes one ledger entry; false when (jobId, deviceId) was credited already. */
  credit(row: CreditRow): boolean;
  credits(filter?: { owner?: string; jobId?: string; deviceId?: string }): CreditRow[];

  getMarket(deviceId: string): MarketRow | undefined;
  listMarket(): MarketRow[];
  putMarket(row: MarketRow): void;

  /** Verification records, keyed `device:ID` or `owner:ADDRESS`. */
  getStanding(subject: string): Standing | undefined;
  putStanding(subject: string, s: Standing): void;
  insertRinger(row: RingerRow): void;
  getRinger(jobId: string): RingerRow | undefined;
  /** Records a slash; false when that run was slashed already. */
  addSlash(row: SlashRow): boolean;
  slashes(filter?: { owner?: string; unsent?: boolean }): SlashRow[];
  markSlashSent(runId: string, txHash: string): void;
}

// The job store's domains, for a service that needs only one (and for a server database written per domain).
/** The earnings ledger: written by ledger/ledger.ts (called from Scheduler.settle), read by the earnings services. */
export type LedgerStore = Pick<JobStore, 'credit' | 'credits'>;
/** Device standing: market rows, verification records, ringers and slashes. */
export type StandingStore = Pick<JobStore, 'getMarket' | 'listMarket' | 'putMarket' | 'getStanding' | 'putStanding' | 'insertRinger' | 'getRinger' | 'addSlash' | 'slashes' | 'markSlashSent'>;
/** The queue itself: jobs, their runs, events and output. */
export type JobQueueStore = Omit<JobStore, keyof LedgerStore | keyof StandingStore>;
