import { describe, expect, it } from 'vitest';
import { hashKind, hashMachineSecret, hashSecret, randomSecret, verifySecret } from './password.js';

const fast = { N: 1024, r: 8, p: 1 };

describe('secrets at rest', () => {
  it('stores salted scrypt hashes of human secrets that verify only the right secret', async () => {
    const a = await hashSecret('s3cret', fast);
    const b = await hashSecret('s3cret', fast);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(hashKind(a)).toBe('scrypt');
    expect(a).not.toBe(b); // salted
    expect(a).not.toContain('s3cret');
    expect(await verifySecret('s3cret', a)).toBe(true);
    expect(await verifySecret('s3creT', a)).toBe(false);
    expect(await verifySecret('s3cret', 'plain')).toBe(false);
    expect(await verifySecret('s3cret', 'scrypt$99999999$8$1$x$y')).toBe(false);
  });

  it('stores machine secrets as salted SHA-256 that verifies only the right secret', async () => {
    const secret = randomSecret(24);
    const a = hashMachineSecret(secret);
    const b = hashMachineSecret(secret);
    expect(a).toMatch(/^sha256\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(hashKind(a)).toBe('sha256');
    expect(a).not.toBe(b); // salted
    expect(a).not.toContain(secret);
    expect(await verifySecret(secret, a)).toBe(true);
    expect(await verifySecret(secret, b)).toBe(true);
    expect(await verifySecret(`${secret}x`, a)).toBe(false);
    expect(await verifySecret(secret.slice(1), a)).toBe(false);
    expect(await verifySecret(secret, 'sha256$$')).toBe(false);
    expect(await verifySecret(secret, `${a}$extra`)).toBe(false);
    expect(hashKind('md5$x')).toBeNull();
  });

  it('still verifies a machine secret stored as scrypt before machine hashes existed', async () => {
    const secret = randomSecret(24);
    const old = await hashSecret(secret, fast);
    expect(await verifySecret(secret, old)).toBe(true);
    expect(await verifySecret('nope', old)).toBe(false);
  });
});
