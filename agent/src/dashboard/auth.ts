// Dashboard login: who may log in (a password hash from the config, or a one-time code printed on the
// agent's console), the sessions that a login opens (random tokens in an HttpOnly, SameSite=Strict
// cookie, in memory only) and a limiter on failed logins (per client address and overall). Every check
// takes its slot in the limiter before the hash is computed (a success gives it back), and at most a
// couple run at once: attempts sent in parallel cannot slip past the limit or start a scrypt child each.
import { randomBytes } from 'node:crypto';
import type { Logger } from '@sosna/protocol';
import { codeMatches, oneTimeCode, verifyPassword } from './password.js';

export const SESSION_COOKIE = 'sosna_session';

export class Sessions {
  private readonly tokens = new Map<string, number>(); // token -> expires at
  constructor(private readonly o: { ttlMs: number; max?: number; now?: () => number }) {}

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  create(): { token: string; expiresAt: number } {
    const now = this.now();
    for (const [t, exp] of this.tokens) if (exp <= now) this.tokens.delete(t);
    // Bounded: the oldest session goes first (a Map iterates in insertion order).
    while (this.tokens.size >= (this.o.max ?? 64)) this.tokens.delete(this.tokens.keys().next().value!);
    const token = randomBytes(32).toString('base64url');
    const expiresAt = now + this.o.ttlMs;
    this.tokens.set(token, expiresAt);
    return { token, expiresAt };
  }

  valid(token: string | undefined): boolean {
    if (!token) return false;
    const exp = this.tokens.get(token);
    if (exp === undefined) return false;
    if (exp <= this.now()) {
      this.tokens.delete(token);
      return false;
    }
    return true;
  }

  revoke(token: string | undefined): void {
    if (token) this.tokens.delete(token);
  }

  /** Ends every session but `keep` (a password change logs other browsers out). */
  revokeAllExcept(keep?: string): void {
    for (const t of [...this.tokens.keys()]) if (t !== keep) this.tokens.delete(t);
  }

  get size(): number {
    return this.tokens.size;
  }
}

interface Window {
  count: number;
  first: number;
}

/** A login check that may run now (`end` once it is decided), or why not and for how long. */
export type LoginAttempt =
  | { ok: true; end(success: boolean): void }
  | { ok: false; reason: 'limit' | 'busy'; retryAfterMs: number };

/**
 * Failed logins: at most `perClient` per window from one address and `overall` per window in total; and at
 * most `concurrent` checks at a time (one per address). An attempt counts as a failure from the moment it
 * starts, so attempts sent at once are limited like attempts sent one after another.
 */
export class LoginLimiter {
  private readonly clients = new Map<string, Window>();
  private global: Window = { count: 0, first: 0 };
  private readonly checking = new Set<string>();
  constructor(private readonly o: { perClient?: number; overall?: number; windowMs?: number; maxClients?: number; concurrent?: number; now?: () => number } = {}) {}

  private get windowMs(): number {
    return this.o.windowMs ?? 60_000;
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  private wait(w: Window | undefined, max: number, now: number): number {
    if (!w || now - w.first >= this.windowMs || w.count < max) return 0;
    return w.first + this.windowMs - now;
  }

  /** Milliseconds until `client` may try again; 0 when it may try now. */
  retryAfterMs(client: string): number {
    const now = this.now();
    return Math.max(this.wait(this.clients.get(client), this.o.perClient ?? 5, now), this.wait(this.global, this.o.overall ?? 30, now));
  }

  /**
   * Before a secret is checked: refused while the limit is reached or `concurrent` checks (or one of this
   * client's) are running; else the attempt is counted as failed now and a success gives the slot back.
   */
  begin(client: string): LoginAttempt {
    const wait = this.retryAfterMs(client);
    if (wait > 0) return { ok: false, reason: 'limit', retryAfterMs: wait };
    if (this.checking.size >= (this.o.concurrent ?? 2) || this.checking.has(client)) return { ok: false, reason: 'busy', retryAfterMs: 1000 };
    this.failed(client);
    const window = this.global.first;
    this.checking.add(client);
    let done = false;
    return {
      ok: true,
      end: (success) => {
        if (done) return;
        done = true;
        this.checking.delete(client);
        if (!success) return;
        this.succeeded(client);
        if (this.global.first === window && this.global.count > 0) this.global.count--;
      },
    };
  }

  failed(client: string): void {
    const now = this.now();
    const bump = (w: Window | undefined): Window => (!w || now - w.first >= this.windowMs ? { count: 1, first: now } : { count: w.count + 1, first: w.first });
    this.global = bump(this.global);
    const next = bump(this.clients.get(client));
    this.clients.delete(client);
    while (this.clients.size >= (this.o.maxClients ?? 1024)) this.clients.delete(this.clients.keys().next().value!);
    this.clients.set(client, next);
  }

  succeeded(client: string): void {
    this.clients.delete(client);
  }
}

/** What a login is checked against: the configured password's hash, or else a one-time code. */
export class LoginSecret {
  private hash: string | null;
  private code: string | null = null;

  constructor(private readonly o: { passwordHash?: string | null; log: Logger; showCode?: (code: string) => void }) {
    this.hash = o.passwordHash ?? null;
    if (!this.hash) this.code = oneTimeCode();
  }

  /** Prints the current code (once the dashboard listens); nothing with a password. */
  announce(): void {
    if (this.code) this.show(this.code);
  }

  private show(code: string): void {
    // The one place the code appears: the agent's own console (stderr: the journal, the serial console).
    (this.o.showCode ?? ((c) => this.o.log.warn(`dashboard login code (one-time; set a dashboard password in Settings): ${c}`)))(code);
  }

  get mode(): 'password' | 'code' {
    return this.hash ? 'password' : 'code';
  }

  private newCode(): void {
    this.code = oneTimeCode();
    this.show(this.code);
  }

  /** Checks a typed secret; a used code is replaced by a new one (printed again). */
  async check(secret: string): Promise<boolean> {
    if (typeof secret !== 'string' || secret.length === 0 || secret.length > 256) return false;
    if (this.hash) return verifyPassword(secret, this.hash);
    if (!this.code || !codeMatches(secret, this.code)) return false;
    this.newCode();
    return true;
  }

  setPasswordHash(hash: string): void {
    this.hash = hash;
    this.code = null;
  }
}

/** The value of one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(token: string, maxAgeSec: number, secure = false): string {
  return `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSec}${secure ? '; Secure' : ''}`;
}
