import { describe, expect, it } from 'vitest';
import { addressKey, LoginThrottle } from './throttle.js';
import type { ThrottlePolicy } from './throttle.js';

const policy: ThrottlePolicy = {
  byAddress: { free: 6, leakMs: 10_000, baseMs: 1_000, maxMs: 60_000 },
  byUser: { free: 3, leakMs: 20_000, baseMs: 1_000, maxMs: 8_000 },
  maxEntries: 1_000,
};

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('login throttle', () => {
  it('allows the free failures, then locks the user name with a doubling, capped delay', () => {
    const c = clock();
    const th = new LoginThrottle(policy, c.now);
    for (let i = 0; i < 3; i++) {
      expect(th.check('10.0.0.1', 'op:alice')).toEqual({ ok: true });
      expect(th.failed('10.0.0.1', 'op:alice').user).toBe(0);
    }
    expect(th.check('10.0.0.1', 'op:alice')).toEqual({ ok: true });
    expect(th.failed('10.0.0.1', 'op:alice').user).toBe(1_000);
    expect(th.check('10.0.0.1', 'op:alice')).toMatchObject({ ok: false, by: 'user', retryAfterMs: 1_000 });
    expect(th.check('10.9.9.9', 'op:alice')).toMatchObject({ ok: false, by: 'user' });
    expect(th.check('10.0.0.1', 'op:bob')).toEqual({ ok: true });
    c.advance(1_000);
    expect(th.check('10.0.0.1', 'op:alice')).toEqual({ ok: true });
    expect(th.failed('10.0.0.2', 'op:alice').user).toBe(2_000);
    c.advance(2_000);
    expect(th.failed('10.0.0.3', 'op:alice').user).toBe(4_000);
    c.advance(4_000);
    expect(th.failed('10.0.0.4', 'op:alice').user).toBe(8_000);
    c.advance(8_000);
    expect(th.failed('10.0.0.5', 'op:alice').user).toBe(8_000); // capped
  });

  it('forgets failures over time, so a client that fails now and then is never locked', () => {
    const c = clock();
    const th = new LoginThrottle(policy, c.now);
    for (let i = 0; i < 50; i++) {
      expect(th.check('10.0.0.1', 'dev:x')).toEqual({ ok: true });
      th.failed('10.0.0.1', 'dev:x');
      c.advance(25_000); // slower than the user leak (one per 20 s) and the address leak
    }
    c.advance(10 * 60_000);
    expect(th.size()).toEqual({ addresses: 0, users: 0 }); // nothing left to remember
  });

  it('locks an address that sprays many user names', () => {
    const c = clock();
    const th = new LoginThrottle(policy, c.now);
    for (let i = 0; i < 6; i++) expect(th.failed('10.0.0.1', `op:u${i}`).address).toBe(0);
    expect(th.failed('10.0.0.1', 'op:u6').address).toBe(1_000);
    expect(th.check('10.0.0.1', 'op:never-tried')).toMatchObject({ ok: false, by: 'address' });
    expect(th.check('10.0.0.2', 'op:never-tried')).toEqual({ ok: true });
  });

  it('never counts successes: a storm of good logins from one address passes, and a good login clears its user name', () => {
    const c = clock();
    const th = new LoginThrottle(policy, c.now);
    for (let i = 0; i < 10_000; i++) {
      expect(th.check('10.0.0.1', `dev:d${i}`)).toEqual({ ok: true });
      th.succeeded(`dev:d${i}`);
    }
    for (let i = 0; i < 3; i++) th.failed('10.0.0.1', 'dev:d1');
    th.succeeded('dev:d1');
    expect(th.failed('10.0.0.1', 'dev:d1').user).toBe(0); // counting starts again
    expect(th.size().users).toBe(1);
  });

  it('bounds what it remembers', () => {
    const th = new LoginThrottle({ ...policy, maxEntries: 100 }, clock().now);
    for (let i = 0; i < 1_000; i++) th.failed(`10.0.${i >> 8}.${i & 255}`, `dev:d${i}`);
    expect(th.size()).toEqual({ addresses: 100, users: 100 });
  });

  it('counts IPv6 clients by their /64 and IPv4-mapped ones as IPv4', () => {
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:0DB8:0000:0001:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});
