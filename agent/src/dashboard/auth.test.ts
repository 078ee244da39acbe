import { describe, expect, it } from 'vitest';
import { silentLogger } from '@sosna/protocol';
import { LoginLimiter, LoginSecret, readCookie, sessionCookie, Sessions } from './auth.js';
import { codeMatches, hashPassword, oneTimeCode, verifyPassword } from './password.js';

const CHEAP = { N: 1024, r: 8, p: 1 };

describe('password hashes', () => {
  it('verify the right password only, in the scrypt$N$r$p$salt$hash format', async () => {
    const hash = await hashPassword('correct horse', CHEAP);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true); // in a child process
    expect(await verifyPassword('correct horse', hash, { inProcess: true })).toBe(true); // the same hash here
    expect(await verifyPassword('correct horsf', hash)).toBe(false);
    expect(await hashPassword('correct horse', CHEAP)).not.toBe(hash); // salted
  });

  it('refuse malformed or hostile hashes without computing them', async () => {
    for (const bad of ['', 'plain', 'scrypt$1024$8$1$c2FsdA', 'bcrypt$1$2$3$4$5', `scrypt$${2 ** 24}$8$1$c2FsdHNhbHRzYWx0$${'A'.repeat(43)}`, 'scrypt$1024$8$1$c2FsdA$c2hvcnQ']) {
      expect(await verifyPassword('x', bad)).toBe(false);
    }
  });
});

describe('one-time codes', () => {
  it('look like XXXX-XXXX without ambiguous characters and match loosely', () => {
    const code = oneTimeCode();
    expect(code).toMatch(/^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/);
    expect(codeMatches(code.toLowerCase().replace('-', ' '), code)).toBe(true);
    expect(codeMatches(code.slice(0, -1), code)).toBe(false);
  });
});

describe('sessions', () => {
  it('are valid until they expire or are revoked', () => {
    let now = 1000;
    const s = new Sessions({ ttlMs: 60_000, now: () => now });
    const a = s.create();
    expect(a.token).toMatch(/^[\w-]{43}$/);
    expect(s.valid(a.token)).toBe(true);
    expect(s.valid(undefined)).toBe(false);
    expect(s.valid('forged')).toBe(false);
    now += 60_000;
    expect(s.valid(a.token)).toBe(false);
    const b = s.create();
    s.revoke(b.token);
    expect(s.valid(b.token)).toBe(false);
  });

  it('are bounded (the oldest goes first) and can all be ended but one', () => {
    const s = new Sessions({ ttlMs: 60_000, max: 3 });
    const t = [s.create(), s.create(), s.create(), s.create()].map((x) => x.token);
    expect(s.size).toBe(3);
    expect(s.valid(t[0])).toBe(false);
    s.revokeAllExcept(t[3]);
    expect([s.valid(t[1]), s.valid(t[2]), s.valid(t[3])]).toEqual([false, false, true]);
  });

  it('travel in an HttpOnly SameSite=Strict cookie', () => {
    expect(sessionCookie('abc', 3600)).toBe('sosna_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=3600');
    expect(readCookie('a=1; sosna_session=xyz; b=2', 'sosna_session')).toBe('xyz');
    expect(readCookie('a=1', 'sosna_session')).toBeUndefined();
    expect(readCookie(undefined, 'sosna_session')).toBeUndefined();
  });
});

describe('login limiter', () => {
  it('blocks a client after 5 failures in a window, then lets it try again', () => {
    let now = 0;
    const l = new LoginLimiter({ now: () => now });
    for (let i = 0; i < 5; i++) {
      expect(l.retryAfterMs('10.0.0.9')).toBe(0);
      l.failed('10.0.0.9');
    }
    expect(l.retryAfterMs('10.0.0.9')).toBe(60_000);
    expect(l.retryAfterMs('10.0.0.10')).toBe(0); // others are not affected
    now += 30_000;
    expect(l.retryAfterMs('10.0.0.9')).toBe(30_000);
    now += 30_000;
    expect(l.retryAfterMs('10.0.0.9')).toBe(0);
  });

  it('bounds failures from all clients together, and forgets a client that logs in', () => {
    const l = new LoginLimiter({ perClient: 3, overall: 10, now: () => 0 });
    for (let i = 0; i < 10; i++) l.failed(`10.0.1.${i}`);
    expect(l.retryAfterMs('10.0.2.1')).toBeGreaterThan(0);
    const m = new LoginLimiter({ perClient: 2, now: () => 0 });
    m.failed('a');
    m.succeeded('a');
    m.failed('a');
    expect(m.retryAfterMs('a')).toBe(0);
  });
  it('counts an attempt when it starts, runs at most `concurrent` checks (one per client) and gives a success back', () => {
    let now = 0;
    const l = new LoginLimiter({ perClient: 3, concurrent: 2, now: () => now });
    const a = l.begin('a');
    expect(a.ok).toBe(true);
    expect(l.begin('a')).toEqual({ ok: false, reason: 'busy', retryAfterMs: 1000 }); // one check per client at a time
    const b = l.begin('b');
    expect(b.ok).toBe(true);
    expect(l.begin('c')).toMatchObject({ ok: false, reason: 'busy' }); // two at a time in all
    if (!a.ok || !b.ok) throw new Error('unreachable');
    a.end(false);
    b.end(true);
    // a's attempt stayed counted; b's success gave its slot back
    for (let i = 0; i < 2; i++) {
      const x = l.begin('a');
      if (!x.ok) throw new Error(`attempt ${i} refused`);
      x.end(false);
    }
    expect(l.begin('a')).toEqual({ ok: false, reason: 'limit', retryAfterMs: 60_000 });
    expect(l.begin('b').ok).toBe(true);
    now += 60_000;
    expect(l.begin('a').ok).toBe(true);
  });
});

describe('login secret', () => {
  it('checks the password against its hash', async () => {
    const s = new LoginSecret({ passwordHash: await hashPassword('correct horse', CHEAP), log: silentLogger });
    expect(s.mode).toBe('password');
    expect(await s.check('correct horse')).toBe(true);
    expect(await s.check('wrong')).toBe(false);
    expect(await s.check('')).toBe(false);
  });

  it('without a password, takes a printed one-time code once and prints the next', async () => {
    const shown: string[] = [];
    const s = new LoginSecret({ log: silentLogger, showCode: (c) => shown.push(c) });
    expect(s.mode).toBe('code');
    expect(shown).toHaveLength(0); // printed once the dashboard listens
    s.announce();
    expect(shown).toHaveLength(1);
    expect(await s.check('AAAA-AAAA')).toBe(false);
    expect(await s.check(shown[0]!)).toBe(true);
    expect(await s.check(shown[0]!)).toBe(false); // used up
    expect(shown).toHaveLength(2);
    expect(await s.check(shown[1]!)).toBe(true);
    s.setPasswordHash(await hashPassword('now a password', CHEAP));
    expect(s.mode).toBe('password');
    expect(await s.check(shown[2]!)).toBe(false);
  });
});
