// The hub's RPC link to each device: the hub calls on dev/{id}/rpc/in and hears on dev/{id}/rpc/out.
// A device calls the hub's services for devices (`endpoint`, e.g. jobs.lease) on odd channels of rpc/out.
import { SosnaError, toSosnaError, topics } from '@sosna/protocol';
import type { CallOptions, Codec, Logger, RpcEndpoint } from '@sosna/protocol';
import type { Bus } from '../broker/bus.js';
import type { HubEventBus } from '../events.js';
import type { Registry } from './registry.js';
import type { DeviceStore } from './store.js';
import { PeerTable, topicId } from '../broker/peers.js';

export interface DeviceLinks {
  call(deviceId: string, service: string, method: string, params: unknown, opts?: CallOptions): Promise<unknown[]>;
  stop(): Promise<void>;
}

export async function startDeviceLinks(deps: {
  bus: Bus; codec: Codec; hubId: string; log: Logger; registry: Registry; store: Pick<DeviceStore, 'getDevice' | 'hasDevice'>; events: HubEventBus; timeoutMs: number;
  /** The hub's services for devices; `meta.deviceId` is the device the topic (and so the broker's ACL) names. */
  endpoint?: RpcEndpoint<{ deviceId: string }>;
  /** Each call that reached a device: how it ended (`ok` or the error code) and how long it took (for /metrics). */
  observe?: (service: string, method: string, outcome: string, seconds: number) => void;
}): Promise<DeviceLinks> {
  const table = new PeerTable<{ deviceId: string }>({
    bus: deps.bus,
    codec: deps.codec,
    log: deps.log,
    role: 'caller',
    inbound: topics.deviceAll(deps.hubId, 'rpc/out'),
    outbound: (id) => topics.device(deps.hubId, id, 'rpc/in'),
    idOf: topicId('device', deps.hubId),
    timeoutMs: deps.timeoutMs,
    endpoint: deps.endpoint,
    meta: deps.endpoint ? (id) => (deps.store.hasDevice(id) ? { deviceId: id } : undefined) : undefined,
  });
  await table.start();
  // A new session may be a new agent version: resolve its services again. A death fails calls at once.
  const onOnline = (id: string) => table.peek(id)?.invalidate();
  const onOffline = (id: string) => table.peek(id)?.failPending(`device ${id} went offline`);
  deps.events.on('online', onOnline);
  deps.events.on('offline', onOffline);

  return {
    async call(deviceId, service, method, params, opts) {
      // hot path: the in-memory online set; the database only for the error message
      if (!deps.registry.isOnline(deviceId)) {
        const row = deps.store.getDevice(deviceId);
        if (!row) throw new SosnaError('E_NOT_FOUND', `no device ${deviceId}`);
        const seen = row.lastSeen ? `last seen ${new Date(row.lastSeen).toISOString()}` : 'never seen';
        throw new SosnaError('E_UNAVAILABLE', `device ${deviceId} is offline (${seen})`);
      }
      const observe = deps.observe;
      if (!observe) return table.get(deviceId)!.callRaw(service, method, params, opts);
      const t0 = performance.now();
      try {
        const chunks = await table.get(deviceId)!.callRaw(service, method, params, opts);
        observe(service, method, 'ok', (performance.now() - t0) / 1000);
        return chunks;
      } catch (err) {
        observe(service, method, toSosnaError(err).code, (performance.now() - t0) / 1000);
        throw err;
      }
    },
    async stop() {
      deps.events.off('online', onOnline);
      deps.events.off('offline', onOffline);
      await table.stop();
    },
  };
}
