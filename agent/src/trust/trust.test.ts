import { describe, expect, it } from 'vitest';
import { decode, encodeCall, selector } from './abi.js';
import { judgeHub } from './policy.js';
import type { HubFacts } from './policy.js';

describe('ABI subset', () => {
  it('computes the well-known selectors', () => {
    expect(selector('balanceOf(address)')).toBe('0x70a08231');
    expect(selector('transfer(address,uint256)')).toBe('0xa9059cbb');
  });

  it('encodes static arguments and decodes return words', () => {
    const data = encodeCall('transfer(address,uint256)', [
      { type: 'address', value: '0x00000000000000000000000000000000000000Ab' },
      { type: 'uint256', value: 10n ** 18n },
    ]);
    expect(data).toBe(`0xa9059cbb${'ab'.padStart(64, '0')}${(10n ** 18n).toString(16).padStart(64, '0')}`);
    expect(decode.bool(`0x${'1'.padStart(64, '0')}`)).toBe(true);
    expect(decode.address(`0x${'00'.repeat(12)}${'cd'.repeat(20)}`)).toBe(`0x${'cd'.repeat(20)}`);
    expect(decode.uint(`0x${'0'.repeat(64)}${'f'.padStart(64, '0')}`, 1)).toBe(15n);
    expect(() => decode.uint('0x')).toThrow(/no word 0/);
    expect(() => encodeCall('f(address)', [{ type: 'address', value: '0x12' }])).toThrow(/not an address/);
  });
});

describe('hub verdict', () => {
  const good: HubFacts = {
    owner: '0x1111111111111111111111111111111111111111', wallet: '0x2222222222222222222222222222222222222222', chainId: 31337, rpcChainId: 31337,
    listed: true, trusted: false, walletOwner: '0x1111111111111111111111111111111111111111', state: 'Registered', available: 10n ** 20n, claimable: 5n,
  };
  const policy = { requireTrusted: false, minAvailable: 10n ** 18n };

  it('accepts a listed, registered, funded wallet of the card owner; trusted ones score higher', () => {
    const v = judgeHub(good, policy);
    expect(v).toMatchObject({ ok: true, claimable: 5n });
    const t = judgeHub({ ...good, trusted: true }, policy);
    expect(t.ok && v.ok && t.score > v.score).toBe(true);
  });

  it('refuses with every reason that applies', () => {
    const v = judgeHub({ ...good, state: 'Suspected', available: 1n, walletOwner: '0x3333333333333333333333333333333333333333' }, policy);
    expect(v.ok).toBe(false);
    const reasons = v.ok ? [] : v.reasons;
    expect(reasons.join('\n')).toMatch(/Suspected, not Registered/);
    expect(reasons.join('\n')).toMatch(/less than the required/);
    expect(reasons.join('\n')).toMatch(/belongs to 0x3333/);
    expect(judgeHub({ ...good, listed: false }, policy)).toMatchObject({ ok: false, reasons: [expect.stringMatching(/not on the Whitelist/)] });
    expect(judgeHub(good, { ...policy, requireTrusted: true })).toMatchObject({ ok: false, reasons: [expect.stringMatching(/not trusted/)] });
    expect(judgeHub({ ...good, chainId: 1 }, policy)).toMatchObject({ ok: false });
  });
});
