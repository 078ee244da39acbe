// The runs this device holds and held lately, as the dashboard's Jobs page shows them: fed by the job
// manager (every saved state, every accepted piece of output), kept in memory within fixed bounds (the
// newest `keep` runs, the last `logBytes` of each one's output), and streamed to open dashboards as the
// payloads of the jobs.update and jobs.log calls the device makes to its hub (a RunReport, `{id, pieces}`).
// The manager's records forget a run once the hub has its result; this feed keeps it for the page.
import { isFinal } from '@sosna/protocol';
import type { DeviceJob, LogPiece, RunReport } from '@sosna/protocol';
import type { JobEvents } from '../jobs/index.js';
import type { JobSummary } from './sources.js';

export type JobFeedEvent = { kind: 'update'; payload: RunReport } | { kind: 'log'; payload: { id: string; pieces: LogPiece[] } };

interface Entry {
  summary: JobSummary;
  report: RunReport;
  /** Output pieces, oldest first, at most `logBytes` characters in all. */
  pieces: LogPiece[];
  size: number;
}

/** The fields of a report that the page shows: an update that changes none of them is not sent again. */
const shown = (r: RunReport) => JSON.stringify([r.state, r.reason, r.exitCode, r.oom, r.startedAt, r.finishedAt, r.runtimeMs, r.restarts, r.progress, r.endpoints, r.digest]);

export function summaryOf(job: DeviceJob, r: RunReport, acceptedAt: number): JobSummary {
  return {
    id: r.id, jobId: job.jobId, image: job.spec.image, kind: job.spec.kind, state: r.state, acceptedAt,
    bidPerSec: job.spec.bid.toString(),
    ...(r.startedAt !== undefined ? { startedAt: r.startedAt } : {}),
    ...(r.finishedAt !== undefined ? { endedAt: r.finishedAt } : {}),
    ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ...(r.runtimeMs !== undefined ? { runtimeMs: r.runtimeMs } : {}),
    ...(r.progress !== undefined ? { progress: r.progress } : {}),
    ...(r.restarts ? { restarts: r.restarts } : {}),
  };
}

/** The last `max` lines of a run's output (a partial last line included). */
export function tailLines(pieces: LogPiece[], max: number): string[] {
  const text = pieces.map((p) => p.data).join('');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-max);
}

export class JobsFeed implements JobEvents {
  private readonly runs = new Map<string, Entry>();
  private readonly listeners = new Set<(e: JobFeedEvent) => void>();
  private readonly keep: number;
  private readonly logBytes: number;
  private readonly now: () => number;

  constructor(o: { keep?: number; logBytes?: number; now?: () => number } = {}) {
    this.keep = o.keep ?? 50;
    this.logBytes = o.logBytes ?? 16 * 1024;
    this.now = o.now ?? Date.now;
  }

  update(job: DeviceJob, report: RunReport): void {
    const old = this.runs.get(report.id);
    if (old && shown(old.report) === shown(report)) return;
    const entry: Entry = old ?? { summary: summaryOf(job, report, this.now()), report, pieces: [], size: 0 };
    entry.summary = summaryOf(job, report, entry.summary.acceptedAt ?? this.now());
    entry.report = report;
    if (!old) {
      this.runs.set(report.id, entry);
      this.trim();
    }
    this.emit({ kind: 'update', payload: report });
  }

  log(id: string, piece: LogPiece): void {
    const entry = this.runs.get(id);
    if (!entry || !piece.data) return;
    entry.pieces.push(piece);
    entry.size += piece.data.length;
    while (entry.size > this.logBytes && entry.pieces.length > 1) entry.size -= entry.pieces.shift()!.data.length;
    if (entry.size > this.logBytes) {
      const only = entry.pieces[0]!;
      entry.pieces[0] = { ...only, data: only.data.slice(-this.logBytes) };
      entry.size = this.logBytes;
    }
    this.emit({ kind: 'log', payload: { id, pieces: [piece] } });
  }

  /** Newest first; `lines` of output each. */
  list(lines = 100): JobSummary[] {
    return [...this.runs.values()].reverse().map((e) => ({ ...e.summary, logTail: tailLines(e.pieces, lines), ...(e.pieces.length ? { logAt: e.pieces.at(-1)!.at } : {}) }));
  }

  subscribe(fn: (e: JobFeedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Drops the oldest finished runs beyond `keep` (runs in flight always stay). */
  private trim(): void {
    if (this.runs.size <= this.keep) return;
    for (const [id, e] of this.runs) {
      if (this.runs.size <= this.keep) break;
      if (isFinal(e.report.state) || e.report.state === 'lost') this.runs.delete(id);
    }
  }

  private emit(e: JobFeedEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch {
        /* a broken listener never disturbs the job manager */
      }
    }
  }
}
