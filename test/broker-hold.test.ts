// The hub's broker holds connections until its services have subscribed (open()): aedes gives in-process
// subscribers no retained messages, so a device that reconnected during a hub's start-up published its
// birth before the registry listened, and stayed offline in the registry (seen in npm run bench tls).
import { afterAll, describe, expect, it } from 'vitest';
import { connectOnce, silentLogger } from '@sosna/protocol';
import type { MqttClient } from '@sosna/protocol';
import { startEmbeddedBroker } from '../hub/src/broker/embedded.js';

const hooks = {
  authenticate: async () => ({ principal: { kind: 'operator' as const, name: 'x', role: 'admin' as const }, clientId: 'c' }) as never,
  mayPublish: () => true,
  maySubscribe: () => true,
};
// the hub's default connection limits (a held connection is still counted and timed by the guard)
const limits = { preAuthMaxPacketBytes: 8192, maxPacketBytes: (1 << 20) + 65_552, connectTimeoutMs: 15_000, maxPendingPerAddress: 32, maxPending: 256 };
const clients: MqttClient[] = [];
afterAll(() => clients.forEach((c) => c.end(true)));

describe('a broker that holds connections until open()', () => {
  it('answers CONNECT only after open(), and in-process subscribers then see every birth', async () => {
    const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, maxPayload: 1 << 20, limits, hooks, log: silentLogger, holdUntilOpen: true });
    try {
      let connected = false;
      const pending = connectOnce({ url: `mqtt://127.0.0.1:${broker.mqttPort}`, clientId: 'dev', username: 'u', password: 'p', connectTimeoutMs: 30_000 }).then((c) => {
        connected = true;
        clients.push(c);
        return c;
      });
      // the service subscribes only now (as the registry does during start-up)...
      await new Promise((r) => setTimeout(r, 300));
      expect(connected).toBe(false);
      const seen: string[] = [];
      await broker.subscribe('dev/+/state', (t) => seen.push(t));
      broker.open();
      // ...and still sees the birth the device publishes as soon as it is in
      const c = await pending;
      c.publish('dev/1/state', 'online', { qos: 1, retain: true });
      await new Promise<void>((r) => { const t = setInterval(() => seen.length && (clearInterval(t), r()), 10); });
      expect(seen).toEqual(['dev/1/state']);
    } finally {
      await broker.close();
    }
  });
});
