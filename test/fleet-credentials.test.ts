// Credentials pre-issued by `sosna provision fleet --credentials` lie beside a config that names no
// stateDir: the agent started with that config finds them there.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@sosna/protocol';
import { devicesFromCsv, writeFleet } from '@sosna/provisioning';
import { loadConfig } from '../agent/src/config.js';
import { adoptCredentialsBesideConfig, Credentials, CREDENTIALS_FILE } from '../agent/src/credentials.js';
import { StateStore } from '../agent/src/state.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('credentials beside the config', () => {
  it('are found by an agent started with a provision fleet --credentials config, once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sosna-creds-'));
    await writeFleet({
      outDir: join(dir, 'fleet'), fleet: 'rigs', hub: { url: 'mqtt://hub:1883' }, devices: devicesFromCsv('name\nrig-a\n'),
      auth: { kind: 'pre-issued', hubId: 'hub-1', issue: async () => ({ deviceId: 'rig-a-x1', username: 'dev:rig-a-x1', password: 'pw' }) },
    });
    const configPath = join(dir, 'fleet/devices/rig-a/config.json');
    const { config } = loadConfig({ path: configPath, env: {} });
    expect(config.stateDir).toBe('/var/lib/sosna'); // the config names none: the default, elsewhere
    const state = new StateStore(join(dir, 'state')); // stands for that state directory
    expect(adoptCredentialsBesideConfig(configPath, state, silentLogger)).toBe(join(dir, 'fleet/devices/rig-a', CREDENTIALS_FILE));
    expect(state.read(CREDENTIALS_FILE, Credentials)).toMatchObject({ hubId: 'hub-1', deviceId: 'rig-a-x1', username: 'dev:rig-a-x1', password: 'pw' });
    // after the hub dropped them (the agent removes them to provision again), they are not taken back
    state.remove(CREDENTIALS_FILE);
    expect(adoptCredentialsBesideConfig(configPath, state, silentLogger)).toBeNull();
    expect(existsSync(state.path(CREDENTIALS_FILE))).toBe(false);
  });
});
