import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeviceConfig } from '@sosna/protocol';
import { DEFAULT_STATE_DIR, peekStartup } from './config-file.js';
import { loadConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'sosna-peek-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));

describe('peekStartup (the loader reads stateDir and the log level before any schema loads)', () => {
  it('agrees with loadConfig on stateDir and log level: file, environment over file, and the defaults', () => {
    const f = file('a.json', JSON.stringify({ hub: { url: 'mqtt://h:1883' }, stateDir: '/srv/state', log: { level: 'debug' } }));
    const cases: Record<string, string | undefined>[] = [{}, { SOSNA_STATE_DIR: '/env/state', SOSNA_LOG_LEVEL: 'warn' }];
    for (const env of cases) {
      const full = loadConfig({ path: f, env }).config;
      expect(peekStartup(f, env)).toEqual({ stateDir: full.stateDir, logLevel: full.log.level });
    }
    const bare = file('b.json', JSON.stringify({ hub: { url: 'mqtt://h:1883' } }));
    const full = loadConfig({ path: bare, env: {} }).config;
    expect(peekStartup(bare, {})).toEqual({ stateDir: full.stateDir, logLevel: full.log.level });
    expect(DEFAULT_STATE_DIR).toBe(DeviceConfig.parse({ hub: { url: 'mqtt://h:1883' } }).stateDir);
  });

  it('gives up (null) on a file that is not a JSON object, leaving the error to loadConfig', () => {
    expect(peekStartup(file('c.json', '{ not json'), {})).toBeNull();
    expect(peekStartup(file('d.json', '[1]'), {})).toBeNull();
    expect(peekStartup(join(dir, 'missing.json'), {})).toBeNull();
  });

  it('falls back to the defaults for fields of the wrong type (loadConfig names them later)', () => {
    const f = file('e.json', JSON.stringify({ stateDir: 7, log: { level: 'loud' } }));
    expect(peekStartup(f, {})).toEqual({ stateDir: DEFAULT_STATE_DIR, logLevel: 'info' });
  });
});
