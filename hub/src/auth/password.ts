// Secrets at rest, in two kinds chosen by who made the secret:
//   human    `scrypt$N$r$p$salt$hash` (base64url): operator passwords. Slow on purpose; the parameters travel
//            with each hash so they can be raised later without breaking stored ones.
//   machine  `sha256$salt$hash` (base64url): device passwords and provisioning-key secrets, 24 random bytes
//            the hub itself drew. Guessing 192 random bits is hopeless whatever the hash, so a slow hash buys
//            nothing and would make every reconnect storm CPU-bound; one SHA-256 costs about a microsecond.
// verifySecret tells the kinds apart by the stored prefix, so scrypt hashes of devices from before still verify
// (the authenticator rewrites them as machine hashes on their next good login).
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}
export const DEFAULT_SCRYPT: ScryptParams = { N: 16_384, r: 8, p: 1 };

/** How a stored hash is verified, read from its prefix; null for a format this hub does not know. */
export type HashKind = 'scrypt' | 'sha256';

export function hashKind(stored: string): HashKind | null {
  if (stored.startsWith('scrypt$')) return 'scrypt';
  if (stored.startsWith('sha256$')) return 'sha256';
  return null;
}

function scrypt(secret: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCb(secret, salt, 32, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A human's secret (operator password): salted scrypt. */
export async function hashSecret(secret: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(secret, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

function sha256(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret, 'utf8').digest();
}

/** A secret the hub drew itself from 24+ random bytes (device password, provisioning-key secret): salted SHA-256. */
export function hashMachineSecret(secret: string): string {
  const salt = randomBytes(16);
  return `sha256$${salt.toString('base64url')}$${sha256(salt, secret).toString('base64url')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts[0] === 'sha256' && parts.length === 3) {
    const expected = Buffer.from(parts[2]!, 'base64url');
    const got = sha256(Buffer.from(parts[1]!, 'base64url'), secret);
    return got.length === expected.length && timingSafeEqual(got, expected);
  }
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || N > 2 ** 20) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  const key = await scrypt(secret, salt, { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Verifies a secret against a stored hash; the authenticator takes one so tests can observe the hash work. */
export type SecretVerifier = (secret: string, stored: string) => Promise<boolean>;

export function randomSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
