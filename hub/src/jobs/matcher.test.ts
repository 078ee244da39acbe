import { describe, expect, it } from 'vitest';
import { JobSpec } from '@sosna/protocol';
import { deviceView } from './device-view.js';
import { explainNoMatch, planDispatch, staticMismatch } from './matcher.js';
import type { DeviceView, JobNeed, Usage } from './matcher.js';

const GiB = 2 ** 30;
function device(id: string, o: { owner?: string; ask?: string; cpus?: number; mem?: number; jobs?: number; gpus?: { vendor: string; name: string; vramBytes: number }[]; rep?: number; engine?: boolean } = {}): DeviceView {
  return deviceView(
    {
      id,
      fleet: o.owner ?? id,
      inventory: {
        arch: 'x64',
        hardware: { gpus: (o.gpus ?? []).map((g, index) => ({ ...g, index })), disks: [{ freeBytes: 100 * GiB }] },
        jobs: { engine: o.engine === false ? null : { name: 'docker', version: '20.10', apiVersion: '1.41' }, askPerSec: o.ask ?? '0', capacity: { cpus: o.cpus ?? 4, memoryBytes: o.mem ?? 8 * GiB, jobs: o.jobs ?? 4 } },
      },
    },
    o.rep === undefined ? undefined : { owner: null, reputation: o.rep, healthy: true },
  );
}
function need(jobId: string, spec: Partial<Record<string, unknown>> = {}, count = 1, extra: Partial<JobNeed> = {}): JobNeed {
  const s = JobSpec.parse({ image: 'busybox', ...spec });
  return { jobId, count, bid: s.bid, resources: s.resources, constraints: s.constraints, excludeDevices: new Set(), excludeOwners: new Set(), ...extra };
}

describe('matcher', () => {
  it('applies the ask <= bid rule and capabilities, naming the reason', () => {
    const d = device('a', { ask: '10', gpus: [{ vendor: 'nvidia', name: 'GeForce RTX 3080', vramBytes: 10 * GiB }] });
    expect(staticMismatch(d, need('j', { bid: '9' }))).toMatch(/ask more than the bid/);
    expect(staticMismatch(d, need('j', { bid: '10' }))).toBeNull();
    expect(staticMismatch(d, need('j', { bid: '10', resources: { cpus: 8 } }))).toMatch(/fewer than 8 CPUs/);
    expect(staticMismatch(d, need('j', { bid: '10', resources: { gpus: { count: 1, vramMin: 12 * GiB } } }))).toMatch(/GPU/);
    expect(staticMismatch(d, need('j', { bid: '10', resources: { gpus: { count: 1, vendor: 'nvidia', model: 'rtx 3080', vramMin: 8 * GiB } } }))).toBeNull();
    expect(staticMismatch(d, need('j', { bid: '10', constraints: { arch: 'arm64' } }))).toMatch(/constraints/);
    expect(staticMismatch(device('b', { engine: false }), need('j'))).toMatch(/no container engine/);
  });

  it('fills free capacity only, and prefers reputable then idle devices', () => {
    const devices = [device('low', { rep: 0.1, jobs: 2 }), device('high', { rep: 0.9, jobs: 2 }), device('mid', { rep: 0.5, jobs: 2 })];
    const usage = new Map<string, Usage>();
    const plan = planDispatch([need('j1'), need('j2'), need('j3'), need('j4'), need('j5'), need('j6'), need('j7')], devices, usage);
    expect(plan.map((a) => a.deviceId)).toEqual(['high', 'high', 'mid', 'mid', 'low', 'low']);
    expect(usage.get('high')).toMatchObject({ jobs: 2, cpus: 2 });
  });

  it('spreads equal devices by load and respects memory and GPUs in use', () => {
    const gpus = [{ vendor: 'nvidia', name: 'RTX 4090', vramBytes: 24 * GiB }];
    const devices = [device('a', { gpus, mem: GiB }), device('b', { mem: GiB })];
    const plan = planDispatch(
      [need('g1', { resources: { gpus: { count: 1 } } }), need('g2', { resources: { gpus: { count: 1 } } }), need('m1', { resources: { memoryBytes: 800 * 2 ** 20 } }), need('m2', { resources: { memoryBytes: 800 * 2 ** 20 } })],
      devices,
      new Map(),
    );
    expect(plan).toEqual([
      { jobId: 'g1', deviceId: 'a', owner: 'a', gpus: [0] },
      { jobId: 'm1', deviceId: 'b', owner: 'b', gpus: [] },
    ]);
  });

  it('places replicas on devices of distinct owners', () => {
    const devices = [device('a1', { owner: 'alice' }), device('a2', { owner: 'alice' }), device('b1', { owner: 'bob' }), device('c1', { owner: 'carol' })];
    const plan = planDispatch([need('r', { replicas: 3 }, 3)], devices, new Map());
    expect(new Set(plan.map((a) => a.owner))).toEqual(new Set(['alice', 'bob', 'carol']));
    const again = planDispatch([need('r', {}, 1, { excludeOwners: new Set(['alice', 'bob', 'carol']) })], devices, new Map());
    expect(again).toEqual([]);
  });

  it('explains an impossible job and accepts a possible one', () => {
    const devices = [device('a', { owner: 'x' }), device('b', { owner: 'x', ask: '100' })];
    expect(explainNoMatch(devices, need('j', { resources: { memoryBytes: 64 * GiB } }), 1)).toMatch(/no device can run this job: .*1 device\(s\) offer less than/);
    expect(explainNoMatch(devices, need('j'), 1)).toBeNull();
    expect(explainNoMatch(devices, need('j'), 2)).toMatch(/2 distinct owners/);
    expect(explainNoMatch([], need('j'), 1)).toMatch(/no device is registered/);
  });
});
