import { describe, expect, it } from 'vitest';
import { formatSnm, formatWei, parsePricePerSec, snm } from './amount.js';

describe('amounts', () => {
  it('shows every non-zero amount exactly, never a rounded 0', () => {
    expect(snm(4000n)).toBe('0.000000000000004');
    expect(formatSnm('4000')).toBe('0.000000000000004 SNM');
    expect(snm(1n)).toBe('0.000000000000000001');
    expect(snm(0n)).toBe('0');
    expect(snm(1_500_000_000_000_000_000n)).toBe('1.5');
    expect(snm(123_456_789_012_345_678_901n)).toBe('123.456789012345678901');
    expect(formatWei(4000n)).toBe('4,000 wei');
  });
  it('reads prices in wei/s and SNM per s, min or h, exactly', () => {
    expect(parsePricePerSec('1000')).toBe(1000n);
    expect(parsePricePerSec('1000wei/s')).toBe(1000n);
    expect(parsePricePerSec('0.36SNM/h')).toBe(100_000_000_000_000n);
    expect(parsePricePerSec('0.36 snm/hour')).toBe(100_000_000_000_000n);
    expect(parsePricePerSec('0.06SNM/min')).toBe(1_000_000_000_000_000n);
    expect(parsePricePerSec('0.0001SNM/s')).toBe(100_000_000_000_000n);
    expect(parsePricePerSec('1SNM')).toBe(10n ** 18n);
    expect(parsePricePerSec('3600wei/h')).toBe(1n);
  });
  it('refuses what is not a whole number of wei per second, with the accepted forms', () => {
    // 0.5 SNM/h is 138,888,888,888,888.9 wei/s
    expect(() => parsePricePerSec('0.5SNM/h')).toThrow(/500,000,000,000,000,000 wei per 3600 s, not a whole number of wei per second.*138888888888888 or 138888888888889.*0\.36SNM\/h/);
    expect(() => parsePricePerSec('1.5wei/s')).toThrow(/smallest unit/);
    expect(() => parsePricePerSec('0.0000000000000000001SNM/s')).toThrow(/18 decimals/);
    expect(() => parsePricePerSec('5 dollars')).toThrow(/use 1000 \(token wei per second\)/);
    expect(() => parsePricePerSec('-1')).toThrow(/use /);
  });
});
