// The job queue in the hub's SQLite file (tables from migration 2 in sqlite.ts). Token amounts are stored
// as decimal TEXT (wei exceed SQLite's 64-bit integers) and summed as bigint in JavaScript.
import type Database from 'better-sqlite3';
import { JobSpec } from '@sosna/protocol';
import type { JobState, LogStream } from '@sosna/protocol';
import type { CreditRow, JobEventRow, JobRow, JobStore, LogRow, MarketRow, RingerRow, RunRow, SlashRow, Verdict } from '../jobs/store.js';

export const JOBS_MIGRATION = `
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY, spec TEXT NOT NULL, state TEXT NOT NULL, reason TEXT, replicas INTEGER NOT NULL,
    retries INTEGER NOT NULL DEFAULT 0, digest TEXT, exit_code INTEGER, submitted_by TEXT NOT NULL, idem_key TEXT UNIQUE,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, finished_at INTEGER);
  CREATE INDEX jobs_state ON jobs(state, created_at);
  CREATE TABLE job_runs (
    id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id), replica INTEGER NOT NULL, attempt INTEGER NOT NULL,
    device_id TEXT NOT NULL, owner TEXT NOT NULL, state TEXT NOT NULL, reason TEXT, exit_code INTEGER,
    oom INTEGER NOT NULL DEFAULT 0, digest TEXT, assigned_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,
    runtime_ms INTEGER, lease_until INTEGER NOT NULL, endpoints TEXT NOT NULL DEFAULT '[]', restarts INTEGER NOT NULL DEFAULT 0,
    gpus TEXT NOT NULL DEFAULT '[]', verdict TEXT, billed_sec INTEGER, amount TEXT);
  CREATE INDEX job_runs_job ON job_runs(job_id);
  CREATE TABLE job_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, run_id TEXT, at INTEGER NOT NULL,
    from_state TEXT, to_state TEXT NOT NULL, reason TEXT);
  CREATE INDEX job_events_job ON job_events(job_id, seq);
  CREATE TABLE job_logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, run_id TEXT NOT NULL, at INTEGER NOT NULL,
    stream TEXT NOT NULL, data TEXT NOT NULL);
  CREATE INDEX job_logs_job ON job_logs(job_id, seq);
  CREATE TABLE earnings (
    job_id TEXT NOT NULL, device_id TEXT NOT NULL, run_id TEXT NOT NULL, owner TEXT NOT NULL, seconds INTEGER NOT NULL,
    price TEXT NOT NULL, amount TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (job_id, device_id));
  CREATE INDEX earnings_owner ON earnings(owner);
  CREATE TABLE device_market (
    device_id TEXT PRIMARY KEY, owner TEXT, reputation REAL NOT NULL, agreed INTEGER NOT NULL DEFAULT 0,
    dissented INTEGER NOT NULL DEFAULT 0, lost INTEGER NOT NULL DEFAULT 0, healthy INTEGER NOT NULL DEFAULT 1, health_reason TEXT);`;

// 6: verification records (streaks per device and per owner), ringers and stake slashes (hub/src/jobs/trust.ts)
export const TRUST_MIGRATION = `
  CREATE TABLE trust_standing (subject TEXT PRIMARY KEY, streak INTEGER NOT NULL, verified INTEGER NOT NULL, failures INTEGER NOT NULL);
  CREATE TABLE trust_ringers (job_id TEXT PRIMARY KEY REFERENCES jobs(id), device_id TEXT NOT NULL, expected TEXT NOT NULL);
  CREATE TABLE trust_slashes (
    run_id TEXT PRIMARY KEY, owner TEXT NOT NULL, amount TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL, tx_hash TEXT);
  CREATE INDEX trust_slashes_owner ON trust_slashes(owner);`;

type Raw = Record<string, unknown>;
const nul = <T>(v: unknown): T | null => (v === undefined || v === null ? null : (v as T));
const big = (v: unknown): bigint | null => (typeof v === 'string' ? BigInt(v) : null);

