// MQTT over WebSocket: the same hub, the same auth, for browsers and for devices behind proxies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { addOperator, ConsoleClient, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { connectOnce, devicesService, hubService, silentLogger } from '@sosna/protocol';
import { tempDir } from './helpers.js';

const tmp = tempDir();
let hub: Hub;

beforeAll(async () => {
  hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: 0 }, scryptN: 1024, chain: { mode: 'off' } }, { log: silentLogger });
});
afterAll(async () => {
  await hub.stop();
  tmp.cleanup();
});

describe('MQTT over WebSocket', () => {
  it('serves the console with the same credentials, and refuses without them', async () => {
    expect(hub.wsPort).toBeGreaterThan(0);
    const { password } = await addOperator(hub.store, 'web', 'viewer', { N: 1024, r: 8, p: 1 });
    const url = `ws://127.0.0.1:${hub.wsPort}`;
    const c = await ConsoleClient.connect({ url, hubId: hub.hubId, user: 'web', password });
    try {
      expect(await c.call(hubService, 'info', {})).toMatchObject({ hubId: hub.hubId, devices: { total: 0, online: 0 } });
      // a viewer reads but may not act on devices
      await expect(c.call(devicesService, 'call', { deviceId: 'any', service: 'system', method: 'reboot' }, { onChunk: () => {} })).rejects.toMatchObject({
        code: 'E_UNAUTHORIZED',
        message: expect.stringContaining('needs the operator role'),
      });
    } finally {
      await c.close();
    }
    await expect(connectOnce({ url, clientId: 'x', username: 'op:web', password: 'wrong' })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
  });
});
