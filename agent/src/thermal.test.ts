import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuTempFromZones, readCpuTemp } from './thermal.js';

describe('CPU temperature from thermal zones', () => {
  it('prefers the package sensor and converts millidegrees', () => {
    expect(cpuTempFromZones([['acpitz\n', '27800\n'], ['x86_pkg_temp\n', '54000\n'], ['iwlwifi_1', '40000']])).toBe(54);
    expect(cpuTempFromZones([['cpu-thermal', '48312']])).toBe(48.3);
    expect(cpuTempFromZones([['iwlwifi_1', '40000'], ['x86_pkg_temp', 'garbage']])).toBeUndefined();
  });

  it('reads a sysfs tree and survives a missing one', () => {
    const t = { dir: mkdtempSync(join(tmpdir(), 'sosna-thermal-')), cleanup: () => rmSync(t.dir, { recursive: true, force: true }) };
    try {
      for (const [i, type, temp] of [[0, 'acpitz', '30000'], [1, 'x86_pkg_temp', '61500']] as const) {
        mkdirSync(join(t.dir, `thermal_zone${i}`));
        writeFileSync(join(t.dir, `thermal_zone${i}`, 'type'), `${type}\n`);
        writeFileSync(join(t.dir, `thermal_zone${i}`, 'temp'), `${temp}\n`);
      }
      mkdirSync(join(t.dir, 'thermal_zone2')); // unreadable zone
      expect(readCpuTemp(t.dir)).toBe(61.5);
      expect(readCpuTemp(join(t.dir, 'missing'))).toBeUndefined();
    } finally {
      t.cleanup();
    }
  });

  it('never throws on random input', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.string(), fc.string())), (z) => void cpuTempFromZones(z)), { numRuns: 1000 });
  });
});
