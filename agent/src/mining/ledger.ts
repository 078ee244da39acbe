// Rig earnings over time (issue 15 item 5): per interval, what mining earned (each mining GPU's net from the
// profit plan: hashrate x rate minus power, token wei) and what compute earned (the bids per second of the
// runs that ran), plus every switching decision with its reason. Kept durable and bounded: one JSON line per
// closed interval or decision appended to `stateDir/rig-earnings.jsonl`; on load the last `maxBuckets`
// intervals and `maxDecisions` decisions are kept, and the file is rewritten to those when it has grown to
// twice that. Money is bigint in memory, decimal strings on disk and on the wire.
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RigDecision, RigEarnings, RigInterval } from '@sosna/protocol';
import type { Plan } from './planner.js';

export const LEDGER_FILE = 'rig-earnings.jsonl';

export interface LedgerOptions {
  stateDir: string;
  intervalSec?: number;
  maxBuckets?: number;
  maxDecisions?: number;
  now?: () => number;
}

interface Open {
  at: number;
  ms: number;
  mining: bigint;
  compute: bigint;
  /** Mining's worth was unknown (no rate, stale, no hashrate) for part of the interval. */
  unknownMs: number;
}

export class RigLedger {
  private readonly file: string;
  private readonly intervalMs: number;
  private readonly maxBuckets: number;
  private readonly maxDecisions: number;
  private readonly now: () => number;
  private buckets: RigInterval[] = [];
  private decisions: RigDecision[] = [];
  private open: Open | null = null;
  private lastAt: number | null = null;
  private modes = new Map<number, string>();
  private lines = 0;

  constructor(o: LedgerOptions) {
    this.file = join(o.stateDir, LEDGER_FILE);
    this.intervalMs = (o.intervalSec ?? 60) * 1000;
    this.maxBuckets = o.maxBuckets ?? 7 * 24 * 60;
    this.maxDecisions = o.maxDecisions ?? 1000;
    this.now = o.now ?? Date.now;
    this.load();
  }

  private load(): void {
    if (!existsSync(this.file)) return;
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line) continue;
      this.lines++;
      try {
        const v = JSON.parse(line) as { k?: string } & Record<string, unknown>;
        if (v.k === 'i') this.buckets.push({ at: Number(v.at), sec: Number(v.sec), miningWei: String(v.miningWei), computeWei: String(v.computeWei), miningUnknownSec: Number(v.miningUnknownSec ?? 0) });
        else if (v.k === 'd') this.decisions.push({ at: Number(v.at), gpu: Number(v.gpu), from: String(v.from), to: String(v.to), reason: String(v.reason) });
      } catch {
        /* a torn last line after a crash: skipped */
      }
    }
    this.buckets = this.buckets.slice(-this.maxBuckets);
    this.decisions = this.decisions.slice(-this.maxDecisions);
    if (this.lines > 2 * (this.maxBuckets + this.maxDecisions)) this.compact();
  }

  private compact(): void {
    const tmp = `${this.file}.tmp`;
    const all = [...this.buckets.map((b) => ({ k: 'i', ...b })), ...this.decisions.map((d) => ({ k: 'd', ...d }))];
    writeFileSync(tmp, all.map((x) => JSON.stringify(x)).join('\n') + (all.length ? '\n' : ''));
    renameSync(tmp, this.file);
    this.lines = all.length;
  }

  private append(x: object): void {
    appendFileSync(this.file, `${JSON.stringify(x)}\n`);
    if (++this.lines > 2 * (this.maxBuckets + this.maxDecisions)) this.compact();
  }

  private close(o: Open): void {
    const b: RigInterval = { at: o.at, sec: Math.round(o.ms / 1000), miningWei: o.mining.toString(), computeWei: o.compute.toString(), miningUnknownSec: Math.round(o.unknownMs / 1000) };
    this.buckets.push(b);
    if (this.buckets.length > this.maxBuckets) this.buckets.splice(0, this.buckets.length - this.maxBuckets);
    this.append({ k: 'i', ...b });
  }

  /** A decision the rig took (or refused), with its reason. */
  decide(d: Omit<RigDecision, 'at'>, at = this.now()): void {
    const x: RigDecision = { at, ...d, reason: d.reason.slice(0, 500) };
    this.decisions.push(x);
    if (this.decisions.length > this.maxDecisions) this.decisions.splice(0, this.decisions.length - this.maxDecisions);
    this.append({ k: 'd', ...x });
  }

  /** A run the rig refused (ProfitSwitch.admit's reason): a decision that kept every GPU mining. */
  refused(run: { id: string; spec: { bid: bigint } }, why: string, at = this.now()): void {
    this.decide({ gpu: -1, from: 'mine', to: 'mine', reason: `run ${run.id} (bid ${run.spec.bid} wei/s) refused: ${why}` }, at);
  }

  /**
   * One telemetry tick: the time since the last tick (at most two intervals: a suspended agent earns nothing)
   * is credited at the plan's mining net of each GPU that mines and at `computePerSec`; a GPU whose mode
   * changed is a decision (its reason is the plan's).
   */
  observe(plan: Plan, computePerSec: bigint, now = this.now()): void {
    for (const g of plan.gpus) {
      const before = this.modes.get(g.index);
      if (before !== undefined && before !== g.mode) this.decide({ gpu: g.index, from: before, to: g.mode, reason: g.reason }, now);
      this.modes.set(g.index, g.mode);
    }
    const last = this.lastAt;
    this.lastAt = now;
    if (last === null || now <= last) return;
    const dt = Math.min(now - last, 2 * this.intervalMs);
    let mining = 0n;
    let unknown = false;
    for (const g of plan.gpus) {
      if (g.mode !== 'mine') continue;
      if (g.miningNetWeiPerSec === null) unknown = true;
      else mining += g.miningNetWeiPerSec;
    }
    const start = now - dt;
    const slot = Math.floor(start / this.intervalMs) * this.intervalMs;
    if (this.open && this.open.at !== slot) {
      this.close(this.open);
      this.open = null;
    }
    this.open ??= { at: slot, ms: 0, mining: 0n, compute: 0n, unknownMs: 0 };
    const ms = BigInt(dt);
    this.open.ms += dt;
    this.open.mining += (mining * ms) / 1000n;
    this.open.compute += (computePerSec * ms) / 1000n;
    if (unknown) this.open.unknownMs += dt;
  }

  /** The last `limit` intervals (the open one included) and decisions, with totals over those intervals. */
  report(limit = 60): RigEarnings {
    const open = this.open ? [{ at: this.open.at, sec: Math.round(this.open.ms / 1000), miningWei: this.open.mining.toString(), computeWei: this.open.compute.toString(), miningUnknownSec: Math.round(this.open.unknownMs / 1000) }] : [];
    const intervals = [...this.buckets, ...open].slice(-limit);
    const sum = (f: (b: RigInterval) => string) => intervals.reduce((s, b) => s + BigInt(f(b)), 0n).toString();
    return {
      intervalSec: this.intervalMs / 1000, intervals, decisions: this.decisions.slice(-limit),
      totals: { miningWei: sum((b) => b.miningWei), computeWei: sum((b) => b.computeWei), sec: intervals.reduce((s, b) => s + b.sec, 0) },
    };
  }

  /** Closes the open interval (agent stop), so it survives the restart. */
  flush(): void {
    if (this.open) this.close(this.open);
    this.open = null;
  }
}
