// TLS against in-process hubs (startHub) and real sockets: a hub whose certificate has expired, or names
// another host, is refused by a device with the reason; mutual TLS; a pinned CA fingerprint; MQTT over WSS with the hub's CA; the loud warnings about plain MQTT
// off loopback in the hub and in the agent. (Processes, jobs and third-party clients: test/tls.e2e.test.ts.)
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addOperator, createProvisioningKey, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { createCa, issueCertificate } from '@sosna/hub/tls';
import { provision, StateStore } from '@sosna/agent';
import { clientIds, connectOnce, DeviceConfig, silentLogger, tlsSessions, usernames } from '@sosna/protocol';
import { checkTlsConfig } from '../agent/src/tls.js';
import { freePort, writeJson } from './procs.js';
import { captureLogger, tempDir, waitFor } from './helpers.js';

const tmp = tempDir('sosna-tls-');
const inProcess: Hub[] = [];
afterAll(async () => {
  for (const h of inProcess) await h.stop();
  tmp.cleanup();
});

describe('an expired certificate', { timeout: 60_000 }, () => {
  it('is refused by a device, with the reason', async () => {
    const ca = await createCa({ name: 'test CA' });
    const day = 86_400_000;
    const expired = await issueCertificate({ ca, names: ['localhost', '127.0.0.1'], usage: 'server', notBefore: new Date(Date.now() - 30 * day), notAfter: new Date(Date.now() - day) });
    const dir = join(tmp.dir, 'expired');
    const certFile = join(tmp.dir, 'expired.pem');
    const keyFile = join(tmp.dir, 'expired.key');
    writeFileSync(certFile, expired.cert + ca.cert);
    writeFileSync(keyFile, expired.key, { mode: 0o600 });
    const h = await startHub({ dataDir: dir, mqtt: { host: '127.0.0.1', port: null, wsPort: null }, tls: { enabled: true, port: 0, wsPort: null, certFile, keyFile }, chain: { mode: 'off' }, scryptN: 1024 }, { log: silentLogger });
    inProcess.push(h);
    const { key } = await createProvisioningKey(h.store, { fleet: 'x' });
    const url = `mqtts://127.0.0.1:${h.mqttsPort}`;
    const config = DeviceConfig.parse({ hub: { url, ca: ca.cert }, provisioningKey: key, stateDir: join(tmp.dir, 'dev-expired') });
    await expect(provision({ config, state: new StateStore(config.stateDir), name: 'x', log: silentLogger })).rejects.toThrow(
      `refusing the hub at ${url}: TLS: its certificate has expired [CERT_HAS_EXPIRED]`,
    );
  });
});

describe('a certificate for another host name', { timeout: 60_000 }, () => {
  it('is refused by a device, with the reason', async () => {
    const ca = await createCa({ name: 'names CA' });
    const other = await issueCertificate({ ca, names: ['hub.example.org'], usage: 'server' });
    const certFile = join(tmp.dir, 'other-name.pem');
    const keyFile = join(tmp.dir, 'other-name.key');
    writeFileSync(certFile, other.cert + ca.cert);
    writeFileSync(keyFile, other.key, { mode: 0o600 });
    const h = await startHub({ dataDir: join(tmp.dir, 'names'), mqtt: { host: '127.0.0.1', port: null, wsPort: null }, tls: { enabled: true, port: 0, wsPort: null, certFile, keyFile }, chain: { mode: 'off' }, scryptN: 1024 }, { log: silentLogger });
    inProcess.push(h);
    const { key } = await createProvisioningKey(h.store, { fleet: 'n' });
    const url = `mqtts://127.0.0.1:${h.mqttsPort}`;
    const config = DeviceConfig.parse({ hub: { url, ca: ca.cert }, provisioningKey: key, stateDir: join(tmp.dir, 'dev-names') });
    await expect(provision({ config, state: new StateStore(config.stateDir), name: 'n', log: silentLogger })).rejects.toThrow(
      `refusing the hub at ${url}: TLS: its certificate does not name this host (hostname mismatch) [ERR_TLS_CERT_ALTNAME_INVALID]`,
    );
  });
});

