import { describe, expect, it } from 'vitest';
import {
  checkRingers, checkStake, DEFAULT_TRUST_POLICY, FRESH, isNewcomer, isQuarantined, nextStanding, pickRinger, rankOf, replicationProbability, ringerVerdict, slashAmount, stakeBoost,
} from './trust.js';
import type { Standing } from './trust.js';
import { planDispatch } from './matcher.js';
import type { DeviceView, JobNeed } from './matcher.js';

const P = { ...DEFAULT_TRUST_POLICY, streakScale: 1 }; // BOINC's 1/(1 + N); the default scale is tested apart
const SNM = 10n ** 18n;
const streakOf = (n: number): Standing => ({ streak: n, verified: n, failures: 0 });
const digest = (c: string) => `sha256:${c.repeat(64)}`;

describe('streak and replication chance', () => {
  it('a new device is always replicated; each agreement lowers the chance as 1/(1 + N) down to the floor', () => {
    expect(replicationProbability(FRESH, FRESH, 0n, P)).toBe(1);
    let s = FRESH;
    const chances: number[] = [];
    for (let i = 0; i < 40; i++) {
      s = nextStanding(s, 'agree');
      chances.push(replicationProbability(s, s, 0n, P));
    }
    expect(chances[0]).toBe(1 / 2);
    expect(chances[8]).toBe(1 / 10);
    for (let i = 1; i < chances.length; i++) expect(chances[i]!).toBeLessThanOrEqual(chances[i - 1]!);
    expect(chances.at(-1)).toBe(P.floor);
    expect(Math.min(...chances)).toBe(P.floor);
  });

  it('a proven wrong result resets the streak and squares the streak needed; failures are kept per owner', () => {
    const trusted = streakOf(50);
    expect(replicationProbability(trusted, trusted, 0n, P)).toBe(P.floor);
    const dev = nextStanding(trusted, 'wrong');
    const owner = nextStanding(trusted, 'wrong');
    expect(dev).toEqual({ streak: 0, verified: 50, failures: 1 });
    expect(replicationProbability(dev, owner, 0n, P)).toBe(1);
    // a re-provisioned device of the same owner starts fresh but carries the owner's failure
    const again = streakOf(9);
    expect(replicationProbability(again, { ...again, failures: 1 }, 0n, P)).toBe(4 / 10);
    expect(replicationProbability(streakOf(100), { ...streakOf(100), failures: 1 }, 0n, P)).toBe(P.floor * 4);
    expect(replicationProbability(streakOf(1000), { ...streakOf(1000), failures: 4 }, 0n, P)).toBe(1);
    // the device's own streak counts too: min(device, owner)
    expect(replicationProbability(FRESH, streakOf(100), 0n, P)).toBe(1);
  });

  it('the default streak scale K = 4 counts four verified results as one step', () => {
    const D = DEFAULT_TRUST_POLICY;
    expect(D.streakScale).toBe(4);
    expect(replicationProbability(streakOf(4), streakOf(4), 0n, D)).toBe(1 / 2);
    expect(replicationProbability(streakOf(36), streakOf(36), 0n, D)).toBe(1 / 10);
    expect(replicationProbability(streakOf(76), streakOf(76), 0n, D)).toBe(D.floor);
  });

  it('a stake lowers the replication a streak needs, never below the floor', () => {
    expect(stakeBoost(P.minStake - 1n, P)).toBe(0);
    expect(stakeBoost(P.minStake, P)).toBe(1);
    expect(stakeBoost(P.minStake * 100n, P)).toBe(P.maxStakeBoost);
    const s = streakOf(24);
    const low = { ...P, floor: 0.01 };
    expect(replicationProbability(s, s, 0n, low)).toBe(1 / 25);
    expect(replicationProbability(s, s, P.minStake, low)).toBe(1 / 49);
    expect(replicationProbability(s, s, P.minStake * 3n, P)).toBe(P.floor);
    // a young record gets no speed-up: the stake counts from stakeAfterResults verified results
    const young = streakOf(P.stakeAfterResults - 1);
    expect(replicationProbability(young, young, P.minStake * 3n, P)).toBe(replicationProbability(young, young, 0n, P));
  });

  it('quarantines an owner with repeated wrong results and a poor record', () => {
    expect(isQuarantined({ streak: 0, verified: 5, failures: 2 }, P)).toBe(false);
    expect(isQuarantined({ streak: 0, verified: 5, failures: 3 }, P)).toBe(true);
    expect(isQuarantined({ streak: 0, verified: 300, failures: 3 }, P)).toBe(false);
  });
});

