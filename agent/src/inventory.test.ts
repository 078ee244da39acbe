import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { basicInventory, parseOsRelease, physicalCores, vendorOf } from './inventory.js';
import { BasicInventory } from '@sosna/protocol';

describe('basic inventory', () => {
  it('parses os-release with quotes and escapes', () => {
    const r = parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME=Debian\nVERSION_ID="12"\n# comment\nX=\'a \\"b\\"\'\nbroken line');
    expect(r).toEqual({ PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)', NAME: 'Debian', VERSION_ID: '12', X: 'a "b"' });
  });

  it('counts physical cores from cpuinfo', () => {
    const block = (p: number, c: number) => `processor\t: 0\nphysical id\t: ${p}\ncore id\t\t: ${c}\n`;
    expect(physicalCores([block(0, 0), block(0, 0), block(0, 1), block(0, 1)].join('\n'))).toBe(2);
    expect(physicalCores('processor : 0\nmodel name : ARMv8\n')).toBe(0);
  });

  it('names the vendor', () => {
    expect(vendorOf('AMD EPYC 7B13')).toBe('AMD');
    expect(vendorOf('Intel(R) Core(TM) i7')).toBe('Intel');
    expect(vendorOf('Cortex-A76')).toBe('ARM');
  });

  it('the parsers never throw on random text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 2000 }), (s) => {
      parseOsRelease(s);
      physicalCores(s);
    }), { numRuns: 2000 });
  });

  it('describes this machine in the birth schema', () => {
    const inv = basicInventory();
    expect(BasicInventory.parse(inv)).toBeTruthy();
    expect(inv.cpu.cores).toBeGreaterThan(0);
    expect(inv.memory.totalBytes).toBeGreaterThan(0);
  });
});
