import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCodec, peekChannel } from './codec.js';
import { SosnaError } from './errors.js';
import { decodeFrame } from './rpc/frame.js';

const codec = createCodec({ maxPayload: 64 * 1024 });

describe('codec', () => {
  it('round-trips bigint amounts beyond 64 bits exactly', () => {
    const values = [0n, 1n, -1n, 255n, 2n ** 64n + 7n, -(10n ** 30n), 2n ** 255n];
    for (const v of values) expect(codec.decode(codec.encode({ amount: v }))).toEqual({ amount: v });
  });

  it('refuses oversized payloads before decoding', () => {
    const big = new Uint8Array(64 * 1024 + 1);
    expect(() => codec.decode(big)).toThrow(expect.objectContaining({ code: 'E_TOO_LARGE' }));
  });

  it('refuses __proto__ keys (no prototype pollution through payloads)', () => {
    const bytes = codec.encode(JSON.parse('{"__proto__": {"polluted": true}}'));
    expect(() => codec.decode(bytes)).toThrow(expect.objectContaining({ code: 'E_DECODE' }));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads the channel of a frame without decoding the rest', () => {
    for (const ch of [0, 5, 200, 70_000, 2 ** 40]) {
      const bytes = codec.encode([ch, 3, [{ x: 'y'.repeat(100) }]]);
      expect(peekChannel(bytes)).toBe(ch);
      // even when the tail is cut off
      expect(peekChannel(bytes.subarray(0, 12))).toBe(ch);
    }
    expect(peekChannel(Uint8Array.from([0xc1]))).toBeUndefined();
  });

  it('round-trips any msgpack-able value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"')), fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }), (value, big) => {
        const out = codec.decode(codec.encode({ value, big })) as { value: unknown; big: bigint };
        // msgpack has no negative zero: -0 travels as integer 0, as JSON would carry it
        expect(out.value).toEqual(JSON.parse(JSON.stringify(value)));
        expect(out.big).toBe(big);
      }),
      { numRuns: 2_000 },
    );
  });

  it('never throws anything but SosnaError on random bytes, and frames never throw (10,000+ cases)', () => {
    let decoded = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        try {
          codec.decode(bytes);
          decoded++;
        } catch (err) {
          expect(err).toBeInstanceOf(SosnaError);
        }
        const frame = decodeFrame(codec, bytes);
        expect(typeof frame.ok).toBe('boolean');
      }),
      { numRuns: 10_000 },
    );
    expect(decoded).toBeGreaterThan(0);
  });

  it('survives mutated valid frames (10,000 cases)', () => {
    const base = codec.encode([42, 1, [{ name: 'system', n: 2n ** 70n, list: [1, 2, 3] }]]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(base.length), (flips, cut) => {
        const bytes = base.slice(0, Math.max(1, cut));
        for (const [i, v] of flips) if (i < bytes.length) bytes[i] = v;
        const r = decodeFrame(codec, bytes);
        if (!r.ok) expect(r.error).toBeInstanceOf(SosnaError);
      }),
      { numRuns: 10_000 },
    );
  });
});
