// Login throttle (pure; clock injected). Counts FAILED logins per remote address and per user name; a key
// whose count passes its free allowance is locked for an exponentially growing time (base * 2^excess, capped).
// The count leaks away (one failure forgotten every leakMs), so a client that fails now and then is never
// locked, and a lock ends by itself. Attempts refused while locked are not counted: they cost the hub nothing
// (the caller refuses them before any hash), and a locked key cannot be pushed further out by hammering it.
// Successful logins are never counted, so a reconnect storm of devices with good secrets passes whatever its
// rate; a good login clears its user name's count (not its address's: one good account must not launder an
// address that sprays guesses at others).

export interface BackoffPolicy {
  /** Failures that lock nothing; the next one starts the first lock. */
  free: number;
  /** One failure is forgotten every leakMs. */
  leakMs: number;
  /** First lock; each further failure doubles it. */
  baseMs: number;
  maxMs: number;
}

export interface ThrottlePolicy {
  byAddress: BackoffPolicy;
  byUser: BackoffPolicy;
  /** Bound on remembered keys per kind (the oldest is forgotten first). */
  maxEntries: number;
}

// A user name's lock is capped at a minute: its secret is random (devices, keys) or generated (operators), so
// the lock is about cost, and an outsider who knows a device id must not keep that device out for long.
// An address gets more free failures (several devices behind one NAT may each fail a few times) and longer locks.
export const DEFAULT_THROTTLE: ThrottlePolicy = {
  byAddress: { free: 20, leakMs: 30_000, baseMs: 1_000, maxMs: 10 * 60_000 },
  byUser: { free: 10, leakMs: 60_000, baseMs: 1_000, maxMs: 60_000 },
  maxEntries: 100_000,
};

interface Entry {
  level: number;
  at: number;
  lockedUntil: number;
}

class Backoff {
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly policy: BackoffPolicy, private readonly maxEntries: number) {}

  private current(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    e.level = Math.max(0, e.level - (now - e.at) / this.policy.leakMs);
    e.at = now;
    if (e.level === 0 && e.lockedUntil <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Milliseconds until the key may try again; 0 when it may now. */
  wait(key: string, now: number): number {
    const e = this.current(key, now);
    return e ? Math.max(0, e.lockedUntil - now) : 0;
  }

  /** Counts a failure; answers the lock it caused (ms), 0 for none. */
  fail(key: string, now: number): number {
    let e = this.current(key, now);
    if (e) this.entries.delete(key); // re-inserted below: the map's order is the order of last failure
    else e = { level: 0, at: now, lockedUntil: 0 };
    e.level += 1;
    const excess = Math.ceil(e.level) - this.policy.free;
    let lock = 0;
    if (excess > 0) {
      lock = Math.min(this.policy.maxMs, this.policy.baseMs * 2 ** Math.min(excess - 1, 30));
      e.lockedUntil = now + lock;
    }
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, e);
    return lock;
  }

  clear(key: string): void {
    this.entries.delete(key);
  }

  /** Keys still remembered at `now` (forgotten ones are dropped on the way). */
  size(now: number): number {
    for (const key of [...this.entries.keys()]) this.current(key, now);
    return this.entries.size;
  }
}

export type ThrottleVerdict = { ok: true } | { ok: false; retryAfterMs: number; by: 'address' | 'user' };

export class LoginThrottle {
  private readonly byAddress: Backoff;
  private readonly byUser: Backoff;

  constructor(policy: ThrottlePolicy = DEFAULT_THROTTLE, private readonly now: () => number = Date.now) {
    this.byAddress = new Backoff(policy.byAddress, policy.maxEntries);
    this.byUser = new Backoff(policy.byUser, policy.maxEntries);
  }

  /** Whether a login from `address` as `user` may be checked now (call before any hash). */
  check(address: string, user: string): ThrottleVerdict {
    const now = this.now();
    const a = this.byAddress.wait(addressKey(address), now);
    if (a > 0) return { ok: false, retryAfterMs: a, by: 'address' };
    const u = this.byUser.wait(user, now);
    if (u > 0) return { ok: false, retryAfterMs: u, by: 'user' };
    return { ok: true };
  }

  /** Counts a failed login; answers the locks it started (ms, 0 for none) so the caller can log them once. */
  failed(address: string, user: string): { address: number; user: number } {
    const now = this.now();
    return { address: this.byAddress.fail(addressKey(address), now), user: this.byUser.fail(user, now) };
  }

  succeeded(user: string): void {
    this.byUser.clear(user);
  }

  /** Keys remembered (for tests and metrics). */
  size(): { addresses: number; users: number } {
    const now = this.now();
    return { addresses: this.byAddress.size(now), users: this.byUser.size(now) };
  }
}

/**
 * The key an address is counted under: an IPv4 address as it is (also when IPv4-mapped), an IPv6 address
 * by its /64 (one host usually holds a whole /64, so counting single v6 addresses would count nothing).
 */
export function addressKey(address: string): string {
  const a = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (!a.includes(':')) return a;
  const [head = '', tail] = a.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => (g.replace(/^0+(?=.)/, '') || '0')).join(':')}::/64`;
}
