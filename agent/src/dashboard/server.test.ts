// The dashboard server in-process on a free port: authentication on every page, API and the live socket,
// the login limiter, settings through the API, static assets, and the MQTT shapes on the WebSocket.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DeviceConfig, DeviceState, parseTopic, silentLogger, Telemetry } from '@sosna/protocol';
import { startDashboard } from './index.js';
import type { Dashboard, DeviceStatus } from './index.js';
import { LogTail } from './logtail.js';

const dir = mkdtempSync(join(tmpdir(), 'sosna-dash-'));
const configPath = join(dir, 'config.json');
const fileConfig = { hub: { url: 'mqtt://127.0.0.1:1883' }, stateDir: dir, name: 'rig-1', telemetry: { intervalSec: 1 }, dashboard: { host: '127.0.0.1', port: 0 } };
const codes: string[] = [];
const status: DeviceStatus = {
  deviceId: 'rig-1-abc123', hubId: 'hub-01234567', name: 'rig-1', hubUrl: 'mqtt://127.0.0.1:1883', connected: true,
  inventory: { hostname: 'rig', platform: 'linux', arch: 'x64', os: { distro: 'Debian', release: '12', kernel: '6.1' }, cpu: { manufacturer: 'AMD', brand: 'EPYC', cores: 4, physicalCores: 2, speedGHz: 3 }, memory: { totalBytes: 8e9 } },
  hardware: { gpus: [{ index: 0, vendor: 'nvidia', name: 'RTX 3090', vramBytes: 24e9, pciBusId: '0000:01:00.0' }], asics: [{ host: '10.0.0.21', port: 4028, maker: 'Bitmain', model: 'S19', state: 'ok' }] },
  benchmarks: null,
};
const INDEX = '<!doctype html><title>ui</title>';
const assets = { '/index.html': { type: 'text/html; charset=utf-8', gz: gzipSync(INDEX).toString('base64'), etag: '"i1"' } };
const NO_ENGINE = 'no container engine found (looked at unix:///var/run/docker.sock: connect ENOENT); set jobs.dockerHost in the config or DOCKER_HOST';
let refusedOffer: { version: string; reason: string; at: number } | null = null;
const logs = new LogTail();
logs.push('a log line');
let dash: Dashboard;
let base = '';

async function login(secret: string): Promise<Response> {
  return fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: secret }) });
}
const cookieOf = (res: Response) => res.headers.get('set-cookie')!.split(';')[0]!;

