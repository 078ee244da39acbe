// Telemetry by exception: a pure planner decides what to send from the last sent values and a new sample;
// a full snapshot goes out every `fullEveryMs` (and first), otherwise only metrics that moved past their
// threshold, or nothing at all.
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { Telemetry } from '@sosna/protocol';
import { readCpuTemp } from './thermal.js';

export interface PlanState {
  last: Record<string, number>;
  lastFullAt: number | null;
  seq: number;
}

export interface Threshold {
  abs: number;
  rel: number;
}

export const DEFAULT_THRESHOLDS: Record<string, Threshold> = {
  'cpu.loadPct': { abs: 5, rel: 0 },
  'mem.usedBytes': { abs: 16 * 1024 * 1024, rel: 0.05 },
  'load.1m': { abs: 0.25, rel: 0.1 },
  'cpu.tempC': { abs: 2, rel: 0 },
  '*.tempC': { abs: 2, rel: 0 },
  '*.fanPct': { abs: 5, rel: 0 },
  '*.powerW': { abs: 5, rel: 0.05 },
  '*.utilizationPct': { abs: 5, rel: 0 },
};
const FALLBACK: Threshold = { abs: 0, rel: 0.05 };

export function thresholdFor(key: string, table: Record<string, Threshold> = DEFAULT_THRESHOLDS): Threshold {
  if (table[key]) return table[key];
  // per-component metrics share thresholds by suffix: gpu.0.tempC -> *.tempC
  const suffix = key.slice(key.lastIndexOf('.') + 1);
  return table[`*.${suffix}`] ?? FALLBACK;
}

export function planTelemetry(
  state: PlanState,
  sample: Record<string, number>,
  now: number,
  opts: { fullEveryMs: number; thresholds?: Record<string, Threshold> },
): { message: Telemetry | null; state: PlanState } {
  const full = state.lastFullAt === null || now - state.lastFullAt >= opts.fullEveryMs;
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(sample)) {
    if (!Number.isFinite(v)) continue;
    const prev = state.last[k];
    if (full || prev === undefined) {
      metrics[k] = v;
      continue;
    }
    const t = thresholdFor(k, opts.thresholds);
    if (Math.abs(v - prev) > Math.max(t.abs, t.rel * Math.abs(prev))) metrics[k] = v;
  }
  if (!full && Object.keys(metrics).length === 0) return { message: null, state };
  const seq = state.seq + 1;
  return {
    message: { v: 1, at: now, seq, full, metrics },
    state: { last: full ? { ...metrics } : { ...state.last, ...metrics }, lastFullAt: full ? now : state.lastFullAt, seq },
  };
}

/** CPU utilisation between two calls, memory and load from the kernel's counters (no child processes). */
export function createSystemSampler(): () => Record<string, number> {
  const times = () => cpus().reduce((acc, c) => {
    const t = c.times;
    acc.idle += t.idle;
    acc.total += t.user + t.nice + t.sys + t.idle + t.irq;
    return acc;
  }, { idle: 0, total: 0 });
  let prev = times();
  return () => {
    const cur = times();
    const total = cur.total - prev.total;
    const busy = total > 0 ? 100 * (1 - (cur.idle - prev.idle) / total) : 0;
    prev = cur;
    const tempC = readCpuTemp();
    return {
      'cpu.loadPct': Math.round(busy * 10) / 10,
      'mem.usedBytes': totalmem() - freemem(),
      'load.1m': loadavg()[0] ?? 0,
      ...(tempC !== undefined ? { 'cpu.tempC': tempC } : {}),
    };
  };
}
