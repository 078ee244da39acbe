// The rig ledger: mining and compute revenue per interval and the switching decisions, durable across a
// restart (a new ledger on the same state directory) and bounded (compacted to its limits).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LEDGER_FILE, RigLedger } from './ledger.js';
import type { Plan } from './planner.js';

const dir = mkdtempSync(join(tmpdir(), 'sosna-ledger-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plan = (modes: ('mine' | 'job')[], net: bigint | null, reason = 'r'): Plan => ({
  state: {}, askPerSec: 0n, stale: net === null,
  gpus: modes.map((mode, index) => ({ index, mode, miningNetWeiPerSec: net, thresholdWeiPerSec: 0n, offer: mode === 'mine', take: null, reason: `${reason} ${index}` })),
});

describe('rig ledger', () => {
  it('credits mining per mining GPU and compute per running bid, per interval; records mode changes with their reasons; survives a restart', () => {
    let t = 60_000;
    const l = new RigLedger({ stateDir: dir, intervalSec: 60, now: () => t });
    l.observe(plan(['mine', 'mine'], 1000n), 0n);
    t += 30_000;
    l.observe(plan(['mine', 'mine'], 1000n), 0n); // 30 s x 2 GPUs x 1000
    t += 30_000;
    l.observe(plan(['mine', 'job'], 1000n, 'job x pays more'), 5000n); // 30 s: GPU 1 went to a job: 1 GPU mining + 5000/s compute
    t += 60_000;
    l.observe(plan(['mine', 'mine'], null, 'stale'), 0n); // 60 s in the next interval, mining's worth unknown
    const r = l.report();
    expect(r.intervals).toEqual([
      { at: 60_000, sec: 60, miningWei: '90000', computeWei: '150000', miningUnknownSec: 0 },
      { at: 120_000, sec: 60, miningWei: '0', computeWei: '0', miningUnknownSec: 60 },
    ]);
    expect(r.decisions).toEqual([
      { at: 120_000, gpu: 1, from: 'mine', to: 'job', reason: 'job x pays more 1' },
      { at: 180_000, gpu: 1, from: 'job', to: 'mine', reason: 'stale 1' },
    ]);
    expect(r.totals).toEqual({ miningWei: '90000', computeWei: '150000', sec: 120 });
    l.flush();
    const again = new RigLedger({ stateDir: dir, intervalSec: 60, now: () => t });
    expect(again.report()).toEqual(r);
  });

  it('stays bounded: past twice its limits the file is rewritten to the last intervals and decisions', () => {
    const sub = mkdtempSync(join(dir, 'b-'));
    let t = 0;
    const l = new RigLedger({ stateDir: sub, intervalSec: 1, maxBuckets: 5, maxDecisions: 2, now: () => t });
    for (let i = 0; i < 40; i++) {
      l.observe(plan([i % 2 ? 'mine' : 'job'], 10n), 0n);
      t += 1000;
    }
    const lines = readFileSync(join(sub, LEDGER_FILE), 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(2 * (5 + 2));
    const r = new RigLedger({ stateDir: sub, intervalSec: 1, maxBuckets: 5, maxDecisions: 2 }).report();
    expect(r.intervals).toHaveLength(5);
    expect(r.decisions).toHaveLength(2);
    expect(r.intervals.at(-1)!.at).toBe(37_000); // the last closed one (38-39 s was still open, not flushed)
  });
});
