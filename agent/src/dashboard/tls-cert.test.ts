// The dashboard's self-signed certificate, read back by a third party (openssl): a v3 certificate for the
// device's names with an ECDSA P-256 key, no CA rights, serverAuth, the fingerprint openssl computes;
// kept in the state directory and the same on the next start, replaced (with a warning) when unusable.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateStore } from '../state.js';
import { CERT_FILE, certificateNames, createSelfSigned, fingerprintOf, loadOrCreateCertificate } from './tls-cert.js';

const dir = mkdtempSync(join(tmpdir(), 'sosna-cert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const openssl = (args: string[], input?: string) => execFileSync('openssl', args, { encoding: 'utf8', ...(input ? { input } : {}) });

describe('dashboard certificate', () => {
  it('is a self-signed v3 server certificate for the device names that openssl reads and verifies', () => {
    const now = new Date('2026-12-05T07:00:00Z');
    const { cert, key } = createSelfSigned({ names: ['rig-7', 'rig-7.local', 'localhost', '127.0.0.1', '::1', 'not a name'], now });
    const file = join(dir, 'cert.pem');
    writeFileSync(file, cert);
    const text = openssl(['x509', '-in', file, '-noout', '-text']);
    expect(text).toContain('Version: 3 (0x2)');
    expect(text).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(text).toContain('Subject: CN = sosna dashboard rig-7');
    expect(text).toContain('Issuer: CN = sosna dashboard rig-7');
    expect(text).toContain('ASN1 OID: prime256v1');
    expect(text).toMatch(/Not Before: Dec {2}4 07:00:00 2026 GMT/);
    expect(text).toMatch(/Not After : Dec {2}4 07:00:00 2046 GMT/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication/);
    expect(text).toMatch(/DNS:rig-7, DNS:rig-7\.local, DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    expect(openssl(['verify', '-CAfile', file, '-purpose', 'sslserver', file])).toContain(': OK');
    // the fingerprint as openssl computes it
    expect(openssl(['x509', '-in', file, '-noout', '-fingerprint', '-sha256']).trim()).toBe(`sha256 Fingerprint=${fingerprintOf(cert)}`);
    expect(fingerprintOf(cert)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    // the key belongs to the certificate
    const pub = (pem: string, args: string[]) => openssl([...args], pem);
    expect(pub(key, ['pkey', '-pubout'])).toBe(pub(cert, ['x509', '-pubkey', '-noout']));
  });

  it('is valid for 20 years from 2025 when the clock was not set yet (a board without a real-time clock)', () => {
    const x = new X509Certificate(createSelfSigned({ names: ['rig-7'], now: new Date(5_000) }).cert);
    expect([x.validFrom, x.validTo]).toEqual(['Jan  1 00:00:00 2025 GMT', 'Jan  1 00:00:00 2045 GMT']);
    // beyond 2049 the dates are GeneralizedTime (RFC 5280): still read right
    const late = new X509Certificate(createSelfSigned({ names: ['rig-7'], now: new Date('2040-06-01T00:00:00Z') }).cert);
    expect(late.validTo).toBe('May 31 00:00:00 2060 GMT');
  });

  it('keeps only plain host names and addresses', () => {
    expect(certificateNames(['rig-7', 'rig-7', 'a b', '-x', 'x_y', '10.0.0.1', 'fe80::1%eth0', '::1', 'ok.local'])).toEqual(['rig-7', '10.0.0.1', '::1', 'ok.local']);
  });

  it('is made once, kept in the state directory, and replaced with a warning when unusable', () => {
    const store = new StateStore(join(dir, 'state'));
    const warnings: string[] = [];
    const opts = { names: () => ['rig-7'], warn: (m: string, why: string) => warnings.push(`${m}: ${why}`) };
    const first = loadOrCreateCertificate(store, opts);
    expect(first.created).toBe(true);
    const again = loadOrCreateCertificate(store, opts);
    expect(again).toEqual({ ...first, created: false });
    expect(warnings).toEqual([]);
    writeFileSync(store.path(CERT_FILE), '{"v":1,');
    const fresh = loadOrCreateCertificate(store, opts);
    expect(fresh.created).toBe(true);
    expect(fingerprintOf(fresh.cert)).not.toBe(fingerprintOf(first.cert));
    expect(warnings).toEqual([expect.stringContaining('unreadable')]);
  });
});
