// Dashboard secrets: the login password at rest is a salted scrypt hash `scrypt$N$r$p$salt$hash`
// (base64url, the parameters travel with the hash, the same format as the hub's). Without a password the
// agent makes a one-time login code and prints it on its console.
//
// scrypt runs in a short-lived child process (plain `node -e`, the secret on stdin): OpenSSL's 16 MiB
// scratch buffer, computed in the agent itself, stays in glibc's malloc arenas after the second hash
// (glibc raises its mmap threshold on the first free), up to 16 MiB per libuv thread: measured +16 MiB
// resident per login against the agent's 60 MB target. A child gives all of it back when it exits.
import { spawn } from 'node:child_process';
import { randomBytes, randomInt, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  /** Compute in this process instead of a child (only where memory does not matter, or no child can start). */
  inProcess?: boolean;
}
/** 16 MiB of scratch memory for one hash, in a child process while a login or a password change runs. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 16_384, r: 8, p: 1 };

const maxmem = (q: ScryptParams) => 256 * q.N * q.r + 1024 * 1024;

function scryptHere(secret: string, salt: Buffer, q: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(secret, salt, 32, { N: q.N, r: q.r, p: q.p, maxmem: maxmem(q) }, (err, key) => (err ? reject(err) : resolve(key))));
}

const CHILD_SCRIPT = `let d='';process.stdin.setEncoding('utf8').on('data',(c)=>{d+=c}).on('end',()=>{const a=JSON.parse(d);require('node:crypto').scrypt(a.secret,Buffer.from(a.salt,'base64'),32,a.opts,(e,k)=>{if(e){process.stderr.write(e.message);process.exit(1)}process.stdout.write(k.toString('base64'))})})`;

function scryptInChild(secret: string, salt: Buffer, q: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: {} });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) => (clearTimeout(timer), reject(e)));
    child.on('close', (code) => {
      clearTimeout(timer);
      const key = Buffer.from(out, 'base64');
      if (code === 0 && key.length === 32) resolve(key);
      else reject(new Error(`scrypt child failed (exit ${code}): ${err.slice(0, 200)}`));
    });
    child.stdin.end(JSON.stringify({ secret, salt: salt.toString('base64'), opts: { N: q.N, r: q.r, p: q.p, maxmem: maxmem(q) } }));
  });
}

/** In a child; where no child can start (or it fails), here: a login must not fail for want of memory hygiene. */
function scrypt(secret: string, salt: Buffer, q: ScryptParams): Promise<Buffer> {
  return q.inProcess ? scryptHere(secret, salt, q) : scryptInChild(secret, salt, q).catch(() => scryptHere(secret, salt, q));
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** True when `password` matches the stored hash; false for a wrong password or a malformed hash. */
export async function verifyPassword(password: string, stored: string, opts: { inProcess?: boolean } = {}): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // bounds keep a hostile config from making one login cost gigabytes
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || N > 2 ** 20 || r > 32 || p > 16) return false;
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length < 16) return false;
  const key = await scrypt(password, Buffer.from(parts[4]!, 'base64url'), { N, r, p, ...(opts.inProcess ? { inProcess: true } : {}) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

// No 0/O, 1/I/L: the code is read off a serial console or a small screen.
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** A one-time login code `XXXX-XXXX` (about 40 bits; failed logins are rate-limited). */
export function oneTimeCode(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}

/** Compares a typed code with the expected one: case, spaces and the dash do not matter. */
export function codeMatches(typed: string, code: string): boolean {
  const norm = (s: string) => Buffer.from(s.toUpperCase().replace(/[\s-]/g, ''));
  const a = norm(typed);
  const b = norm(code);
  return a.length === b.length && timingSafeEqual(a, b);
}