/** The spec as JSON: the bid (a bigint) as a decimal string; parsed back through the schema. */
const specText = (spec: JobSpec) => JSON.stringify(spec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

function toJob(r: Raw): JobRow {
  return {
    id: r.id as string,
    spec: JobSpec.parse(JSON.parse(r.spec as string)),
    state: r.state as JobState,
    reason: nul(r.reason),
    replicas: r.replicas as number,
    retries: r.retries as number,
    digest: nul(r.digest),
    exitCode: nul(r.exit_code),
    submittedBy: r.submitted_by as string,
    key: nul(r.idem_key),
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
    finishedAt: nul(r.finished_at),
  };
}

function toRun(r: Raw): RunRow {
  return {
    id: r.id as string,
    jobId: r.job_id as string,
    replica: r.replica as number,
    attempt: r.attempt as number,
    deviceId: r.device_id as string,
    owner: r.owner as string,
    state: r.state as JobState,
    reason: nul(r.reason),
    exitCode: nul(r.exit_code),
    oom: r.oom === 1,
    digest: nul(r.digest),
    assignedAt: r.assigned_at as number,
    startedAt: nul(r.started_at),
    finishedAt: nul(r.finished_at),
    runtimeMs: nul(r.runtime_ms),
    leaseUntil: r.lease_until as number,
    endpoints: JSON.parse(r.endpoints as string) as string[],
    restarts: r.restarts as number,
    gpus: JSON.parse(r.gpus as string) as number[],
    verdict: nul<Verdict>(r.verdict),
    billedSec: nul(r.billed_sec),
    amount: big(r.amount),
  };
}

const JOB_COLUMNS: Record<string, string> = {
  state: 'state', reason: 'reason', replicas: 'replicas', retries: 'retries', digest: 'digest', exitCode: 'exit_code', updatedAt: 'updated_at', finishedAt: 'finished_at',
};
const RUN_COLUMNS: Record<string, string> = {
  state: 'state', reason: 'reason', exitCode: 'exit_code', oom: 'oom', digest: 'digest', startedAt: 'started_at', finishedAt: 'finished_at', runtimeMs: 'runtime_ms',
  leaseUntil: 'lease_until', endpoints: 'endpoints', restarts: 'restarts', gpus: 'gpus', verdict: 'verdict', billedSec: 'billed_sec', amount: 'amount',
};

function sqlValue(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return JSON.stringify(v);
  return v ?? null;
}

export function createSqliteJobStore(db: Database.Database): JobStore {
  const q = {
    countByState: db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state'),
    insertJob: db.prepare(
      `INSERT INTO jobs (id, spec, state, reason, replicas, retries, digest, exit_code, submitted_by, idem_key, created_at, updated_at, finished_at)
       VALUES (@id, @spec, @state, @reason, @replicas, @retries, @digest, @exitCode, @submittedBy, @key, @createdAt, @updatedAt, @finishedAt)`,
    ),
    getJob: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    byKey: db.prepare('SELECT * FROM jobs WHERE idem_key = ?'),
    live: db.prepare(`SELECT * FROM jobs WHERE state NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY created_at, id`),
    insertRun: db.prepare(
      `INSERT INTO job_runs (id, job_id, replica, attempt, device_id, owner, state, reason, exit_code, oom, digest, assigned_at, started_at,
         finished_at, runtime_ms, lease_until, endpoints, restarts, gpus, verdict, billed_sec, amount)
       VALUES (@id, @jobId, @replica, @attempt, @deviceId, @owner, @state, @reason, @exitCode, @oom, @digest, @assignedAt, @startedAt,
         @finishedAt, @runtimeMs, @leaseUntil, @endpoints, @restarts, @gpus, @verdict, @billedSec, @amount)`,
    ),
    getRun: db.prepare('SELECT * FROM job_runs WHERE id = ?'),
    runsOf: db.prepare('SELECT * FROM job_runs WHERE job_id = ? ORDER BY replica, attempt'),
    addEvent: db.prepare('INSERT INTO job_events (job_id, run_id, at, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?, ?)'),
    eventsOf: db.prepare('SELECT * FROM job_events WHERE job_id = ? ORDER BY seq'),
    addLog: db.prepare('INSERT INTO job_logs (job_id, run_id, at, stream, data) VALUES (?, ?, ?, ?, ?)'),
    logsOf: db.prepare('SELECT * FROM job_logs WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
    credit: db.prepare(
      `INSERT INTO earnings (job_id, device_id, run_id, owner, seconds, price, amount, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id, device_id) DO NOTHING`,
    ),
    getMarket: db.prepare('SELECT * FROM device_market WHERE device_id = ?'),
    listMarket: db.prepare('SELECT * FROM device_market ORDER BY device_id'),
    putMarket: db.prepare(
      `INSERT INTO device_market (device_id, owner, reputation, agreed, dissented, lost, healthy, health_reason)
       VALUES (@deviceId, @owner, @reputation, @agreed, @dissented, @lost, @healthy, @healthReason)
       ON CONFLICT (device_id) DO UPDATE SET owner = excluded.owner, reputation = excluded.reputation, agreed = excluded.agreed,
         dissented = excluded.dissented, lost = excluded.lost, healthy = excluded.healthy, health_reason = excluded.health_reason`,
    ),
    getStanding: db.prepare('SELECT * FROM trust_standing WHERE subject = ?'),
    putStanding: db.prepare(
      `INSERT INTO trust_standing (subject, streak, verified, failures) VALUES (?, ?, ?, ?)
       ON CONFLICT (subject) DO UPDATE SET streak = excluded.streak, verified = excluded.verified, failures = excluded.failures`,
    ),
    insertRinger: db.prepare('INSERT INTO trust_ringers (job_id, device_id, expected) VALUES (?, ?, ?)'),
    getRinger: db.prepare('SELECT * FROM trust_ringers WHERE job_id = ?'),
    addSlash: db.prepare(
      'INSERT INTO trust_slashes (run_id, owner, amount, reason, at, tx_hash) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING',
    ),
    markSlash: db.prepare('UPDATE trust_slashes SET tx_hash = ? WHERE run_id = ?'),
  };
  const toSlash = (r: Raw): SlashRow => ({
    runId: r.run_id as string, owner: r.owner as string, amount: BigInt(r.amount as string), reason: r.reason as string, at: r.at as number, txHash: nul(r.tx_hash),
  });
  const updates = new Map<string, Database.Statement>();
  const update = (table: string, columns: Record<string, string>, id: string, patch: Record<string, unknown>) => {
    const keys = Object.keys(patch).filter((k) => patch[k] !== undefined && columns[k]);
    if (keys.length === 0) return;
    const sig = `${table}:${keys.join(',')}`;
    let stmt = updates.get(sig);
    if (!stmt) {
      stmt = db.prepare(`UPDATE ${table} SET ${keys.map((k) => `${columns[k]} = ?`).join(', ')} WHERE id = ?`);
      updates.set(sig, stmt);
    }
    stmt.run(...keys.map((k) => sqlValue(patch[k])), id);
  };
  const toMarket = (r: Raw): MarketRow => ({
    deviceId: r.device_id as string,
    owner: nul(r.owner),
    reputation: r.reputation as number,
    agreed: r.agreed as number,
    dissented: r.dissented as number,
    lost: r.lost as number,
    healthy: r.healthy === 1,
    healthReason: nul(r.health_reason),
  });
  const toCredit = (r: Raw): CreditRow => ({
    jobId: r.job_id as string, deviceId: r.device_id as string, runId: r.run_id as string, owner: r.owner as string,
    seconds: r.seconds as number, price: BigInt(r.price as string), amount: BigInt(r.amount as string), at: r.at as number,
  });

  return {
    tx: <T>(fn: () => T): T => (db.inTransaction ? fn() : db.transaction(fn)()),
    insertJob: (row) =>
      void q.insertJob.run({ ...row, spec: specText(row.spec), reason: row.reason, digest: row.digest, exitCode: row.exitCode, key: row.key, finishedAt: row.finishedAt }),
    getJob: (id) => {
      const r = q.getJob.get(id) as Raw | undefined;
      return r ? toJob(r) : undefined;
    },
    findJobByKey: (key) => {
      const r = q.byKey.get(key) as Raw | undefined;
      return r ? toJob(r) : undefined;
    },
    listJobs: ({ state, limit, submittedBy }) => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (state) where.push('state = ?'), args.push(state);
      if (submittedBy !== undefined) where.push('submitted_by = ?'), args.push(submittedBy);
      const rows = db.prepare(`SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`).all(...args, limit);
      return (rows as Raw[]).map(toJob);
    },
    liveJobs: () => (q.live.all() as Raw[]).map(toJob),
    countByState: () => Object.fromEntries((q.countByState.all() as { state: JobState; n: number }[]).map((r) => [r.state, r.n])),
    updateJob: (id, patch) => update('jobs', JOB_COLUMNS, id, patch),
    insertRun: (row) => void q.insertRun.run(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, sqlValue(v)]))),
    getRun: (id) => {
      const r = q.getRun.get(id) as Raw | undefined;
      return r ? toRun(r) : undefined;
    },
    runsOf: (jobId) => (q.runsOf.all(jobId) as Raw[]).map(toRun),
    updateRun: (id, patch) => update('job_runs', RUN_COLUMNS, id, patch),
    addEvent: (e: JobEventRow) => void q.addEvent.run(e.jobId, e.runId, e.at, e.from, e.to, e.reason),
    eventsOf: (jobId) =>
      (q.eventsOf.all(jobId) as Raw[]).map((r) => ({
        jobId: r.job_id as string, runId: nul(r.run_id), at: r.at as number, from: nul<JobState>(r.from_state), to: r.to_state as JobState, reason: nul(r.reason),
      })),
    appendLogs: (rows) => rows.map((r) => Number(q.addLog.run(r.jobId, r.runId, r.at, r.stream, r.data).lastInsertRowid)),
    logsOf: (jobId, afterSeq = 0, limit = 100_000) =>
      (q.logsOf.all(jobId, afterSeq, limit) as Raw[]).map(
        (r): LogRow => ({ seq: r.seq as number, jobId: r.job_id as string, runId: r.run_id as string, at: r.at as number, stream: r.stream as LogStream, data: r.data as string }),
      ),
    credit: (c: CreditRow) => q.credit.run(c.jobId, c.deviceId, c.runId, c.owner, c.seconds, c.price.toString(), c.amount.toString(), c.at).changes === 1,
    credits: (filter = {}) => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.owner !== undefined) { where.push('owner = ?'); args.push(filter.owner); }
      if (filter.jobId !== undefined) { where.push('job_id = ?'); args.push(filter.jobId); }
      if (filter.deviceId !== undefined) { where.push('device_id = ?'); args.push(filter.deviceId); }
      return (db.prepare(`SELECT * FROM earnings${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at, job_id, device_id`).all(...args) as Raw[]).map(toCredit);
    },
    getMarket: (deviceId) => {
      const r = q.getMarket.get(deviceId) as Raw | undefined;
      return r ? toMarket(r) : undefined;
    },
    listMarket: () => (q.listMarket.all() as Raw[]).map(toMarket),
    putMarket: (row: MarketRow) => void q.putMarket.run({ ...row, healthy: row.healthy ? 1 : 0 }),
    getStanding: (subject) => {
      const r = q.getStanding.get(subject) as Raw | undefined;
      return r ? { streak: r.streak as number, verified: r.verified as number, failures: r.failures as number } : undefined;
    },
    putStanding: (subject, s) => void q.putStanding.run(subject, s.streak, s.verified, s.failures),
    insertRinger: (row: RingerRow) => void q.insertRinger.run(row.jobId, row.deviceId, row.expected),
    getRinger: (jobId) => {
      const r = q.getRinger.get(jobId) as Raw | undefined;
      return r ? { jobId: r.job_id as string, deviceId: r.device_id as string, expected: r.expected as string } : undefined;
    },
    addSlash: (row: SlashRow) => q.addSlash.run(row.runId, row.owner, row.amount.toString(), row.reason, row.at, row.txHash).changes === 1,
    slashes: (filter = {}) => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.owner !== undefined) { where.push('owner = ?'); args.push(filter.owner); }
      if (filter.unsent) where.push('tx_hash IS NULL');
      return (db.prepare(`SELECT * FROM trust_slashes${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY at, run_id`).all(...args) as Raw[]).map(toSlash);
    },
    markSlashSent: (runId, txHash) => void q.markSlash.run(txHash, runId),
  };
}
