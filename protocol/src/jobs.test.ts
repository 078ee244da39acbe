import { describe, expect, it } from 'vitest';
import { createCodec } from './codec.js';
import { DeviceJob, InvalidTransitionError, JOB_STATES, JOB_TRANSITIONS, JobSpec, canTransition, isFinal, transition, transitionPath } from './jobs.js';
import type { JobState } from './jobs.js';
import { describeIssues } from './validate.js';

const issues = (value: unknown) => {
  const r = JobSpec.safeParse(value);
  return r.success ? '' : describeIssues(r.error);
};

describe('job lifecycle', () => {
  it('follows the table: queued -> assigned -> pulling -> running -> succeeded', () => {
    let s: JobState = 'queued';
    for (const next of ['assigned', 'pulling', 'running', 'succeeded'] as const) s = transition(s, next);
    expect(s).toBe('succeeded');
  });

  it('refuses moves the table does not list, with a typed error', () => {
    expect(() => transition('succeeded', 'running')).toThrow(InvalidTransitionError);
    try {
      transition('queued', 'running', 'job j-1');
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidTransitionError);
      expect(err).toMatchObject({ code: 'E_CONFLICT', from: 'queued', to: 'running', message: 'job j-1 cannot go from queued to running' });
    }
  });

  it('final states have no way out; lost leads back to the queue; cancel works from every live state', () => {
    for (const s of JOB_STATES) {
      if (isFinal(s)) expect(JOB_TRANSITIONS[s]).toEqual([]);
      else expect(canTransition(s, 'cancelled')).toBe(true);
    }
    expect(canTransition('lost', 'queued')).toBe(true);
    for (const s of ['assigned', 'pulling', 'running'] as const) expect(canTransition(s, 'lost')).toBe(true);
  });

  it('finds the chain of moves behind a report that skipped states', () => {
    expect(transitionPath('assigned', 'succeeded')).toEqual(['running', 'succeeded']);
    expect(transitionPath('assigned', 'running')).toEqual(['running']);
    expect(transitionPath('running', 'running')).toEqual([]);
    expect(transitionPath('succeeded', 'running')).toBeNull();
    expect(transitionPath('running', 'queued')).toEqual(['lost', 'queued']);
    // a lost run is never revived through the queue by a late report
    expect(transitionPath('lost', 'running')).toBeNull();
  });
});

describe('job spec', () => {
  it('fills defaults and turns the bid into a bigint', () => {
    const spec = JobSpec.parse({ image: 'busybox:1.36', command: ['echo', 'hi'], bid: '1000000000000000000000' });
    expect(spec).toMatchObject({ kind: 'batch', replicas: 1, network: false, timeoutSec: 3600, env: {}, ports: [] });
    expect(spec.resources).toEqual({ cpus: 1, memoryBytes: 256 * 1024 * 1024, pids: 512 });
    expect(spec.bid).toBe(10n ** 21n);
  });

  it('runs on a read-only root unless the buyer asks for a writable one (the field is absent unless asked)', () => {
    expect(JobSpec.parse({ image: 'x' })).not.toHaveProperty('writableRoot');
    expect(JobSpec.parse({ image: 'x', writableRoot: true }).writableRoot).toBe(true);
    expect(issues({ image: 'x', writableRoot: 'yes' })).toMatch(/writableRoot/);
  });

  it('refuses unknown fields at every level, naming them', () => {
    expect(issues({ image: 'x', colour: 'red' })).toMatch(/colour/);
    expect(issues({ image: 'x', resources: { cpus: 1, ram: 5 } })).toMatch(/resources.*ram/);
    expect(issues({ image: 'x', resources: { gpus: { count: 1, brand: 'nvidia' } } })).toMatch(/brand/);
  });

  it('refuses negative or zero limits and a negative bid', () => {
    expect(issues({ image: 'x', resources: { memoryBytes: -1 } })).toMatch(/resources\.memoryBytes/);
    expect(issues({ image: 'x', resources: { cpus: 0 } })).toMatch(/resources\.cpus: must be more than 0/);
    expect(issues({ image: 'x', timeoutSec: -5 })).toMatch(/timeoutSec/);
    expect(issues({ image: 'x', bid: '-3' })).toMatch(/bid/);
    expect(issues({ image: 'x', bid: -3n })).toMatch(/bid/);
  });

  it('checks combinations: ports need network and a service; services are not replicated', () => {
    expect(issues({ image: 'x', kind: 'service', ports: [{ port: 80 }] })).toMatch(/ports: publishing ports needs network: true/);
    expect(issues({ image: 'x', kind: 'service', replicas: 3 })).toMatch(/replicas/);
    expect(issues({ image: 'x', ports: [{ port: 80 }], network: true })).toMatch(/only service jobs/);
    expect(issues({ image: 'bad image' })).toMatch(/image/);
    expect(issues({ image: 'x', env: { '1BAD': 'v' } })).toMatch(/env/);
  });

  it('survives msgpack between hub and device, bigint included', () => {
    const codec = createCodec();
    const job = DeviceJob.parse({ id: 'j-abc.0.0', jobId: 'j-abc', leaseSec: 30, issuedAt: 1, spec: JobSpec.parse({ image: 'busybox', bid: '5' }) });
    const back = DeviceJob.parse(codec.decode(codec.encode(job)));
    expect(back).toEqual(job);
    expect(back.spec.bid).toBe(5n);
  });
});
