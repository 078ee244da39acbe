import { describe, expect, it } from 'vitest';
import { AlertRule } from './config.js';
import type { AlertRule as Rule } from './config.js';
import { HUB_SUBJECT, alertKey, observe, planNotifications, planTransitions, retryDelay } from './planner.js';
import type { DeviceSnapshot, Observation, Snapshot, UnsentTransition } from './planner.js';

const rule = (r: Record<string, unknown>): Rule => AlertRule.parse(r);
const dev = (id: string, d: Partial<DeviceSnapshot> = {}): DeviceSnapshot => ({
  id, name: id.toUpperCase(), fleet: 'rigs', tags: [], online: true, firstSeen: 1, lastSeen: 1, telemetry: {}, inventoryGpus: null, ...d,
});
const snap = (devices: DeviceSnapshot[], extra: Partial<Snapshot> = {}): Snapshot => ({
  now: 10_000, hubStartedAt: 0, devices, hub: { finishedJobs: [], wallet: null }, ...extra,
});

describe('observe: what each metric sees', () => {
  it('offline: seen devices only, since the later of their last sighting and the hub start', () => {
    const r = rule({ name: 'off', metric: 'device.offline', for: '1s' });
    const seen = observe(r, snap([dev('a', { online: false, lastSeen: 5000 }), dev('b'), dev('never', { online: false, firstSeen: null }), dev('old', { online: false, lastSeen: 10 })], { hubStartedAt: 3000 }));
    expect(seen.get('a')).toEqual({ active: true, value: null, since: 5000 });
    expect(seen.get('b')).toMatchObject({ active: false });
    expect(seen.has('never')).toBe(false);
    expect(seen.get('old')).toMatchObject({ since: 3000 }); // not "offline for hours" because the hub was down
  });

  it('temperatures, lost GPUs, hashrate; an offline device has no data; fleet and tag filter', () => {
    const hot = dev('hot', { telemetry: { 'cpu.tempC': 91, 'gpu.0.tempC': 70, 'gpu.1.tempC': 88.456 } });
    const cool = dev('cool', { telemetry: { 'cpu.tempC': 50, 'gpu.0.tempC': 60 } });
    const gone = dev('gone', { online: false, telemetry: { 'cpu.tempC': 99 } });
    expect([...observe(rule({ name: 'c', metric: 'cpu.tempC', above: 85 }), snap([hot, cool, gone]))]).toEqual([
      ['hot', { active: true, value: '91' }], ['cool', { active: false, value: '50' }],
    ]);
    expect(observe(rule({ name: 'g', metric: 'gpu.tempC', above: 85 }), snap([hot])).get('hot')).toEqual({ active: true, value: '88.46' });
    const lost = observe(rule({ name: 'l', metric: 'gpu.lost' }), snap([
      dev('x', { inventoryGpus: 6, telemetry: { 'gpu.count': 5, 'gpu.0.ok': 1, 'gpu.1.ok': 0 } }), dev('y', { inventoryGpus: 2, telemetry: { 'gpu.count': 2 } }), dev('z'),
    ]));
    expect(lost.get('x')).toEqual({ active: true, value: '2' });
    expect(lost.get('y')).toEqual({ active: false, value: '0' });
    expect(lost.has('z')).toBe(false);
    const asic = dev('asic', { telemetry: { 'asic.10.0.0.5.hashrate5s': 40e12, 'asic.10.0.0.6:4029.hashrate5s': 50e12 } });
    expect(observe(rule({ name: 'h', metric: 'hashrate', below: 100e12 }), snap([asic, cool])).get('asic')).toMatchObject({ active: true });
    expect(observe(rule({ name: 'h', metric: 'hashrate', below: 100e12 }), snap([asic, cool])).has('cool')).toBe(false);
    // rig mode: a mining program's total counts (its per-GPU figures are part of it, not added again)
    const rig = dev('rig', { telemetry: { 'miner.xmrig.hashrate10s': 2e6, 'miner.xmrig.gpu.0.hashrate10s': 1e6, 'miner.xmrig.hashrate60s': 9e9 } });
    expect(observe(rule({ name: 'h', metric: 'hashrate', below: 3e6 }), snap([rig])).get('rig')).toEqual({ active: true, value: '2000000' });
    const other = dev('other', { fleet: 'lab', tags: ['x'], telemetry: { 'cpu.tempC': 99 } });
    expect([...observe(rule({ name: 'c', metric: 'cpu.tempC', above: 85, fleet: 'rigs' }), snap([hot, other])).keys()]).toEqual(['hot']);
    expect([...observe(rule({ name: 'c', metric: 'cpu.tempC', above: 85, tag: 'x' }), snap([hot, other])).keys()]).toEqual(['other']);
  });

  it('the hub: job failure rate in its window (with a minimum count), the wallet short of what is owed', () => {
    const r = rule({ name: 'j', metric: 'jobs.failureRate', above: 0.5, window: '5s', minJobs: 3 });
    const jobs = (list: [number, boolean][]) => snap([], { hub: { finishedJobs: list.map(([at, failed]) => ({ at, failed })), wallet: null } });
    expect(observe(r, jobs([[9000, true], [9500, true], [9900, false]])).get(HUB_SUBJECT)).toEqual({ active: true, value: '0.67 (2/3 jobs)' });
    expect(observe(r, jobs([[1000, true], [9500, true], [9900, false]])).get(HUB_SUBJECT)).toMatchObject({ active: false }); // one is outside the window
    const w = rule({ name: 'w', metric: 'wallet.shortfall' });
    expect(observe(w, snap([], { hub: { finishedJobs: [], wallet: { owed: 10n ** 20n, available: 1n } } })).get(HUB_SUBJECT)).toEqual({ active: true, value: (10n ** 20n - 1n).toString() });
    expect(observe(w, snap([], { hub: { finishedJobs: [], wallet: { owed: 1n, available: 1n } } })).get(HUB_SUBJECT)).toMatchObject({ active: false });
    expect(observe(w, snap([])).size).toBe(0); // no chain: no data
  });
});

