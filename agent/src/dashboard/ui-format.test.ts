// The dashboard shows amounts with the protocol's exact formatter: 4,000 wei earned is not "0 SNM".
import { describe, expect, it } from 'vitest';
import { fmtTokens } from './ui/lib.js';

describe('dashboard amounts', () => {
  it('are exact', () => {
    expect(fmtTokens('4000')).toBe('0.000000000000004');
    expect(fmtTokens('1500000000000000000')).toBe('1.5');
    expect(fmtTokens('0')).toBe('0');
    expect(fmtTokens(null)).toBe('—');
  });
});
