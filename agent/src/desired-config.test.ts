import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@sosna/protocol';
import type { ConfigReport } from '@sosna/protocol';
import { DesiredConfigApplier } from './desired-config.js';
import { SettingsStore } from './dashboard/settings.js';
import { StateStore } from './state.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'sosna-desired-'));
  dirs.push(dir);
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ hub: { url: 'mqtt://127.0.0.1:1883' }, stateDir: join(dir, 'state'), telemetry: { intervalSec: 10 } }));
  const reports: ConfigReport[] = [];
  const make = () => new DesiredConfigApplier({
    settings: async () => new SettingsStore({ path: file, env: {} }),
    state: new StateStore(join(dir, 'state')),
    log: createLogger({ level: 'error', write: () => {} }),
    report: async (r) => void reports.push(r),
  });
  return { file, reports, make, read: () => JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>> };
}

describe('the desired config from the hub', () => {
  it('writes valid values to the config file through the settings writer and reports the applied version', async () => {
    const { reports, make, read } = setup();
    await make().receive({ v: 1, version: 3, values: { 'telemetry.intervalSec': 42, 'log.level': 'debug' }, at: 1 });
    expect(read().telemetry).toEqual({ intervalSec: 42 });
    expect(read().log).toEqual({ level: 'debug' });
    expect(reports).toEqual([{ version: 3, status: 'applied', restartRequired: ['telemetry.intervalSec', 'log.level'] }]);
  });

  it('refuses an invalid value with the field and reason, and writes nothing', async () => {
    const { file, reports, make } = setup();
    const before = readFileSync(file, 'utf8');
    await make().receive({ v: 1, version: 1, values: { 'telemetry.intervalSec': 0 }, at: 1 });
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(reports).toEqual([{ version: 1, status: 'failed', errors: [{ field: 'telemetry.intervalSec', reason: expect.stringMatching(/>=\s*1/) }] }]);
    await make().receive({ v: 1, version: 2, values: { 'hub.url': 'mqtt://evil:1883' }, at: 1 });
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(reports[1]).toMatchObject({ version: 2, status: 'failed', errors: [{ field: 'hub.url', reason: expect.stringContaining('cannot be changed') }] });
  });

  it("refuses a hub's attempt to turn the remote shell on: only the device's owner may (remoteShell.*)", async () => {
    const { file, reports, make } = setup();
    const before = readFileSync(file, 'utf8');
    await make().receive({ v: 1, version: 1, values: { 'remoteShell.enabled': true }, at: 1 });
    await make().receive({ v: 1, version: 2, values: { 'remoteShell.command': ['/bin/sh', '-c', 'id'] }, at: 1 });
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(reports.map((r) => [r.status, r.status === 'failed' ? r.errors[0]!.field : null])).toEqual([['failed', 'remoteShell.enabled'], ['failed', 'remoteShell.command']]);
  });

  it('applies a version once: after a restart the retained message is only reported again', async () => {
    const { file, reports, make, read } = setup();
    await make().receive({ v: 1, version: 5, values: { 'telemetry.intervalSec': 30 }, at: 1 });
    // someone edits the file locally afterwards; the old retained message must not overwrite it on reconnect
    writeFileSync(file, JSON.stringify({ ...read(), telemetry: { intervalSec: 15 } }));
    const restarted = make();
    await restarted.receive({ v: 1, version: 5, values: { 'telemetry.intervalSec': 30 }, at: 1 });
    expect(read().telemetry).toEqual({ intervalSec: 15 });
    expect(reports.map((r) => [r.version, r.status])).toEqual([[5, 'applied'], [5, 'applied']]);
    await restarted.receive({ v: 1, version: 6, values: { 'telemetry.intervalSec': 60 }, at: 2 });
    expect(read().telemetry).toEqual({ intervalSec: 60 });
  });

  it('ignores a message that is not a desired config', async () => {
    const { reports, make } = setup();
    await make().receive({ v: 1, version: 'x' });
    await make().receive(undefined);
    expect(reports).toEqual([]);
  });
});
