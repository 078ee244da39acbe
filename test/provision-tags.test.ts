// A device provisioned with a fleet key is recorded with the tags its config gives (from the fleet CSV),
// and its owner wallet (sent with its birth) is what its earnings are paid to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createProvisioningKey, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { DeviceConfig, silentLogger } from '@sosna/protocol';
import { provision } from '../agent/src/provision.js';
import { StateStore } from '../agent/src/state.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('sosna-prov-tags-');
let hub: Hub;

beforeAll(async () => {
  hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024 }, { log: silentLogger });
});
afterAll(async () => {
  await hub?.stop();
  tmp.cleanup();
});

describe('provisioning with a fleet key', () => {
  it("records the tags of the device's config", async () => {
    const { key } = await createProvisioningKey(hub.store, { fleet: 'rigs', maxUses: 2 });
    const config = DeviceConfig.parse({ hub: { url: `mqtt://127.0.0.1:${hub.mqttPort}` }, provisioningKey: key, name: 'rig-kyiv-01', tags: ['gpu', 'kyiv'], stateDir: join(tmp.dir, 'dev') });
    const creds = await provision({ config, state: new StateStore(config.stateDir), name: 'rig-kyiv-01', log: silentLogger });
    expect(hub.store.getDevice(creds.deviceId)).toMatchObject({ fleet: 'rigs', tags: ['gpu', 'kyiv'] });
  });
});
