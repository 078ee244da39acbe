// `sosna hub` TLS flags -> the hub config, with refusals that name the flag.
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { HubConfig } from '@sosna/hub';
import { consoleUrl, hubConfigFrom } from './commands/hub.js';

describe('sosna hub TLS flags', () => {
  it('--tls turns on TLS with the own CA; ports, names and client certificates', () => {
    const c = HubConfig.parse(hubConfigFrom({ dataDir: '/d', tls: true, tlsPort: '9883', wssPort: 'off', tlsName: ['hub.lan,10.0.0.2', 'rig-gw'], requireClientCert: true }));
    expect(c.tls).toMatchObject({ enabled: true, port: 9883, wsPort: null, names: ['hub.lan', '10.0.0.2', 'rig-gw'], requireClientCert: true });
    expect(c.mqtt.port).toBe(1883); // plain stays unless --tls-only
  });

  it('--tls-cert/--tls-key imply TLS; --tls-only turns the plain listeners off', () => {
    const c = HubConfig.parse(hubConfigFrom({ dataDir: '/d', tlsCert: 'cert.pem', tlsKey: 'key.pem', tlsOnly: true }));
    expect(c.tls).toMatchObject({ enabled: true, certFile: resolve('cert.pem'), keyFile: resolve('key.pem') });
    expect(c.mqtt).toMatchObject({ port: null, wsPort: null });
    expect(() => hubConfigFrom({ dataDir: '/d', tlsOnly: true, port: '1883' })).toThrow('--tls-only turns the plain MQTT listener off; drop --port 1883 (use --tls-port)');
  });

  it('refuses a certificate without its key, and a hub that would serve nothing', () => {
    const r = HubConfig.safeParse(hubConfigFrom({ dataDir: '/d', tlsCert: 'cert.pem' }));
    expect(r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')).toContain('tls.keyFile: tls.certFile and tls.keyFile go together');
    const off = HubConfig.safeParse(hubConfigFrom({ dataDir: '/d', port: 'off' }));
    expect(off.success ? '' : off.error.issues[0]!.message).toMatch(/the plain MQTT listener is off .* and TLS is not on/);
  });
});

describe('sosna hub metrics flags', () => {
  it('--metrics-port and --metrics-host set the /metrics listener; off turns it off; the default is loopback, any free port', () => {
    expect(HubConfig.parse(hubConfigFrom({ dataDir: '/d' })).metrics).toEqual({ host: '127.0.0.1', port: 0 });
    expect(HubConfig.parse(hubConfigFrom({ dataDir: '/d', metricsPort: '9480', metricsHost: '0.0.0.0' })).metrics).toEqual({ host: '0.0.0.0', port: 9480 });
    expect(HubConfig.parse(hubConfigFrom({ dataDir: '/d', metricsPort: 'off' })).metrics.port).toBeNull();
    expect(() => hubConfigFrom({ dataDir: '/d', metricsPort: 'ninety' })).toThrow('--metrics-port "ninety": must be a port number (0-65535)');
  });
});

describe("the hub's own console profile URL", () => {
  const tls = (names: string[]) => ({ ca: null, caFile: null, fingerprint: '', requireClientCert: false, names, clientCertificate: async () => null });
  it('TLS on loopback when the certificate names 127.0.0.1; else plain loopback, else the certificate name', () => {
    expect(consoleUrl({ mqttPort: 1883, mqttsPort: null, tls: null })).toBe('mqtt://127.0.0.1:1883');
    expect(consoleUrl({ mqttPort: 1883, mqttsPort: 8883, tls: tls(['localhost', '127.0.0.1']) })).toBe('mqtts://127.0.0.1:8883');
    expect(consoleUrl({ mqttPort: 1883, mqttsPort: 8883, tls: tls(['hub.example.org']) })).toBe('mqtt://127.0.0.1:1883');
    expect(consoleUrl({ mqttPort: null, mqttsPort: 8883, tls: tls(['*.example.org', 'hub.example.org']) })).toBe('mqtts://hub.example.org:8883');
  });
});
