// Secrets at rest are salted scrypt hashes `scrypt$N$r$p$salt$hash` (base64url); the parameters travel
// with each hash so they can be raised later without breaking stored ones. Verification of a secret that
// already passed once is cached in memory as an HMAC under a per-process key, so reconnect storms of
// thousands of devices do not each cost a slow hash; the database only ever holds scrypt hashes.
import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}
export const DEFAULT_SCRYPT: ScryptParams = { N: 16_384, r: 8, p: 1 };

function scrypt(secret: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCb(secret, salt, 32, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashSecret(secret: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || N > 2 ** 20) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  const key = await scrypt(secret, salt, { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** Remembers secrets that verified against a given stored hash. Bounded; keyed by principal. */
export class VerifiedCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, { mac: Buffer; hash: string }>();
  constructor(private readonly limit = 100_000) {}

  private mac(secret: string): Buffer {
    return createHmac('sha256', this.key).update(secret).digest();
  }

  has(principal: string, secret: string, storedHash: string): boolean {
    const e = this.entries.get(principal);
    if (!e || e.hash !== storedHash) return false;
    const mac = this.mac(secret);
    return timingSafeEqual(mac, e.mac);
  }

  remember(principal: string, secret: string, storedHash: string): void {
    if (this.entries.size >= this.limit) {
      const first = this.entries.keys().next().value;
      if (first !== undefined) this.entries.delete(first);
    }
    this.entries.set(principal, { mac: this.mac(secret), hash: storedHash });
  }

  forget(principal: string): void {
    this.entries.delete(principal);
  }
}
