// The last hour of telemetry for the dashboard's charts: a bounded ring of samples stored by column
// (one Float64Array of times, one Float32Array per metric), so memory is fixed at
// capacity x (8 + 4 x metrics) bytes whatever runs, and nothing is allocated per sample.

export interface RingSnapshot {
  /** Sample times, seconds since the epoch (what uPlot's time axis takes). */
  t: number[];
  /** Metric -> values aligned with `t`; null where the metric was absent in that sample. */
  series: Record<string, (number | null)[]>;
}

/** Values are kept as float32: shown with the 7 significant digits that float32 holds. */
const shown = (v: number) => Number(v.toPrecision(7));

export class TelemetryRing {
  private readonly times: Float64Array;
  private readonly columns = new Map<string, Float32Array>();
  private head = 0; // next slot to write
  private count = 0;

  constructor(
    readonly capacity: number,
    private readonly o: { windowMs?: number; maxMetrics?: number } = {},
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.times = new Float64Array(capacity);
  }

  /** Sized for one hour at the given telemetry interval (at most 3600 samples). */
  static forInterval(intervalSec: number): TelemetryRing {
    return new TelemetryRing(Math.min(3600, Math.ceil(3600 / Math.max(1, intervalSec)) + 1));
  }

  get size(): number {
    return this.count;
  }

  push(atMs: number, metrics: Record<string, number>): void {
    const slot = this.head;
    this.times[slot] = atMs;
    for (const col of this.columns.values()) col[slot] = NaN;
    for (const [key, value] of Object.entries(metrics)) {
      if (!Number.isFinite(value)) continue;
      let col = this.columns.get(key);
      if (!col) {
        if (this.columns.size >= (this.o.maxMetrics ?? 256)) continue;
        col = new Float32Array(this.capacity).fill(NaN);
        this.columns.set(key, col);
      }
      col[slot] = value;
    }
    this.head = (slot + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The newest sample, or null when empty. */
  latest(): { at: number; metrics: Record<string, number> } | null {
    if (this.count === 0) return null;
    const slot = (this.head - 1 + this.capacity) % this.capacity;
    const metrics: Record<string, number> = {};
    for (const [key, col] of this.columns) if (!Number.isNaN(col[slot]!)) metrics[key] = shown(col[slot]!);
    return { at: this.times[slot]!, metrics };
  }

  /**
   * Samples in time order within the window (default one hour before `nowMs`), optionally only those after
   * `sinceMs`, only the named `metrics` or those starting with one of `prefixes`, and thinned to at most
   * `maxPoints` samples (every n-th, the newest kept).
   */
  snapshot(opts: { nowMs?: number; sinceMs?: number; prefixes?: string[]; metrics?: string[]; maxPoints?: number } = {}): RingSnapshot {
    const from = Math.max((opts.nowMs ?? Date.now()) - (this.o.windowMs ?? 3_600_000), opts.sinceMs ?? -Infinity);
    let slots: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - this.count + i + this.capacity) % this.capacity;
      if (this.times[slot]! > from) slots.push(slot);
    }
    if (opts.maxPoints && slots.length > opts.maxPoints) {
      const step = Math.ceil(slots.length / opts.maxPoints);
      slots = slots.filter((_, i) => (slots.length - 1 - i) % step === 0);
    }
    const t = slots.map((s) => Math.round(this.times[s]!) / 1000);
    const series: Record<string, (number | null)[]> = {};
    const named = opts.metrics ? new Set(opts.metrics) : null;
    for (const [key, col] of this.columns) {
      if (named && !named.has(key)) continue;
      if (opts.prefixes && !opts.prefixes.some((p) => key.startsWith(p))) continue;
      const values = slots.map((s) => (Number.isNaN(col[s]!) ? null : shown(col[s]!)));
      if (values.some((v) => v !== null)) series[key] = values;
    }
    return { t, series };
  }
}
