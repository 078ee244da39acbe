import { describe, expect, it } from 'vitest';
import { compressionOf, validateDeviceConfig, wpaSupplicantConf } from './configure.js';
import { parseFatBootSector } from './fat.js';
import { formatProgress } from '../flash/flash.js';

describe('device config validation', () => {
  it('names the field and the reason', () => {
    expect(() => validateDeviceConfig({ hub: { url: 'http://x' }, telemetry: { intervalSec: 0 } }, 'dev.json')).toThrow(/dev\.json: hub\.url: must be an mqtt:\/\/.*\n.*telemetry\.intervalSec/);
    expect(() => validateDeviceConfig([], 'dev.json')).toThrow(/must be a JSON object/);
    expect(() => validateDeviceConfig({ hub: { url: 'mqtt://h:1' } }, 'dev.json')).not.toThrow();
  });

  it('takes the hub CA as PEM text, never as a path on this machine', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(() => validateDeviceConfig({ hub: { url: 'mqtts://h:8883', ca: pem } }, 'dev.json')).not.toThrow();
    expect(() => validateDeviceConfig({ hub: { url: 'mqtts://h:8883', ca: '/home/me/hub/tls/ca.pem' } }, 'dev.json')).toThrow(
      /dev\.json: hub\.ca: is a file path \(\/home\/me\/hub\/tls\/ca\.pem\); an image needs the PEM text itself in the config/,
    );
  });
});

describe('Wi-Fi', () => {
  it('derives the PSK as wpa_passphrase does (IEEE 802.11i test vector) and stores no passphrase', () => {
    const conf = wpaSupplicantConf({ ssid: 'IEEE', psk: 'password' });
    expect(conf).toContain('psk=f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e');
    expect(conf).toContain(`ssid=${Buffer.from('IEEE').toString('hex')}`);
    expect(conf).not.toContain('password');
  });
  it('refuses bad SSIDs and passphrases', () => {
    expect(() => wpaSupplicantConf({ ssid: '', psk: 'password' })).toThrow(/1-32 bytes/);
    expect(() => wpaSupplicantConf({ ssid: 'x', psk: 'short' })).toThrow(/8-63/);
  });
});

describe('image formats', () => {
  it('recognises zstd, xz and gzip by their magic', () => {
    expect(compressionOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0]))).toBe('zstd');
    expect(compressionOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toBe('xz');
    expect(compressionOf(Buffer.from([0x1f, 0x8b, 8]))).toBe('gzip');
    expect(compressionOf(Buffer.alloc(8))).toBeNull();
  });
  it('reads a FAT32 boot sector', () => {
    const s = Buffer.alloc(512);
    s.writeUInt16LE(512, 11);
    s[13] = 1;
    s.writeUInt16LE(32, 14);
    s[16] = 2;
    s.writeUInt32LE(4000, 36);
    s.writeUInt16LE(1, 48);
    s[510] = 0x55;
    s[511] = 0xaa;
    expect(parseFatBootSector(s)).toEqual({ bytesPerSector: 512, reservedSectors: 32, fats: 2, sectorsPerFat: 4000, fsInfoSector: 1 });
    expect(parseFatBootSector(Buffer.alloc(512))).toBeNull();
  });
});

describe('flash progress', () => {
  it('shows MiB, percent, MB/s and ETA', () => {
    expect(formatProgress({ phase: 'write', bytes: 128 * 2 ** 20, total: 256 * 2 ** 20, rate: 50e6, etaSec: 2.7 })).toBe('writing   128.0/256.0 MiB  50%  50.0 MB/s  ETA 3s');
    expect(formatProgress({ phase: 'verify', bytes: 2 ** 20, total: null, rate: 1e6, etaSec: null })).toBe('verifying 1.0 MiB  1.0 MB/s');
  });
});
