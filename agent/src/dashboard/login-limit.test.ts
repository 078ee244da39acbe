// The login limit against attempts sent at once: a real dashboard server on a free port, 20 wrong
// passwords over 20 raw HTTP connections in parallel. Each check is counted in the limiter before its
// hash is computed and at most a couple run at a time, so no more than the limit (5 a minute from one
// address) are checked and the rest are answered 429 with Retry-After at once; the right password works
// again once the window has passed (an injected clock, no waiting).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, DeviceConfig } from '@sosna/protocol';
import { startDashboard } from './index.js';
import type { Dashboard, DeviceStatus } from './index.js';

const PASSWORD = 'the right passphrase';
const status: DeviceStatus = {
  deviceId: 'rig-1-abc123', hubId: 'hub-01234567', name: 'rig-1', hubUrl: 'mqtt://127.0.0.1:1883', connected: false,
  inventory: { hostname: 'rig', platform: 'linux', arch: 'x64', os: { distro: 'Debian', release: '12', kernel: '6.1' }, cpu: { manufacturer: 'AMD', brand: 'EPYC', cores: 4, physicalCores: 2, speedGHz: 3 }, memory: { totalBytes: 8e9 } },
  hardware: null, benchmarks: null,
};
const lines: string[] = [];
const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });
let now = 1_000_000;
let dash: Dashboard;

/** One login on its own connection (no keep-alive pooling): status, Retry-After and body. */
function login(password: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  const body = JSON.stringify({ password });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: dash.port, path: '/api/login', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
/** Checks that ended in a refusal: the server logs each one. */
const checked = () => lines.filter((l) => l.includes('dashboard login refused')).length;

beforeAll(async () => {
  const config = DeviceConfig.parse({ hub: { url: 'mqtt://127.0.0.1:1883' }, stateDir: '/nonexistent', dashboard: { host: '127.0.0.1', port: 0, password: PASSWORD } });
  // the default scrypt cost (a child process per check), as on a device
  dash = await startDashboard({ config, configPath: null, log, agentVersion: '9.9.9', status: () => status, env: {}, assets: {}, now: () => now });
}, 60_000);
afterAll(async () => {
  await dash?.stop();
});

describe('dashboard login limit', () => {
  it('checks at most the limit of 20 parallel wrong logins and answers the rest 429 with Retry-After', async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => login(`wrong ${i}`)));
    const refused = replies.filter((r) => r.status === 401);
    const limited = replies.filter((r) => r.status === 429);
    expect(refused.length + limited.length, JSON.stringify(replies.map((r) => r.status))).toBe(20);
    expect(checked()).toBe(refused.length);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThanOrEqual(5);
    for (const r of limited) {
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
      expect(JSON.parse(r.body)).toMatchObject({ error: 'too_many_attempts' });
    }
    // one after another the rest of the window's allowance goes, then every attempt is refused unchecked
    for (let i = 0; i < 10; i++) await login(`later ${i}`);
    expect(checked()).toBe(5);
    const right = await login(PASSWORD);
    expect(right.status).toBe(429); // inside the window even the right password waits: it is not checked
    expect(Number(right.retryAfter)).toBe(60);
    expect(checked()).toBe(5);
  }, 60_000);

  it('lets the right password in once the window has passed', async () => {
    now += 60_000;
    const r = await login(PASSWORD);
    expect(r.status, r.body).toBe(200);
    expect(lines.some((l) => l.includes('dashboard login'))).toBe(true);
  }, 30_000);
});
