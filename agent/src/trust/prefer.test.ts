import { describe, expect, it } from 'vitest';
import { cardPrice, chooseHub, compareHubs } from './prefer.js';
import type { HubCandidate } from './prefer.js';

const ok = { ok: true as const, score: 1, claimable: 0n };
const hub = (hubId: string, o: Partial<HubCandidate> = {}): HubCandidate => ({ hubId, verdict: ok, trusted: false, price: null, paidToOwner: 0n, available: 10n ** 20n, record: null, ...o });
const rec = (standing: 'none' | 'irregular' | 'regular', payouts = 0) => ({ standing, payouts, miners: payouts, total: 0n, average: 0n, typicalGapSec: null, maxGapSec: null, sinceLastSec: null, ageSec: null, suspicions: 0, banned: false });

describe('hub preference', () => {
  it('never picks a refused hub, however good it looks, and reports why it was left out', () => {
    const c = chooseHub([
      hub('hub-rich', { trusted: true, price: 10n ** 18n, verdict: { ok: false, reasons: ['wallet 0x1 is Suspected, not Registered'], claimable: 0n } }),
      hub('hub-plain'),
    ]);
    expect(c.chosen?.hubId).toBe('hub-plain');
    expect(c.refused).toEqual([{ hubId: 'hub-rich', reasons: ['wallet 0x1 is Suspected, not Registered'] }]);
    expect(chooseHub([hub('x', { verdict: { ok: false, reasons: ['r'], claimable: 0n } })])).toMatchObject({ chosen: null, ranked: [] });
  });

  it('ranks a regular payout record above a better price, and an irregular one above none; then the number of payouts', () => {
    const ranked = chooseHub([
      hub('h-rich-unproven', { price: 10n ** 18n, record: rec('none') }),
      hub('h-unknown', { price: 10n ** 17n }),
      hub('h-irregular', { price: 1n, record: rec('irregular', 2) }),
      hub('h-regular', { price: 1n, record: rec('regular', 5) }),
      hub('h-regular-more', { price: 1n, record: rec('regular', 9) }),
      hub('h-trusted', { trusted: true, record: rec('none') }),
    ]).ranked.map((h) => h.hubId);
    expect(ranked).toEqual(['h-trusted', 'h-regular-more', 'h-regular', 'h-irregular', 'h-rich-unproven', 'h-unknown']);
  });

  it('ranks trusted first, then price, then payouts to this owner, then funds, then id', () => {
    const ranked = chooseHub([
      hub('h-funds', { available: 10n ** 21n }),
      hub('h-paid', { paidToOwner: 1n }),
      hub('h-price', { price: 2n }),
      hub('h-price-lower', { price: 1n, paidToOwner: 10n ** 24n }),
      hub('h-trusted', { trusted: true, price: null }),
      hub('h-a'),
      hub('h-b'),
    ]).ranked.map((h) => h.hubId);
    expect(ranked).toEqual(['h-trusted', 'h-price', 'h-price-lower', 'h-paid', 'h-funds', 'h-a', 'h-b']);
  });

  it('compares wei exactly (amounts beyond 2^53 that a float would merge)', () => {
    const a = hub('a', { price: 2n ** 70n + 1n });
    const b = hub('b', { price: 2n ** 70n });
    expect(compareHubs(a, b)).toBeLessThan(0);
    expect(compareHubs(b, a)).toBeGreaterThan(0);
    expect(compareHubs(a, a)).toBe(0);
  });

  it('reads the price a card offers for a key', () => {
    expect(cardPrice({ prices: { cpu: '1000000000000000000000' } }, 'cpu')).toBe(10n ** 21n);
    expect(cardPrice({ prices: { cpu: '1' } }, 'gpu')).toBeNull();
    expect(cardPrice({}, 'cpu')).toBeNull();
  });
});
