import { describe, expect, it } from 'vitest';
import { compareVersions, releaseMessage, VERSION_PATTERN } from './updates.js';

describe('compareVersions', () => {
  it('orders by major, minor, patch as numbers', () => {
    expect(compareVersions('0.1.10', '0.1.9')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0', '0.99.99')).toBeGreaterThan(0);
    expect(compareVersions('0.2.0', '0.10.0')).toBeLessThan(0);
    expect(compareVersions('1.2.3', '1.2.3')).toBe(0);
  });
  it('puts pre-releases before their release, numeric identifiers numerically', () => {
    expect(compareVersions('1.0.0-rc.1', '1.0.0')).toBeLessThan(0);
    expect(compareVersions('1.0.0-rc.2', '1.0.0-rc.10')).toBeLessThan(0);
    expect(compareVersions('1.0.0-alpha', '1.0.0-beta')).toBeLessThan(0);
    expect(compareVersions('1.0.0-1', '1.0.0-alpha')).toBeLessThan(0);
    expect(compareVersions('1.0.0-rc', '1.0.0-rc.1')).toBeLessThan(0);
  });
  it('refuses what is not a semantic version, naming it', () => {
    expect(() => compareVersions('1.2', '1.2.0')).toThrow(/"1.2" is not a semantic version/);
    expect(VERSION_PATTERN.test('01.2.3')).toBe(false);
  });
});

describe('releaseMessage', () => {
  it('is canonical whatever the key order', () => {
    const sha256 = 'a'.repeat(64);
    expect(releaseMessage({ size: 10, version: '1.0.0', sha256 })).toBe(releaseMessage({ version: '1.0.0', sha256, size: 10 }));
    expect(releaseMessage({ version: '1.0.0', sha256, size: 10 })).toBe(`sosna agent release v1\n{"sha256":"${sha256}","size":10,"version":"1.0.0"}`);
  });
  it('refuses a malformed body', () => {
    expect(() => releaseMessage({ version: 'x', sha256: 'a'.repeat(64), size: 1 })).toThrow(/semantic version/);
  });
});