beforeAll(async () => {
  writeFileSync(configPath, JSON.stringify(fileConfig));
  const config = DeviceConfig.parse(fileConfig);
  dash = await startDashboard({
    config, configPath, log: silentLogger, agentVersion: '9.9.9', status: () => status, logs, env: {}, assets,
    scrypt: { N: 1024, r: 8, p: 1 }, showCode: (c) => codes.push(c),
    sources: { jobs: () => [{ id: 'job-1', image: 'busybox', state: 'running' }], jobsUnavailable: () => NO_ENGINE }, updateRefused: () => refusedOffer,
  });
  base = `http://127.0.0.1:${dash.port}`;
});
afterAll(async () => {
  await dash?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard server', () => {
  let cookie = '';

  it('refuses every page, API and the live socket without a session', async () => {
    for (const page of ['/', '/hardware', '/settings', '/system', '/nowhere']) {
      const r = await fetch(`${base}${page}`, { redirect: 'manual' });
      expect(r.status, page).toBe(302);
      expect(r.headers.get('location')).toMatch(/^\/login/);
    }
    for (const api of ['/api/overview', '/api/hardware', '/api/telemetry', '/api/settings', '/api/system', '/api/jobs', '/api/earnings']) {
      const r = await fetch(`${base}${api}`);
      expect(r.status, api).toBe(401);
      expect(await r.json()).toEqual({ error: 'unauthorized', message: 'log in first' });
    }
    const put = await fetch(`${base}/api/settings`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' });
    expect(put.status).toBe(401);
    const ws = new WebSocket(`ws://127.0.0.1:${dash.port}/api/live`);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    expect(status).toBe(401);
    expect((await fetch(`${base}/login`)).status).toBe(200);
  });

  it('logs in with the one-time code from the console once, into an HttpOnly SameSite=Strict cookie', async () => {
    expect(await (await fetch(`${base}/api/login`)).json()).toEqual({ mode: 'code', authenticated: false });
    expect(codes).toHaveLength(1);
    const r = await login(codes[0]!);
    expect(r.status).toBe(200);
    expect(r.headers.get('set-cookie')).toMatch(/^sosna_session=[\w-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/);
    cookie = cookieOf(r);
    expect((await login(codes[0]!)).status).toBe(401); // used up; a new code was printed
    expect(codes).toHaveLength(2);
    const page = await fetch(`${base}/hardware`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-encoding')).toBe('gzip'); // served as built, fetch decodes it
    expect(await page.text()).toBe(INDEX);
    const plain = await fetch(`${base}/`, { headers: { cookie, 'accept-encoding': 'identity' } });
    expect([plain.headers.get('content-encoding'), await plain.text()]).toEqual([null, INDEX]);
    expect((await fetch(`${base}/`, { headers: { cookie, 'if-none-match': '"i1"' } })).status).toBe(304);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('serves the API with a session', async () => {
    dash.telemetry({ 'cpu.loadPct': 12.5, 'mem.usedBytes': 2e9, 'gpu.0.tempC': 61, 'asic.10.0.0.21.hashrate5s': 9.5e13 }, Date.now() - 1000);
    const get = async (p: string) => {
      const r = await fetch(`${base}${p}`, { headers: { cookie } });
      expect(r.status, p).toBe(200);
      return r.json() as Promise<Record<string, any>>;
    };
    const overview = await get('/api/overview');
    expect(overview.device).toMatchObject({ deviceId: 'rig-1-abc123', name: 'rig-1', connected: true, agentVersion: '9.9.9' });
    expect(overview.health.level).toBe('ok');
    const hw = await get('/api/hardware');
    expect(hw.gpus).toEqual([expect.objectContaining({ key: 'gpu.0', name: 'RTX 3090' })]);
    expect(hw.asics).toEqual([expect.objectContaining({ key: 'asic.10.0.0.21', model: 'S19' })]);
    const tel = await get('/api/telemetry');
    expect(tel.t).toHaveLength(1);
    expect(tel.series['cpu.loadPct']).toEqual([12.5]);
    expect(Object.keys((await get('/api/telemetry?prefix=gpu.')).series)).toEqual(['gpu.0.tempC']);
    // why the Jobs page is empty: the agent's reason (no container engine) comes with the list
    expect(await get('/api/jobs')).toEqual({ available: true, unavailable: NO_ENGINE, jobs: [{ id: 'job-1', image: 'busybox', state: 'running' }] });
    expect(await get('/api/earnings')).toEqual({ available: false, earnings: null });
    const sys = await get('/api/system');
    expect(sys).toMatchObject({ agentVersion: '9.9.9', configFile: configPath, logs: ['a log line'] });
    expect(sys.update).toEqual({
      running: '9.9.9', current: null, previous: null, trial: null, lastRollback: null, outcome: null, lastRefused: null, unreadable: null, summary: 'running 9.9.9, no update',
    });
    expect((await fetch(`${base}/api/nothing`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${base}/api/overview`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{}' })).status).toBe(405);
  });

  it('sends the current state and live telemetry over the WebSocket in the MQTT shapes', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${dash.port}/api/live`, { headers: { cookie } });
    const messages: { topic: string; payload: unknown }[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once('open', r));
    await expect.poll(() => messages.length).toBe(2); // state + the newest sample
    dash.telemetry({ 'cpu.loadPct': 50 });
    await expect.poll(() => messages.length).toBe(3);
    status.connected = false;
    await expect.poll(() => messages.length, { timeout: 3000 }).toBe(4);
    status.connected = true;
    ws.close();
    const [state, first, live, offline] = messages as [any, any, any, any];
    expect(parseTopic(state.topic)).toEqual({ kind: 'device', hubId: 'hub-01234567', deviceId: 'rig-1-abc123', channel: 'state' });
    expect(DeviceState.parse(state.payload)).toMatchObject({ status: 'online', name: 'rig-1' });
    expect(Telemetry.parse(first.payload).metrics['cpu.loadPct']).toBe(12.5);
    expect(parseTopic(live.topic)).toMatchObject({ channel: 'telemetry' });
    expect(Telemetry.parse(live.payload)).toMatchObject({ full: true, metrics: { 'cpu.loadPct': 50 } });
    expect(DeviceState.parse(offline.payload)).toMatchObject({ status: 'offline' });
  });

  it('refuses cross-site writes, non-JSON bodies and cross-site sockets', async () => {
    const r = await fetch(`${base}/api/settings`, { method: 'PUT', headers: { cookie, 'content-type': 'application/json', origin: 'http://evil.example' }, body: '{"name":"x"}' });
    expect(r.status).toBe(403);
    const form = await fetch(`${base}/api/settings`, { method: 'PUT', headers: { cookie, 'content-type': 'text/plain' }, body: '{"name":"x"}' });
    expect(form.status).toBe(415);
    const ws = new WebSocket(`ws://127.0.0.1:${dash.port}/api/live`, { headers: { cookie, origin: 'http://evil.example' } });
    expect(await new Promise<number>((resolve) => ws.on('unexpected-response', (_q, res) => resolve(res.statusCode!)))).toBe(403);
  });

  it('validates settings by the config schema: 400 with field and reason and nothing written, or written', async () => {
    const put = (body: unknown) => fetch(`${base}/api/settings`, { method: 'PUT', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const before = readFileSync(configPath, 'utf8');
    const bad = await put({ 'telemetry.intervalSec': -1, name: 'ok' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid', errors: [{ field: 'telemetry.intervalSec', reason: expect.any(String) }] });
    expect(readFileSync(configPath, 'utf8')).toBe(before);
    const good = await put({ 'telemetry.intervalSec': 3, name: 'rig-renamed' });
    expect(await good.json()).toEqual({ ok: true, changed: ['telemetry.intervalSec', 'name'], restartRequired: ['telemetry.intervalSec', 'name'], overriddenByEnv: [] });
    expect(JSON.parse(readFileSync(configPath, 'utf8'))).toMatchObject({ name: 'rig-renamed', telemetry: { intervalSec: 3 } });
    const view = (await (await fetch(`${base}/api/settings`, { headers: { cookie } })).json()) as Record<string, any>;
    expect(view.values).toEqual({ name: 'rig-renamed', owner: '', 'jobs.askPerSec': '0', hubPreference: 'best', 'telemetry.intervalSec': 3 });
    expect(view.running).toEqual({ name: 'rig-1', owner: '', 'jobs.askPerSec': '0', hubPreference: 'best', 'telemetry.intervalSec': 1 });
    expect(view.hubs).toEqual(['mqtt://127.0.0.1:1883']);
  });

  it('sets the owner wallet, price floor and hub preference: validated by the schema, written, cleared by an empty value', async () => {
    const put = (body: unknown) => fetch(`${base}/api/settings`, { method: 'PUT', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const before = readFileSync(configPath, 'utf8');
    const refused = async (body: unknown, field: string, reason: RegExp) => {
      const r = await put(body);
      expect(r.status).toBe(400);
      const j = (await r.json()) as { errors: { field: string; reason: string }[]; message: string };
      expect(j.errors).toEqual([{ field, reason: expect.stringMatching(reason) }]);
      expect(j.message).toMatch(new RegExp(`^${field.replace('.', '\\.')}: `));
      expect(readFileSync(configPath, 'utf8')).toBe(before);
    };
    await refused({ owner: '0x1234', 'jobs.askPerSec': '5' }, 'owner', /0x-prefixed 20-byte hex address/);
    await refused({ 'jobs.askPerSec': '1.5' }, 'jobs.askPerSec', /non-negative decimal integer \(token wei\)/);
    await refused({ 'jobs.askPerSec': 5 }, 'jobs.askPerSec', /string/);
    await refused({ hubPreference: 'mqtt://elsewhere:1883' }, 'hubPreference', /^mqtt:\/\/elsewhere:1883 is not a configured hub: use "best" or one of mqtt:\/\/127\.0\.0\.1:1883$/);

    const owner = `0x${'Ab'.repeat(20)}`;
    const ask = '123456789012345678901234567890'; // beyond 2^53: kept exact as a decimal string
    const ok = await put({ owner, 'jobs.askPerSec': ask, hubPreference: 'mqtt://127.0.0.1:1883' });
    expect(await ok.json()).toMatchObject({ ok: true, changed: ['owner', 'jobs.askPerSec', 'hubPreference'], restartRequired: ['owner', 'jobs.askPerSec', 'hubPreference'] });
    expect(JSON.parse(readFileSync(configPath, 'utf8'))).toMatchObject({ owner, jobs: { askPerSec: ask }, hubPreference: 'mqtt://127.0.0.1:1883' });
    const view = (await (await fetch(`${base}/api/settings`, { headers: { cookie } })).json()) as Record<string, any>;
    expect(view.values).toMatchObject({ owner, 'jobs.askPerSec': ask, hubPreference: 'mqtt://127.0.0.1:1883' });
    expect(view.running).toMatchObject({ owner: '', 'jobs.askPerSec': '0', hubPreference: 'best' });

    // an empty value removes the field: no owner, the default ask, the ranking
    expect((await put({ owner: '', 'jobs.askPerSec': '', hubPreference: '' })).status).toBe(200);
    const file = JSON.parse(readFileSync(configPath, 'utf8'));
    expect(file.owner).toBeUndefined();
    expect(file.hubPreference).toBeUndefined();
    expect(file.jobs?.askPerSec).toBeUndefined();
  });

  it('shows the update state from the state file and the last refused offer', async () => {
    const now = Date.now();
    mkdirSync(join(dir, 'update'), { recursive: true });
    writeFileSync(join(dir, 'update', 'state.json'), JSON.stringify({
      v: 1, current: { version: '9.9.9', file: 'sosna-agent-9.9.9.mjs' }, previous: { version: '9.9.8', file: 'sosna-agent-9.9.8.mjs' },
      trial: { version: '9.9.9', attempts: 1, deadline: now + 60_000, healthDeadlineSec: 60 },
      failed: [{ version: '9.9.7', reason: '9.9.7 stopped 3 time(s) without becoming healthy (crash on start?)', at: now - 5000 }], outcome: null,
    }));
    refusedOffer = { version: '9.9.10', reason: 'busy with the update to 9.9.9', at: now };
    const sys = (await (await fetch(`${base}/api/system`, { headers: { cookie } })).json()) as Record<string, any>;
    expect(sys.update).toEqual({
      running: '9.9.9', current: '9.9.9', previous: '9.9.8',
      trial: { version: '9.9.9', attempts: 1, maxAttempts: 3, deadline: now + 60_000, healthDeadlineSec: 60 },
      lastRollback: { version: '9.9.7', reason: '9.9.7 stopped 3 time(s) without becoming healthy (crash on start?)', at: now - 5000 },
      outcome: null, lastRefused: refusedOffer, unreadable: null,
      summary: 'running 9.9.9, on trial (start 1 of 3) until it reports healthy; falls back to 9.9.8',
    });
    writeFileSync(join(dir, 'update', 'state.json'), '{"v":1,');
    const broken = (await (await fetch(`${base}/api/system`, { headers: { cookie } })).json()) as Record<string, any>;
    expect(broken.update).toMatchObject({ current: null, summary: 'running 9.9.9, no update', unreadable: expect.stringContaining(join(dir, 'update', 'state.json')) });
    rmSync(join(dir, 'update'), { recursive: true, force: true });
    refusedOffer = null;
  });

  it('a password set in Settings replaces the code at once and ends the other sessions', async () => {
    const other = cookieOf(await login(codes[codes.length - 1]!));
    const r = await fetch(`${base}/api/settings`, { method: 'PUT', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ 'dashboard.password': 'a long passphrase' }) });
    expect(r.status).toBe(200);
    expect((await fetch(`${base}/api/overview`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${base}/api/overview`, { headers: { cookie: other } })).status).toBe(401);
    expect(await (await fetch(`${base}/api/login`)).json()).toMatchObject({ mode: 'password' });
    expect((await login('a long passphrase')).status).toBe(200);
    expect(readFileSync(configPath, 'utf8')).not.toContain('a long passphrase');
  });

  it('rate-limits failed logins before checking them (429 with Retry-After)', async () => {
    for (let i = 0; i < 5; i++) expect((await login(`wrong ${i}`)).status).toBe(401);
    const r = await login('a long passphrase');
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await r.json()).toMatchObject({ error: 'too_many_attempts' });
  });

  it('logs out', async () => {
    const r = await fetch(`${base}/api/logout`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{}' });
    expect(r.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await fetch(`${base}/api/overview`, { headers: { cookie } })).status).toBe(401);
  });
});
