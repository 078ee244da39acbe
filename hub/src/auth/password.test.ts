import { describe, expect, it } from 'vitest';
import { hashSecret, verifySecret, VerifiedCache } from './password.js';

const fast = { N: 1024, r: 8, p: 1 };

describe('secrets at rest', () => {
  it('stores salted scrypt hashes that verify only the right secret', async () => {
    const a = await hashSecret('s3cret', fast);
    const b = await hashSecret('s3cret', fast);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(a).not.toBe(b); // salted
    expect(a).not.toContain('s3cret');
    expect(await verifySecret('s3cret', a)).toBe(true);
    expect(await verifySecret('s3creT', a)).toBe(false);
    expect(await verifySecret('s3cret', 'plain')).toBe(false);
    expect(await verifySecret('s3cret', 'scrypt$99999999$8$1$x$y')).toBe(false);
  });

  it('caches a verified secret per principal and hash only', async () => {
    const cache = new VerifiedCache(2);
    cache.remember('dev:a', 'pw', 'h1');
    expect(cache.has('dev:a', 'pw', 'h1')).toBe(true);
    expect(cache.has('dev:a', 'other', 'h1')).toBe(false);
    expect(cache.has('dev:a', 'pw', 'h2')).toBe(false); // secret rotated
    cache.remember('dev:b', 'pw', 'h1');
    cache.remember('dev:c', 'pw', 'h1');
    expect(cache.has('dev:a', 'pw', 'h1')).toBe(false); // bounded
  });
});
