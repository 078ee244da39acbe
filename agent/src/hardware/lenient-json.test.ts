import { describe, expect, it } from 'vitest';
import { parseLenientJson } from './lenient-json.js';

describe('parseLenientJson', () => {
  it('parses valid JSON without marking it repaired, ignoring NUL bytes', () => {
    expect(parseLenientJson('{"a":[1,2,{"b":"c"}]}\0')).toEqual({ ok: true, value: { a: [1, 2, { b: 'c' }] }, repaired: false });
  });

  it('accepts objects glued with }{ inside an array', () => {
    const r = parseLenientJson('{"STATS":[{"Type":"Antminer S19"}{"GHS 5s":"100.5"}],"id":1}');
    expect(r.ok && r.value).toEqual({ STATS: [{ Type: 'Antminer S19' }, { 'GHS 5s': '100.5' }], id: 1 });
    expect(r.ok && r.repaired).toBe(true);
  });

  it('accepts missing commas between members and trailing commas', () => {
    const r = parseLenientJson('{"a":1 "b":2, "c":[1 2,],}');
    expect(r.ok && r.value).toEqual({ a: 1, b: 2, c: [1, 2] });
  });

  it('returns glued top-level objects as an array', () => {
    const r = parseLenientJson('{"a":1}{"b":2}');
    expect(r.ok && r.value).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('keeps bare words (nan, inf) as strings', () => {
    const r = parseLenientJson('{"t":nan,"u":inf,"v":-1.5e3}');
    expect(r.ok && r.value).toEqual({ t: 'nan', u: 'inf', v: -1500 });
  });

  it('decodes escapes and tolerates raw control characters in strings', () => {
    const r = parseLenientJson('{"a":"x\\ny\\u0041","b":"tab\there"');
    expect(r.ok).toBe(false);
    const r2 = parseLenientJson('{"a":"x\\ny\\u0041","b":"tab\there"}');
    expect(r2.ok && r2.value).toEqual({ a: 'x\nyA', b: 'tab\there' });
  });

  it('does not let __proto__ keys touch the prototype', () => {
    const r = parseLenientJson('{"__proto__":{"polluted":true} "x":1}');
    expect(r.ok).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('fails cleanly on truncated input, empty input and deep nesting', () => {
    expect(parseLenientJson('{"a":[1,2').ok).toBe(false);
    expect(parseLenientJson('   \0').ok).toBe(false);
    expect(parseLenientJson('['.repeat(10_000)).ok).toBe(false);
    expect(parseLenientJson('}').ok).toBe(false);
  });
});
