// `sosna console alerts` output and flags, pure.
import { describe, expect, it } from 'vitest';
import { alertRows, parseSince, testLines } from './commands/alerts.js';

describe('console alerts', () => {
  it('lists firing alerts first, with who acknowledged them', () => {
    const base = { rule: 'off', metric: 'device.offline', value: null, startsAt: 0, endsAt: null, ackedBy: null, ackedAt: null };
    const rows = alertRows([
      { ...base, id: 3, subject: 'b', status: 'resolved', endsAt: 60_000 },
      { ...base, id: 2, subject: 'a', status: 'firing', ackedBy: 'olga', ackedAt: 90_000 },
    ], 120_000);
    expect(rows).toEqual([
      ['2', 'firing', 'off', 'a', '-', '2m ago', '-', 'olga 30s ago'],
      ['3', 'resolved', 'off', 'b', '-', '2m ago', '1m ago', '-'],
    ]);
  });
  it('--resolved takes a duration; test prints one line per webhook', () => {
    expect(parseSince('12h')).toBe(43_200);
    expect(() => parseSince('yesterday')).toThrow('--resolved "yesterday": a duration such as 30m, 12h or 7d');
    expect(testLines([{ webhook: 'ops', kind: 'json', ok: true, status: 200, error: null }, { webhook: 'tg', kind: 'telegram', ok: false, status: null, error: 'fetch failed: ECONNREFUSED' }]))
      .toBe('ops (json): ok, HTTP 200\ntg (telegram): FAILED: fetch failed: ECONNREFUSED\n');
    expect(testLines([])).toContain('no webhooks configured');
  });
});