describe('mutual TLS', { timeout: 60_000 }, () => {
  it('a hub that requires client certificates refuses a device without one and admits one with its CA\'s certificate', async () => {
    const h = await startHub({ dataDir: join(tmp.dir, 'mtls'), mqtt: { host: '127.0.0.1', port: null, wsPort: null }, tls: { enabled: true, port: 0, wsPort: null, requireClientCert: true }, chain: { mode: 'off' }, scryptN: 1024 }, { log: silentLogger });
    inProcess.push(h);
    const url = `mqtts://127.0.0.1:${h.mqttsPort}`;
    const { key } = await createProvisioningKey(h.store, { fleet: 'm', maxUses: 2 });
    const base = { hub: { url, ca: h.tls!.ca! }, provisioningKey: key };
    const without = DeviceConfig.parse({ ...base, stateDir: join(tmp.dir, 'mtls-none') });
    await expect(provision({ config: without, state: new StateStore(without.stateDir), name: 'no-cert', log: silentLogger })).rejects.toThrow('it requires a client certificate (config tls.cert and tls.key) [ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED]');

    const client = (await h.tls!.clientCertificate('rig-1'))!;
    const certFile = writeJson(join(tmp.dir, 'mtls-files', 'x.json'), {}).replace(/x\.json$/, 'client.pem');
    writeFileSync(certFile, client.cert);
    const keyFile = certFile.replace(/client\.pem$/, 'client.key');
    writeFileSync(keyFile, client.key, { mode: 0o600 });
    const withCert = DeviceConfig.parse({ ...base, tls: { cert: certFile, key: keyFile }, stateDir: join(tmp.dir, 'mtls-cert') });
    const creds = await provision({ config: withCert, state: new StateStore(withCert.stateDir), name: 'rig-1', log: silentLogger });
    expect(creds.url).toBe(url);
    // a certificate of another CA is refused too
    const stranger = await issueCertificate({ ca: await createCa({ name: 'stranger' }), names: ['rig-2'], usage: 'client' });
    await expect(connectOnce({ url, clientId: creds.deviceId, username: creds.username, password: creds.password, tls: { ca: h.tls!.ca!, cert: stranger.cert, key: stranger.key }, connectTimeoutMs: 10_000 }))
      // TLS 1.3: the hub's alert may come after the client's CONNECT, then the client sees only the close
      .rejects.toThrow(/^(refusing the hub at mqtts:\/\/127\.0\.0\.1:\d+: TLS: it does not accept this client certificate|cannot reach mqtts:\/\/127\.0\.0\.1:\d+: connection closed before CONNACK)/);
    const ok = await connectOnce({ url, clientId: creds.deviceId, username: creds.username, password: creds.password, tls: { ca: h.tls!.ca!, cert: client.cert, key: client.key } });
    ok.end(true);
  });
});

