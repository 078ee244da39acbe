import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assessHealth } from './health.js';
import { verifyPassword } from './password.js';
import { planSettings, SettingsStore } from './settings.js';

const CHEAP = { N: 1024, r: 8, p: 1 };
const base = { hub: { url: 'mqtt://127.0.0.1:1883' }, name: 'rig-1', telemetry: { intervalSec: 10 } };

describe('planSettings (pure)', () => {
  it('applies a valid change to the file content', () => {
    const r = planSettings(base, { name: 'rig-7', 'telemetry.intervalSec': 5 });
    expect(r).toMatchObject({ ok: true, changed: ['name', 'telemetry.intervalSec'], password: null, overriddenByEnv: [] });
    expect(r.ok && r.next).toEqual({ hub: { url: 'mqtt://127.0.0.1:1883' }, name: 'rig-7', telemetry: { intervalSec: 5 } });
    expect(base.name).toBe('rig-1'); // the input is not touched
  });

  it('refuses an invalid value with the field and the schema\'s reason', () => {
    expect(planSettings(base, { 'telemetry.intervalSec': 0 })).toEqual({ ok: false, errors: [{ field: 'telemetry.intervalSec', reason: expect.stringMatching(/>=\s*1/) }] });
    expect(planSettings(base, { 'telemetry.intervalSec': 'soon' })).toEqual({ ok: false, errors: [{ field: 'telemetry.intervalSec', reason: expect.stringMatching(/expected number/) }] });
    expect(planSettings(base, { name: 'x'.repeat(200) })).toEqual({ ok: false, errors: [{ field: 'name', reason: expect.stringMatching(/128/) }] });
    expect(planSettings(base, { 'dashboard.password': 'short' })).toEqual({ ok: false, errors: [{ field: 'dashboard.password', reason: 'must be at least 8 characters' }] });
  });

  it('refuses fields the dashboard may not change, and bodies that are not a patch', () => {
    const r = planSettings(base, { 'hub.url': 'mqtt://evil:1883', name: 'ok' });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]).toMatchObject({ field: 'hub.url', reason: expect.stringContaining('cannot be changed') });
    expect(planSettings(base, [1]).ok).toBe(false);
    expect(planSettings(base, {}).ok).toBe(false);
  });

  it('removes a field set to null (back to its default)', () => {
    const r = planSettings(base, { name: null });
    expect(r.ok && 'name' in r.next).toBe(false);
  });

  it('takes a new password in place of the stored hash', () => {
    const file = { ...base, dashboard: { passwordHash: `scrypt$1024$8$1$${'A'.repeat(22)}$${'B'.repeat(43)}` } };
    const r = planSettings(file, { 'dashboard.password': 'a long passphrase' });
    expect(r).toMatchObject({ ok: true, password: 'a long passphrase' });
    expect(r.ok && r.next.dashboard).toEqual({ password: 'a long passphrase' });
  });

  it('checks the value even while an environment variable overrides it, and says so', () => {
    expect(planSettings(base, { 'telemetry.intervalSec': 0 }, { SOSNA_TELEMETRY_INTERVAL_SEC: '5' }).ok).toBe(false);
    expect(planSettings(base, { 'telemetry.intervalSec': 7 }, { SOSNA_TELEMETRY_INTERVAL_SEC: '5' })).toMatchObject({ ok: true, overriddenByEnv: ['telemetry.intervalSec'] });
    // the file may rely on the environment for other fields (hub.url here)
    expect(planSettings({ name: 'x' }, { name: 'y' }, { SOSNA_HUB_URL: 'mqtt://h:1' }).ok).toBe(true);
  });
});

describe('SettingsStore', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const setup = (content: unknown) => {
    dir = mkdtempSync(join(tmpdir(), 'sosna-settings-'));
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify(content), { mode: 0o640 });
    return { path, store: new SettingsStore({ path, env: {}, scrypt: CHEAP }) };
  };

  it('writes a valid change atomically, keeping the file mode; writes nothing for an invalid one', async () => {
    const { path, store } = setup(base);
    const before = readFileSync(path, 'utf8');
    const bad = await store.apply({ 'telemetry.intervalSec': 99_999 });
    expect(bad).toMatchObject({ ok: false, status: 400, errors: [{ field: 'telemetry.intervalSec' }] });
    expect(readFileSync(path, 'utf8')).toBe(before);
    const good = await store.apply({ 'telemetry.intervalSec': 2 });
    expect(good).toMatchObject({ ok: true, changed: ['telemetry.intervalSec'], restartRequired: ['telemetry.intervalSec'] });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ ...base, telemetry: { intervalSec: 2 } });
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });

  it('stores a new password only as its hash, applied at once', async () => {
    const { path, store } = setup(base);
    const r = await store.apply({ 'dashboard.password': 'a long passphrase' });
    expect(r).toMatchObject({ ok: true, restartRequired: [], passwordHash: expect.stringMatching(/^scrypt\$/) });
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('a long passphrase');
    const saved = JSON.parse(text) as { dashboard: { passwordHash: string } };
    expect(await verifyPassword('a long passphrase', saved.dashboard.passwordHash)).toBe(true);
  });

  it('replaces a plain password in the file by its hash', async () => {
    const { path, store } = setup({ ...base, dashboard: { port: 80, password: 'plain password' } });
    const hash = await store.hashPlainPassword('plain password', () => {});
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { dashboard: Record<string, unknown> };
    expect(saved.dashboard).toEqual({ port: 80, passwordHash: hash });
  });

  it('saves nothing without a config file', async () => {
    const store = new SettingsStore({ path: null });
    expect(await store.apply({ name: 'x' })).toMatchObject({ ok: false, status: 409 });
  });
});

describe('health', () => {
  it('is the worst of its checks', () => {
    const ok = assessHealth({ connected: true, metrics: { 'cpu.tempC': 60, 'mem.usedBytes': 1e9 }, sampleAgeMs: 1000, intervalSec: 10, memoryTotalBytes: 8e9 });
    expect(ok.level).toBe('ok');
    const hot = assessHealth({ connected: true, metrics: { 'cpu.tempC': 88, 'gpu.1.tempC': 91 }, sampleAgeMs: 1000, intervalSec: 10, memoryTotalBytes: 8e9 });
    expect(hot.level).toBe('error');
    expect(hot.checks.map((c) => `${c.name}:${c.level}`)).toEqual(expect.arrayContaining(['CPU temperature:warn', 'GPU 1 temperature:error']));
    const offline = assessHealth({ connected: false, metrics: {}, sampleAgeMs: null, intervalSec: 10, memoryTotalBytes: 0 });
    expect(offline.checks.map((c) => c.level)).toEqual(['error', 'warn']);
  });
});