describe('newcomers', () => {
  it('rank at the top step until they have a record, plus a step per stake boost', () => {
    expect(isNewcomer(streakOf(3), FRESH, P)).toBe(true);
    expect(isNewcomer(streakOf(P.newcomerResults), FRESH, P)).toBe(false);
    expect(isNewcomer(FRESH, { streak: 0, verified: 0, failures: 1 }, P)).toBe(false);
    expect(rankOf(0.5, true, 0n, P)).toBe(20);
    expect(rankOf(0.7, false, 0n, P)).toBe(14);
    expect(rankOf(0.7, false, P.minStake * 2n, P)).toBe(16);
  });

  it('a newcomer gets a run ahead of established devices with a better reputation', () => {
    const view = (id: string, reputation: number, rank: number): DeviceView => ({
      id, owner: `o-${id}`, askPerSec: 0n, reputation, rank, healthy: true, capacity: { cpus: 4, memoryBytes: 2 ** 32, jobs: 1 }, gpus: [], diskFreeBytes: null, inventory: null,
    });
    const devices = [view('old-a', 0.9, rankOf(0.9, false, 0n, P)), view('old-b', 0.9, rankOf(0.9, false, 0n, P)), view('new', 0.5, rankOf(0.5, true, 0n, P))];
    const need: JobNeed = { jobId: 'j', count: 1, bid: 1n, resources: { cpus: 1, memoryBytes: 1 }, excludeDevices: new Set(), excludeOwners: new Set() };
    expect(planDispatch([need], devices, new Map())[0]!.deviceId).toBe('new');
    // without the rule (no rank): reputation first, the newcomer waits
    expect(planDispatch([need], devices.map((d) => ({ ...d, rank: undefined })), new Map())[0]!.deviceId).toBe('old-a');
  });
});

describe('ringers', () => {
  const book = checkRingers([{ spec: { image: 'a' }, digest: digest('a') }, { spec: { image: 'b' }, digest: digest('b') }]);

  it('are mixed in at the stated rate, only where they fit', () => {
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    let mixed = 0;
    const N = 20_000;
    for (let i = 0; i < N; i++) if (pickRinger(book, P, random, () => true)) mixed++;
    expect(mixed / N).toBeGreaterThan(P.ringerRate * 0.85);
    expect(mixed / N).toBeLessThan(P.ringerRate * 1.15);
    const always = { ...P, ringerRate: 1 };
    expect(pickRinger(book, always, random, (s) => s.image === 'b')?.spec.image).toBe('b');
    expect(pickRinger(book, always, random, () => false)).toBeNull();
    expect(pickRinger([], always, random, () => true)).toBeNull();
  });

  it('check a result against the known answer; a failed run proves nothing', () => {
    expect(ringerVerdict(digest('a'), { state: 'succeeded', digest: digest('a') })).toBe('agree');
    expect(ringerVerdict(digest('a'), { state: 'succeeded', digest: digest('b') })).toBe('wrong');
    expect(ringerVerdict(digest('a'), { state: 'failed', digest: null })).toBeNull();
  });

  it('a ringer with no known answer is refused, naming it and the accepted form', () => {
    expect(() => checkRingers([{ spec: { image: 'a' }, digest: digest('a') }, { spec: { image: 'busybox' } }], 'jobs.trust.ringers')).toThrow(
      /jobs\.trust\.ringers\[1\] \(image busybox\): a ringer needs its known answer: digest must be sha256:<64 hex digits>, got none/,
    );
    expect(() => checkRingers([{ spec: { image: 'a' }, digest: 'md5:abc' }])).toThrow(/got "md5:abc"/);
  });
});

describe('stakes and slashing', () => {
  it('a stake below the minimum is refused with the amounts', () => {
    expect(() => checkStake('0xabc', P.minStake - 1n, 0n, P)).toThrow(`stake for 0xabc: ${P.minStake - 1n} wei would leave a stake of ${P.minStake - 1n} wei, below the minimum of ${P.minStake} wei`);
    expect(() => checkStake('0xabc', 0n, P.minStake, P)).toThrow(/must be a positive number of wei/);
    expect(() => checkStake('0xabc', 1n, P.minStake, P)).not.toThrow(); // a top-up above the minimum
    expect(() => checkStake('0xabc', P.minStake, 0n, P)).not.toThrow();
  });

  it('a proven wrong result costs slashBps of the stake, exactly, down to the last wei', () => {
    expect(slashAmount('0xabc', 100n * SNM, P)).toBe(10n * SNM);
    expect(slashAmount('0xabc', 5n, P)).toBe(1n); // at least 1 wei
    expect(slashAmount('0xabc', 1n, { ...P, slashBps: 10_000 })).toBe(1n);
    let stake = 123_456_789_012_345_678_901n;
    let slashed = 0n;
    for (let i = 0; i < 500 && stake > 0n; i++) {
      const cut = slashAmount('0xabc', stake, P);
      stake -= cut;
      slashed += cut;
    }
    expect(stake + slashed).toBe(123_456_789_012_345_678_901n);
  });

  it('an unstaked owner cannot be slashed: a clear error', () => {
    expect(() => slashAmount('0xabc', 0n, P)).toThrow('cannot slash 0xabc: the owner has no stake');
  });
});