describe('planTransitions', () => {
  const off = rule({ name: 'off', metric: 'device.offline', for: '1s' });
  const obs = (entries: [string, Observation][]) => new Map([['off', new Map(entries)]]);

  it('pending for `for`, then firing once; resolved once the condition ends', () => {
    let t = planTransitions({ rules: [off], now: 1000, observations: obs([['a', { active: true, value: null, since: 800 }]]), pending: new Map(), firing: [] });
    expect(t.fire).toEqual([]);
    expect(t.pending.get(alertKey('off', 'a'))).toBe(800);
    t = planTransitions({ rules: [off], now: 1900, observations: obs([['a', { active: true, value: null, since: 800 }]]), pending: t.pending, firing: [] });
    expect(t.fire).toEqual([{ rule: 'off', metric: 'device.offline', subject: 'a', value: null, startsAt: 1900 }]);
    expect(t.pending.size).toBe(0);
    // firing already: nothing new
    t = planTransitions({ rules: [off], now: 2500, observations: obs([['a', { active: true, value: null, since: 800 }]]), pending: new Map(), firing: [{ id: 7, rule: 'off', subject: 'a' }] });
    expect(t).toMatchObject({ fire: [], resolve: [] });
    t = planTransitions({ rules: [off], now: 3000, observations: obs([['a', { active: false, value: null }]]), pending: new Map(), firing: [{ id: 7, rule: 'off', subject: 'a' }] });
    expect(t.resolve).toEqual([{ id: 7, endsAt: 3000 }]);
  });

  it('a condition that ends before `for` never fires; no data keeps the state; a rule gone from the config resolves its alerts', () => {
    let t = planTransitions({ rules: [off], now: 1000, observations: obs([['a', { active: true, value: null }]]), pending: new Map(), firing: [] });
    t = planTransitions({ rules: [off], now: 1500, observations: obs([['a', { active: false, value: null }]]), pending: t.pending, firing: [] });
    expect(t).toMatchObject({ fire: [], resolve: [] });
    expect(t.pending.size).toBe(0);
    t = planTransitions({ rules: [off], now: 1000, observations: obs([['a', { active: true, value: null }]]), pending: new Map(), firing: [] });
    t = planTransitions({ rules: [off], now: 1500, observations: obs([]), pending: t.pending, firing: [{ id: 3, rule: 'off', subject: 'b' }] });
    expect(t.pending.get(alertKey('off', 'a'))).toBe(1000);
    expect(t.resolve).toEqual([]);
    t = planTransitions({ rules: [], now: 1500, observations: new Map(), pending: new Map(), firing: [{ id: 3, rule: 'off', subject: 'b' }] });
    expect(t.resolve).toEqual([{ id: 3, endsAt: 1500 }]);
  });
});

describe('planNotifications: grouped per rule and direction', () => {
  const rules = [rule({ name: 'off', metric: 'device.offline', webhooks: ['ops'] }), rule({ name: 'hot', metric: 'cpu.tempC', above: 80 })];
  const tr = (id: number, subject: string, status: 'firing' | 'resolved', startsAt: number, endsAt: number | null = null, ruleName = 'off'): UnsentTransition => ({
    id, rule: ruleName, metric: ruleName === 'off' ? 'device.offline' : 'cpu.tempC', subject, status, value: null, startsAt, endsAt,
  });
  const plan = (unsent: UnsentTransition[], now: number) => planNotifications({ unsent, now, groupWindowMs: 2000, rules, webhooks: ['ops', 'chat'], names: new Map([['d1', 'rig-1']]) });

  it('50 devices dropping within the window: nothing until the window ends, then one message listing all 50', () => {
    const unsent = Array.from({ length: 50 }, (_, i) => tr(i + 1, `d${i + 1}`, 'firing', 1000 + i * 10));
    expect(plan(unsent, 2900)).toEqual([]);
    const out = plan(unsent, 3000);
    expect(out).toHaveLength(1);
    expect(out[0]!.notification.alerts).toHaveLength(50);
    expect(out[0]!.notification.alerts.find((a) => a.subject === 'd1')?.name).toBe('rig-1');
    expect(out[0]!.webhooks).toEqual(['ops']);
  });

  it('firing before resolved; each rule its own message; a rule without webhooks named goes to all', () => {
    const out = plan([tr(1, 'd1', 'resolved', 0, 500), tr(1, 'd1', 'firing', 0), tr(2, 'd2', 'firing', 100, null, 'hot')], 5000);
    expect(out.map((p) => [p.notification.status, p.notification.rule, p.webhooks])).toEqual([
      ['firing', 'hot', ['ops', 'chat']], ['firing', 'off', ['ops']], ['resolved', 'off', ['ops']],
    ]);
    expect(out[2]!.notification.alerts[0]).toMatchObject({ startsAt: 0, endsAt: 500 });
  });

  it('retry waits double up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelay(a, 100, 1000))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
