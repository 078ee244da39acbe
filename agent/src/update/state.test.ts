import { describe, expect, it } from 'vitest';
import { EMPTY_STATE, keptBundles, planBoot, planHealthy, planSwitch } from './state.js';
import type { UpdateState } from './state.js';

const T0 = 1_700_000_000_000;
const switched = (): UpdateState => planSwitch(EMPTY_STATE, { version: '0.2.0', file: 'sosna-agent-0.2.0.mjs', healthDeadlineSec: 60 });

describe('planBoot', () => {
  it('runs the installed bundle when nothing was updated', () => {
    const p = planBoot(undefined, { installedVersion: '0.1.0', now: T0 });
    expect(p.run).toBeNull();
    expect(p.changed).toBe(false);
  });

  it('counts a trial start before it happens and sets the deadline at the first one', () => {
    const p = planBoot(switched(), { installedVersion: '0.1.0', now: T0 });
    expect(p.run?.version).toBe('0.2.0');
    expect(p.changed).toBe(true);
    expect(p.state.trial).toMatchObject({ attempts: 1, deadline: T0 + 60_000 });
    const again = planBoot(p.state, { installedVersion: '0.1.0', now: T0 + 5000 });
    expect(again.state.trial).toMatchObject({ attempts: 2, deadline: T0 + 60_000 });
  });

  it('rolls back to the installed bundle after the allowed crashed starts, and remembers why', () => {
    let s: UpdateState = switched();
    const runs: (string | null)[] = [];
    for (let i = 0; i < 4; i++) {
      const p = planBoot(s, { installedVersion: '0.1.0', now: T0 + i * 1000, maxAttempts: 3 });
      runs.push(p.run?.version ?? null);
      s = p.state;
      if (p.rolledBack) expect(p.rolledBack.reason).toMatch(/stopped 3 time\(s\) without becoming healthy/);
    }
    expect(runs).toEqual(['0.2.0', '0.2.0', '0.2.0', null]);
    expect(s.current).toBeNull();
    expect(s.trial).toBeNull();
    expect(s.failed.map((f) => f.version)).toEqual(['0.2.0']);
    expect(s.outcome).toMatchObject({ version: '0.2.0', state: 'rolled-back' });
  });

  it('rolls back when the deadline passed without health, to the previous updated bundle', () => {
    const first = planSwitch(EMPTY_STATE, { version: '0.2.0', file: 'a.mjs', healthDeadlineSec: 60 });
    const ok = planHealthy(planBoot(first, { installedVersion: '0.1.0', now: T0 }).state, '0.2.0', T0 + 1)!;
    const second = planSwitch(ok, { version: '0.3.0', file: 'b.mjs', healthDeadlineSec: 30 });
    expect(keptBundles(second)).toEqual(new Set(['a.mjs', 'b.mjs']));
    const started = planBoot(second, { installedVersion: '0.1.0', now: T0 + 10 }).state;
    const p = planBoot(started, { installedVersion: '0.1.0', now: T0 + 10 + 31_000 });
    expect(p.rolledBack?.reason).toMatch(/within 30 s/);
    expect(p.run).toEqual({ version: '0.2.0', file: 'a.mjs' });
    expect(keptBundles(p.state)).toEqual(new Set(['a.mjs']));
  });

  it('marks health only for the version on trial, and a healthy bundle keeps running', () => {
    const started = planBoot(switched(), { installedVersion: '0.1.0', now: T0 }).state;
    expect(planHealthy(started, '0.1.0', T0)).toBeNull();
    const healthy = planHealthy(started, '0.2.0', T0 + 100)!;
    expect(healthy.trial).toBeNull();
    expect(healthy.outcome).toMatchObject({ version: '0.2.0', state: 'healthy' });
    const p = planBoot(healthy, { installedVersion: '0.1.0', now: T0 + 10_000_000 });
    expect(p.run?.version).toBe('0.2.0');
    expect(p.changed).toBe(false);
  });

  it('an installed bundle as new as the update wins (updated by hand or by a new image)', () => {
    const p = planBoot(switched(), { installedVersion: '0.2.0', now: T0 });
    expect(p.run).toBeNull();
    expect(p.state.current).toBeNull();
  });
});
