import { describe, expect, it } from 'vitest';
import type { DeviceView, Usage } from './matcher.js';
import { offerClasses, regionOf } from './offers.js';

const GiB = 2 ** 30;
const view = (id: string, ask: bigint, o: Partial<DeviceView> & { bench?: Record<string, number> } = {}): DeviceView => ({
  id, owner: id, askPerSec: ask, reputation: 0.5, healthy: true, capacity: { cpus: 4, memoryBytes: 8 * GiB, jobs: 1 }, gpus: [], diskFreeBytes: null,
  inventory: { arch: 'x64', cpu: { brand: 'Xeon', cores: 4 }, ...(o.bench ? { benchmarks: o.bench } : {}) }, ...o,
});

describe('offer classes', () => {
  it('groups by class, median of an even count is the mean of the middle two, benchmarks keep the lowest common score', () => {
    const r = offerClasses([view('a', 1n, { bench: { x: 5, y: 1 } }), view('b', 4n, { bench: { x: 3 } }), view('c', 9n), view('d', 2n, { capacity: { cpus: 4, memoryBytes: 16 * GiB, jobs: 1 } })], new Map(), (id) => (id === 'c' ? ['region=us'] : []));
    expect(r.free).toBe(4);
    expect(r.classes.map((c) => [c.devices, c.askMin, c.askMedian, c.region, c.memoryBytes, c.benchmarks])).toEqual([
      [2, 1n, 2n, null, 8 * GiB, { x: 3 }],
      [1, 2n, 2n, null, 16 * GiB, {}],
      [1, 9n, 9n, 'us', 8 * GiB, {}],
    ]);
  });

  it('a device whose job slots are taken, an unhealthy one, or one asking above the bid is not on offer', () => {
    const busy: Usage = { cpus: 1, memoryBytes: GiB, jobs: 1, gpus: [] };
    const r = offerClasses([view('a', 1n), view('b', 1n, { healthy: false }), view('c', 5n)], new Map([['a', busy]]), () => [], { bid: 3n });
    expect(r).toEqual({ free: 0, classes: [] });
  });

  it('region tags', () => {
    expect(regionOf(['gpu', 'region:eu-west'])).toBe('eu-west');
    expect(regionOf(['regional'])).toBeNull();
  });
});
