// The dashboard over HTTPS (config dashboard.https), read by third-party clients: curl and openssl
// s_client see the certificate whose SHA-256 fingerprint the dashboard logs; plain HTTP on the same port
// gets only a redirect to https://, never a page or an API answer; the session cookie is Secure; the live
// socket works over TLS; a restart serves the same certificate from the state directory.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createLogger, DeviceConfig, parseConfig } from '@sosna/protocol';
import { startDashboard } from './index.js';
import type { Dashboard, DeviceStatus } from './index.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'sosna-dash-https-'));
const PASSWORD = 'a long passphrase';
const fileConfig = { hub: { url: 'mqtt://127.0.0.1:1883' }, stateDir: join(dir, 'state'), dashboard: { host: '127.0.0.1', port: 0, https: true, password: PASSWORD } };
const status: DeviceStatus = {
  deviceId: 'rig-1-abc123', hubId: 'hub-01234567', name: 'rig-1', hubUrl: 'mqtt://127.0.0.1:1883', connected: true,
  inventory: { hostname: 'rig', platform: 'linux', arch: 'x64', os: { distro: 'Debian', release: '12', kernel: '6.1' }, cpu: { manufacturer: 'AMD', brand: 'EPYC', cores: 4, physicalCores: 2, speedGHz: 3 }, memory: { totalBytes: 8e9 } },
  hardware: null, benchmarks: null,
};
const lines: string[] = [];
const log = createLogger({ level: 'info', write: (l) => lines.push(l) });
let dash: Dashboard;

const start = () => startDashboard({
  config: DeviceConfig.parse(fileConfig), configPath: null, log, agentVersion: '9.9.9', status: () => status, env: {}, assets: {}, scrypt: { N: 1024, r: 8, p: 1 },
});
const loggedFingerprints = () => lines.flatMap((l) => /dashboard certificate SHA-256 fingerprint: (\S+)/.exec(l)?.[1] ?? []);

/** The certificate a TLS handshake presents, as openssl s_client and openssl x509 see it. */
async function servedFingerprint(port: number): Promise<string> {
  const script = `openssl s_client -connect 127.0.0.1:${port} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`;
  const { stdout } = await run('sh', ['-c', script], { timeout: 30_000 });
  return /sha256 Fingerprint=(\S+)/i.exec(stdout)?.[1] ?? `no certificate in: ${stdout}`;
}

beforeAll(async () => {
  dash = await start();
}, 30_000);
afterAll(async () => {
  await dash?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard over HTTPS', () => {
  it('serves the certificate whose fingerprint it logs, to curl and openssl s_client', async () => {
    expect(dash.url).toBe(`https://127.0.0.1:${dash.port}`);
    expect(dash.certSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(loggedFingerprints()).toEqual([dash.certSha256]);
    expect(await servedFingerprint(dash.port)).toBe(dash.certSha256);
    const { stdout } = await run('curl', ['-sk', `https://127.0.0.1:${dash.port}/api/login`], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({ mode: 'password', authenticated: false });
    // without -k curl refuses it: self-signed, to be trusted by its fingerprint only
    await expect(run('curl', ['-s', `https://127.0.0.1:${dash.port}/api/login`], { timeout: 30_000 })).rejects.toMatchObject({ code: 60 });
  }, 60_000);

  it('answers plain HTTP on the same port with a redirect to https:// and nothing of the dashboard', async () => {
    const { stdout } = await run('curl', ['-s', '-i', `http://127.0.0.1:${dash.port}/api/login?x=1`], { timeout: 30_000 });
    expect(stdout).toMatch(/^HTTP\/1\.1 308 /);
    expect(stdout).toContain(`Location: https://127.0.0.1:${dash.port}/api/login?x=1`);
    expect(stdout).not.toContain('"mode"');
    // a raw socket: a login in clear is never processed (no Set-Cookie, no JSON), whatever it sends
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(dash.port, '127.0.0.1', () => s.write(`POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:${dash.port}\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n{"password":"a long passphrase"}`));
      let text = '';
      s.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text)).on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 308 /);
    expect(reply).not.toMatch(/set-cookie|"ok"/i);
    const noHost = await new Promise<string>((resolve) => {
      const s = connect(dash.port, '127.0.0.1', () => s.write('GET / HTTP/1.0\r\n\r\n'));
      let text = '';
      s.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text));
    });
    expect(noHost).toMatch(/^HTTP\/1\.1 400 /);
  }, 60_000);

  it('logs in into a Secure cookie and streams the live socket over TLS', async () => {
    const { stdout } = await run('curl', ['-sk', '-i', '-H', 'content-type: application/json', '--data', JSON.stringify({ password: PASSWORD }), `https://127.0.0.1:${dash.port}/api/login`], { timeout: 30_000 });
    const cookie = /set-cookie: (sosna_session=[\w-]+)[^\r\n]*/i.exec(stdout);
    expect(cookie?.[0]).toMatch(/; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+; Secure$/);
    const ws = new WebSocket(`wss://127.0.0.1:${dash.port}/api/live`, { headers: { cookie: cookie![1]! }, rejectUnauthorized: false });
    const first = await new Promise<{ topic: string }>((resolve, reject) => ws.once('message', (d) => resolve(JSON.parse(String(d)))).once('error', reject));
    expect(first.topic).toMatch(/\/dev\/rig-1-abc123\/state$/);
    ws.close();
  }, 60_000);

  it('keeps its certificate across a restart', async () => {
    const before = dash.certSha256;
    await dash.stop();
    dash = await start();
    expect(dash.certSha256).toBe(before);
    expect(await servedFingerprint(dash.port)).toBe(before);
    expect(loggedFingerprints()).toEqual([before, before]);
    expect(lines.filter((l) => l.includes('made a self-signed certificate'))).toHaveLength(1);
  }, 60_000);

  it('refuses a dashboard.https that is not a boolean, naming the field, the value and the accepted form', () => {
    const r = parseConfig(DeviceConfig, { ...fileConfig, dashboard: { https: 'yes' } }, { file: '/etc/sosna/config.json' });
    expect(r).toEqual({ ok: false, errors: ['/etc/sosna/config.json: dashboard.https: must be true or false (true: serve the dashboard over HTTPS with a self-signed certificate kept in stateDir) (got "yes")'] });
  });
});
