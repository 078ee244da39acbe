import { describe, expect, it } from 'vitest';
import { planTelemetry } from './telemetry.js';
import type { PlanState } from './telemetry.js';

const opts = { fullEveryMs: 60_000 };
const empty: PlanState = { last: {}, lastFullAt: null, seq: 0 };

describe('telemetry by exception', () => {
  it('sends a full snapshot first', () => {
    const r = planTelemetry(empty, { 'cpu.loadPct': 10, 'mem.usedBytes': 1e9 }, 1000, opts);
    expect(r.message).toMatchObject({ full: true, seq: 1, metrics: { 'cpu.loadPct': 10, 'mem.usedBytes': 1e9 } });
  });

  it('sends nothing when nothing moved past its threshold, and only what moved otherwise', () => {
    const s1 = planTelemetry(empty, { 'cpu.loadPct': 10, 'mem.usedBytes': 1e9, 'gpu.0.tempC': 60 }, 1000, opts).state;
    expect(planTelemetry(s1, { 'cpu.loadPct': 12, 'mem.usedBytes': 1e9 + 1000, 'gpu.0.tempC': 61 }, 2000, opts).message).toBeNull();
    const r = planTelemetry(s1, { 'cpu.loadPct': 40, 'mem.usedBytes': 1e9, 'gpu.0.tempC': 70 }, 3000, opts);
    expect(r.message).toMatchObject({ full: false, seq: 2, metrics: { 'cpu.loadPct': 40, 'gpu.0.tempC': 70 } });
    expect(r.message?.metrics).not.toHaveProperty('mem.usedBytes');
  });

  it('compares against the last value sent, so slow drifts are reported', () => {
    let s = planTelemetry(empty, { 'cpu.loadPct': 10 }, 0, opts).state;
    let sent = 0;
    for (let i = 1; i <= 10; i++) {
      const r = planTelemetry(s, { 'cpu.loadPct': 10 + i * 2 }, i, opts);
      if (r.message) sent++;
      s = r.state;
    }
    expect(sent).toBeGreaterThanOrEqual(3);
  });

  it('sends a full snapshot again after fullEveryMs, and drops non-finite values', () => {
    const s1 = planTelemetry(empty, { a: 1 }, 0, opts).state;
    const r = planTelemetry(s1, { a: 1, b: Number.NaN }, 60_000, opts);
    expect(r.message).toMatchObject({ full: true, metrics: { a: 1 } });
    expect(r.message?.metrics).not.toHaveProperty('b');
  });
});
