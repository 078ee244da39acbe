import { describe, expect, it } from 'vitest';
import { LogTail } from './logtail.js';
import { TelemetryRing } from './ring.js';

describe('telemetry ring', () => {
  it('keeps samples in time order as columns, null where a metric was absent', () => {
    const r = new TelemetryRing(10);
    r.push(1000, { a: 1, b: 10 });
    r.push(2000, { a: 2 });
    r.push(3000, { a: 3, b: 30, c: 0.5 });
    expect(r.snapshot({ nowMs: 3000 })).toEqual({ t: [1, 2, 3], series: { a: [1, 2, 3], b: [10, null, 30], c: [null, null, 0.5] } });
    expect(r.latest()).toEqual({ at: 3000, metrics: { a: 3, b: 30, c: 0.5 } });
  });

  it('overwrites the oldest samples when full, with fixed memory', () => {
    const r = new TelemetryRing(3);
    for (let i = 1; i <= 7; i++) r.push(i * 1000, { a: i });
    expect(r.size).toBe(3);
    expect(r.snapshot({ nowMs: 7000 })).toEqual({ t: [5, 6, 7], series: { a: [5, 6, 7] } });
  });

  it('returns only the last hour, or what came after `since`, or the metrics under given prefixes', () => {
    const r = new TelemetryRing(100);
    const h = 3_600_000;
    r.push(0, { 'cpu.loadPct': 1, 'gpu.0.tempC': 50 });
    r.push(h / 2, { 'cpu.loadPct': 2, 'gpu.0.tempC': 51 });
    r.push(h, { 'cpu.loadPct': 3, 'gpu.0.tempC': 52 });
    expect(r.snapshot({ nowMs: h }).t).toEqual([1800, 3600]);
    expect(r.snapshot({ nowMs: h, sinceMs: h / 2 }).t).toEqual([3600]);
    expect(Object.keys(r.snapshot({ nowMs: h, prefixes: ['gpu.'] }).series)).toEqual(['gpu.0.tempC']);
    expect(Object.keys(r.snapshot({ nowMs: h, metrics: ['cpu.loadPct', 'nope'] }).series)).toEqual(['cpu.loadPct']);
  });

  it('thins to at most maxPoints samples, keeping the newest', () => {
    const r = new TelemetryRing(100);
    for (let i = 1; i <= 10; i++) r.push(i * 1000, { a: i });
    expect(r.snapshot({ nowMs: 10_000, maxPoints: 4 })).toEqual({ t: [1, 4, 7, 10], series: { a: [1, 4, 7, 10] } });
    expect(r.snapshot({ nowMs: 10_000, maxPoints: 10 }).t).toHaveLength(10);
  });

  it('skips non-finite values, bounds the number of metrics, shows float32 values cleanly', () => {
    const r = new TelemetryRing(4, { maxMetrics: 2 });
    r.push(1000, { a: Number.NaN, b: Infinity, c: 9.44, d: 1, e: 2 });
    expect(r.latest()).toEqual({ at: 1000, metrics: { c: 9.44, d: 1 } });
  });

  it('is sized for one hour at the telemetry interval', () => {
    expect(TelemetryRing.forInterval(10).capacity).toBe(361);
    expect(TelemetryRing.forInterval(1).capacity).toBe(3600);
    expect(TelemetryRing.forInterval(3600).capacity).toBe(2);
    expect(() => new TelemetryRing(0)).toThrow(RangeError);
    expect(new TelemetryRing(2).latest()).toBeNull();
  });
});

describe('log tail', () => {
  it('keeps the newest lines, oldest first, each cut to a bound', () => {
    const t = new LogTail(3, 10);
    for (const l of ['one', 'two', 'three', 'four', 'a very long line indeed']) t.push(l);
    expect(t.tail()).toEqual(['three', 'four', 'a very lo…']);
    expect(t.tail(1)).toEqual(['a very lo…']);
  });
});
