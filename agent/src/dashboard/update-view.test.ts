import { describe, expect, it } from 'vitest';
import { EMPTY_STATE, planBoot, planRollback, planSwitch } from '../update/state.js';
import { updateView } from './update-view.js';

describe('the System page update view', () => {
  it('no state file: the installed bundle, no update', () => {
    expect(updateView(undefined, '0.1.0')).toEqual({
      running: '0.1.0', current: null, previous: null, trial: null, lastRollback: null, outcome: null, lastRefused: null, unreadable: null, summary: 'running 0.1.0, no update',
    });
    expect(updateView(EMPTY_STATE, '0.1.0').summary).toBe('running 0.1.0, no update');
  });

  it('a trial in progress with its deadline, then a rollback with its reason', () => {
    const switched = planSwitch(EMPTY_STATE, { version: '0.2.0', file: 'sosna-agent-0.2.0.mjs', healthDeadlineSec: 90 });
    const booted = planBoot(switched, { installedVersion: '0.1.0', now: 1000 }).state;
    const v = updateView(booted, '0.2.0');
    expect(v).toMatchObject({ current: '0.2.0', previous: null, trial: { version: '0.2.0', attempts: 1, maxAttempts: 3, deadline: 91_000, healthDeadlineSec: 90 } });
    expect(v.summary).toBe('running 0.2.0, on trial (start 1 of 3) until it reports healthy; falls back to the installed bundle');

    const rolled = planRollback(booted, '0.2.0 did not reconnect and report healthy within 90 s', 200_000);
    const r = updateView(rolled, '0.1.0', { version: '0.2.0', reason: '0.2.0 was rolled back here before: crash', at: 300_000 });
    expect(r).toMatchObject({
      current: null, trial: null, summary: 'running 0.1.0, no update',
      lastRollback: { version: '0.2.0', reason: '0.2.0 did not reconnect and report healthy within 90 s', at: 200_000 },
      outcome: { version: '0.2.0', state: 'rolled-back' },
      lastRefused: { version: '0.2.0', reason: '0.2.0 was rolled back here before: crash' },
    });
  });

  it('an updated bundle that became healthy names its fallback; the newest rollback is shown', () => {
    const v = updateView({
      v: 1, current: { version: '0.3.0', file: 'b.mjs' }, previous: { version: '0.2.0', file: 'a.mjs' }, trial: null, outcome: null,
      failed: [{ version: '0.2.5', reason: 'newer', at: 20 }, { version: '0.2.1', reason: 'older', at: 10 }],
    }, '0.3.0');
    expect(v.summary).toBe('running 0.3.0, updated over the air (falls back to 0.2.0)');
    expect(v.lastRollback).toEqual({ version: '0.2.5', reason: 'newer', at: 20 });
  });
});