describe('WSS and the plain-text warnings', { timeout: 60_000 }, () => {
  it('serves MQTT over WebSocket over TLS with the same CA; warns loudly about plain listeners off loopback', async () => {
    const { log, lines } = captureLogger();
    const h = await startHub({ dataDir: join(tmp.dir, 'wss'), mqtt: { host: '0.0.0.0', port: 0, wsPort: null }, tls: { enabled: true, port: 0, wsPort: 0 }, chain: { mode: 'off' }, scryptN: 1024 }, { log });
    inProcess.push(h);
    expect(lines.join('\n')).toMatch(/PLAIN MQTT on 0\.0\.0\.0: device and operator passwords and every message cross the network unencrypted\. TLS is on as well/);
    const { password } = await addOperator(h.store, 'wss-op', 'viewer', { N: 1024, r: 8, p: 1 });
    const c = await connectOnce({ url: `wss://127.0.0.1:${h.wssPort}`, clientId: clientIds.operator('wss-op', 'wss'), username: usernames.operator('wss-op'), password, tls: { ca: h.tls!.ca! } });
    c.end(true);
    await expect(connectOnce({ url: `wss://127.0.0.1:${h.wssPort}`, clientId: clientIds.operator('wss-op', 'wss'), username: usernames.operator('wss-op'), password, tls: { ca: (await createCa({ name: 'other' })).cert } }))
      .rejects.toThrow(/refusing the hub at wss:\/\/127\.0\.0\.1:\d+: TLS: /);
    // a hub on loopback only says nothing
    const quiet = captureLogger();
    const q = await startHub({ dataDir: join(tmp.dir, 'quiet'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, chain: { mode: 'off' }, scryptN: 1024 }, { log: quiet.log });
    inProcess.push(q);
    expect(quiet.lines.join('\n')).not.toContain('PLAIN');
  });

  it('an agent warns about a plain URL to another machine, not about loopback or mqtts://', () => {
    const warned = (url: string) => {
      const { log, lines } = captureLogger();
      checkTlsConfig(DeviceConfig.parse({ hub: { url } }), log);
      return lines.join('\n');
    };
    expect(warned('mqtt://hub.example:1883')).toContain('PLAIN MQTT to mqtt://hub.example:1883');
    expect(warned('ws://10.0.0.2:8083')).toContain('PLAIN MQTT to ws://10.0.0.2:8083');
    expect(warned('mqtt://127.0.0.1:1883')).not.toContain('PLAIN');
    expect(warned('mqtts://hub.example:8883')).not.toContain('PLAIN');
  });
});

describe('a pinned fingerprint instead of the CA', { timeout: 60_000 }, () => {
  it('joins the hub whose CA has that fingerprint, and refuses one whose chain has not', async () => {
    const h = await startHub({ dataDir: join(tmp.dir, 'fp'), mqtt: { host: '127.0.0.1', port: null, wsPort: null }, tls: { enabled: true, port: 0, wsPort: null }, chain: { mode: 'off' }, scryptN: 1024 }, { log: silentLogger });
    inProcess.push(h);
    const url = `mqtts://127.0.0.1:${h.mqttsPort}`;
    const { key } = await createProvisioningKey(h.store, { fleet: 'fp', maxUses: 2 });
    const pinned = DeviceConfig.parse({ hub: { url, fingerprint: h.tls!.fingerprint }, provisioningKey: key, stateDir: join(tmp.dir, 'fp-ok') });
    expect((await provision({ config: pinned, state: new StateStore(pinned.stateDir), name: 'fp', log: silentLogger })).url).toBe(url);
    const wrong = DeviceConfig.parse({ hub: { url, fingerprint: 'AB'.repeat(32) }, provisioningKey: key, stateDir: join(tmp.dir, 'fp-wrong') });
    await expect(provision({ config: wrong, state: new StateStore(wrong.stateDir), name: 'fp2', log: silentLogger })).rejects.toThrow(
      new RegExp(`^refusing the hub at ${url.replace(/[./]/g, '\\$&')}: TLS: its certificate does not match the pinned fingerprint \\(hub\\.fingerprint\\) \\[ERR_TLS_FINGERPRINT_MISMATCH\\]`),
    );
  });
});

describe('TLS sessions across a hub restart', { timeout: 90_000 }, () => {
  it('resume: the ticket key is kept in the data dir, so openssl and a device resume after the restart', async () => {
    const dataDir = join(tmp.dir, 'resume');
    const port = await freePort();
    const opts = { dataDir, mqtt: { host: '127.0.0.1', port: null, wsPort: null }, tls: { enabled: true, port, wsPort: null }, chain: { mode: 'off' as const }, scryptN: 1024 };
    let h = await startHub(opts, { log: silentLogger });
    const caFile = h.tls!.caFile!;
    const url = `mqtts://127.0.0.1:${port}`;
    const { password } = await addOperator(h.store, 'resume-op', 'viewer', { N: 1024, r: 8, p: 1 });
    const login = { url, clientId: clientIds.operator('resume-op', 'r'), username: usernames.operator('resume-op'), password, tls: { ca: h.tls!.ca! } };
    const reused = (c: Awaited<ReturnType<typeof connectOnce>>) => (c.stream as unknown as { isSessionReused(): boolean }).isSessionReused();
    // a third-party client: openssl saves its session, and offers it to the restarted hub
    const sessionFile = join(tmp.dir, 'resume.session');
    // (not execFileSync: the hub runs in this process) s_client quits at the end of its input, so its input
    // stays open until the handshake is done and, with -sess_out, the ticket (sent after it) was saved
    const sClient = async (extra: string[]) => {
      const run = promisify(execFile)('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', caFile, '-verify_return_error', ...extra], { timeout: 30_000 });
      let out = '';
      run.child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor('openssl s_client handshake', () => out.includes('Verify return code') && (!extra.includes('-sess_out') || existsSync(sessionFile)), 20_000);
      run.child.stdin?.end();
      return (await run).stdout;
    };
    expect(await sClient(['-sess_out', sessionFile])).toMatch(/^New, TLSv1\.3/m);
    const sessions = tlsSessions();
    const first = await connectOnce({ ...login, tlsSessions: sessions });
    expect(reused(first)).toBe(false);
    // the ticket arrives after the handshake: wait until the client holds one
    await waitFor('a session ticket', () => sessions.get(url, login.tls), 10_000);
    first.end(true);
    await h.stop();
    h = await startHub(opts, { log: silentLogger });
    inProcess.push(h);
    expect(await sClient(['-sess_in', sessionFile])).toMatch(/^Reused, TLSv1\.3/m);
    const again = await connectOnce({ ...login, tlsSessions: sessions });
    expect(reused(again)).toBe(true);
    again.end(true);
    // another CA's material is never offered the session (kept per URL and trusted material)
    expect(sessions.get(url, { ca: (await createCa({ name: 'other' })).cert })).toBeUndefined();
  });
});
