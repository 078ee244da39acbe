import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectError } from './mqtt.js';
import { isLoopbackHost, isTlsUrl, readPem, tlsFailure, urlHost } from './tls.js';
import { DeviceConfig, parseConfig } from './config.js';
import { REMOTE_CONFIG_FIELDS } from './desired-config.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('TLS helpers', () => {
  it('says why a handshake failed, with the code', () => {
    expect(tlsFailure(Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }))).toBe('its certificate has expired [CERT_HAS_EXPIRED]');
    expect(tlsFailure(Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }))).toMatch(/hostname mismatch/);
    expect(tlsFailure(Object.assign(new Error('odd'), { code: 'ERR_SSL_SOMETHING_NEW' }))).toBe('odd [ERR_SSL_SOMETHING_NEW]');
    expect(tlsFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBeNull();
    const e = connectError(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), 'mqtts://hub:8883');
    expect(e.message).toBe("refusing the hub at mqtts://hub:8883: TLS: its certificate chain ends in a CA this device does not trust (another hub's CA?) [SELF_SIGNED_CERT_IN_CHAIN]");
    expect(e.details).toEqual({ tls: true });
  });

  it('knows loopback hosts and TLS URLs', () => {
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', 'hub.example', '::']) expect(isLoopbackHost(h)).toBe(false);
    expect(isTlsUrl('mqtts://h:8883') && isTlsUrl('wss://h') && !isTlsUrl('mqtt://h') && !isTlsUrl('ws://h')).toBe(true);
    expect(urlHost('mqtt://[::1]:1883')).toBe('::1');
  });

  it('reads PEM inline or from a file, naming the field and file when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sosna-pem-'));
    writeFileSync(join(dir, 'ca.pem'), PEM);
    writeFileSync(join(dir, 'junk.pem'), 'hello');
    expect(readPem(PEM, 'hub.ca', 'certificate')).toBe(PEM);
    expect(readPem('ca.pem', 'hub.ca', 'certificate', dir)).toBe(PEM);
    expect(() => readPem('nope.pem', 'hub.ca', 'certificate', dir)).toThrow(`hub.ca: cannot read ${join(dir, 'nope.pem')}: ENOENT (must be a PEM certificate`);
    expect(() => readPem(join(dir, 'junk.pem'), 'hub.ca', 'certificate')).toThrow(`hub.ca (${join(dir, 'junk.pem')}): not a PEM certificate`);
    expect(() => readPem(PEM, 'tls.key', 'key')).toThrow('tls.key (inline): not a PEM private key');
  });
});

describe('device config: TLS fields', () => {
  const errors = (v: unknown) => {
    const r = parseConfig(DeviceConfig, v, { file: 'c.json' });
    return r.ok ? [] : r.errors;
  };
  it('takes a CA for an mqtts:// hub, and refuses one for a plain hub', () => {
    expect(errors({ hub: { url: 'mqtts://hub:8883', ca: PEM } })).toEqual([]);
    expect(errors({ hub: { url: 'mqtts://hub:8883', ca: '/etc/sosna/hub-ca.pem' } })).toEqual([]);
    expect(errors({ hub: { url: 'mqtt://hub:1883', ca: PEM } })).toEqual([expect.stringMatching(/^c\.json: hub\.ca: a CA is only used over TLS: mqtt:\/\/hub:1883 is plain; use mqtts:\/\/ \(port 8883\) or wss:\/\/ \(got "-----BEGIN CERTIFICATE/)]);
  });
  it('client certificate and key go together', () => {
    expect(errors({ hub: { url: 'mqtts://hub' }, tls: { cert: '/c.pem' } })[0]).toMatch(/^c\.json: tls\.key: tls\.cert and tls\.key go together/);
  });
  it('a hub can never set the device TLS fields remotely', () => {
    expect([...REMOTE_CONFIG_FIELDS.keys()].filter((k) => /^(hub|tls)\./.test(k))).toEqual([]);
  });
});
