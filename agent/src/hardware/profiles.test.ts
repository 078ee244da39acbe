import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HardwareProfile } from '@sosna/protocol/hardware';
import { PROFILE_DATA } from './profile-data.generated.js';

const PROFILES_DIR = fileURLToPath(new URL('../../../hardware-profiles/', import.meta.url));
const BUILD = fileURLToPath(new URL('../../../hardware-profiles/build.mjs', import.meta.url));
const files = readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.json')).sort();

describe('hardware profile files', () => {
  it.each(files)('%s matches the HardwareProfile schema', (file) => {
    const data: unknown = JSON.parse(readFileSync(`${PROFILES_DIR}${file}`, 'utf8'));
    const result = HardwareProfile.safeParse(data);
    if (!result.success) throw new Error(`${file}: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const p = result.data;
    expect(p.id).toBe(file.replace(/\.json$/u, ''));
    // PCI device ids need a vendor to mean anything
    if (p.match.pciDevices) expect(p.match.pciVendor).toBeDefined();
    // every profile can be matched by at least one rule
    expect(Object.keys(p.match).length).toBeGreaterThan(0);
    for (const v of p.variants ?? []) expect(Object.keys(v.match).length).toBeGreaterThan(0);
    expect(p.benchmarks.length).toBeGreaterThan(0);
  });

  it('covers the required families', () => {
    const ids = files.map((f) => f.replace(/\.json$/u, ''));
    expect(ids).toEqual(
      expect.arrayContaining([
        'cpu-generic-x86-64',
        'cpu-generic-arm64',
        'gpu-nvidia-rtx-30',
        'gpu-nvidia-rtx-40',
        'gpu-nvidia-rtx-50',
        'gpu-nvidia-a100',
        'gpu-nvidia-h100',
        'gpu-amd-rx-6000',
        'gpu-amd-rx-7000',
        'board-raspberry-pi-4',
        'board-raspberry-pi-5',
        'board-jetson-orin',
        'asic-antminer-s19',
        'asic-antminer-s21',
        'asic-whatsminer-m30',
        'asic-whatsminer-m50',
      ]),
    );
  });

  it('no PCI device id belongs to two profiles', () => {
    const seen = new Map<string, string>();
    for (const p of PROFILE_DATA) {
      for (const d of p.match.pciDevices ?? []) {
        const key = `${p.match.pciVendor}:${d}`;
        expect(seen.get(key), `${key} in ${p.id} and ${seen.get(key)}`).toBeUndefined();
        seen.set(key, p.id);
      }
    }
  });

  it('the bundled profile data is up to date (run `node hardware-profiles/build.mjs` if this fails)', () => {
    let output = '';
    try {
      execFileSync(process.execPath, [BUILD, '--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      output = String((e as { stderr?: unknown }).stderr ?? e);
    }
    expect(output, output).toBe('');
    expect(PROFILE_DATA.map((p) => p.id)).toEqual(files.map((f) => f.replace(/\.json$/u, '')));
  });
});
