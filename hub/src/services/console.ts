// The hub's operator services on console/{operator}/rpc/in: the fleet list and calls forwarded to devices.
import { devicesService, hubService, RpcEndpoint, SosnaError, topics } from '@sosna/protocol';
import type { Codec, DeviceSummary, Logger } from '@sosna/protocol';
import type { Bus } from '../broker/bus.js';
import type { DeviceRow, HubStore, Role } from '../store/types.js';
import type { DeviceLinks } from './device-links.js';
import type { Registry } from './registry.js';
import { PeerTable, topicId } from './peers.js';
import { hasHardwareFilter, matchesHardware } from './device-filter.js';

export interface OperatorMeta {
  operator: string;
  role: Role;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export function requireRole(meta: OperatorMeta, needed: Role, what: string): void {
  if (RANK[meta.role] < RANK[needed]) throw new SosnaError('E_UNAUTHORIZED', `${what} needs the ${needed} role; ${meta.operator} is a ${meta.role}`);
}

export function summarize(row: DeviceRow, online: boolean): DeviceSummary {
  return {
    id: row.id, name: row.name, fleet: row.fleet, tags: row.tags, online,
    firstSeen: row.firstSeen, lastSeen: row.lastSeen, agentVersion: row.agentVersion,
    inventory: row.inventory, telemetry: row.telemetry, telemetryAt: row.telemetryAt,
  };
}

export async function startConsole(deps: {
  bus: Bus; codec: Codec; hubId: string; name: string; owner: string; version: string; connections: () => number; log: Logger; store: HubStore; registry: Registry; links: DeviceLinks;
  /** Adds more operator services (jobs, earnings) to the console endpoint. */
  extend?: (endpoint: RpcEndpoint<OperatorMeta>) => void;
}): Promise<{ stop(): Promise<void> }> {
  const { store, registry } = deps;
  const endpoint = new RpcEndpoint<OperatorMeta>()
    .add(hubService, {
      info: () => ({ hubId: deps.hubId, name: deps.name, owner: deps.owner, version: deps.version, devices: store.countDevices(), connections: deps.connections() }),
    })
    .add(devicesService, {
      list: (filter) => {
        registry.flush();
        const rows = store.listDevices({ fleet: filter.fleet, tag: filter.tag, online: filter.online });
        const picked = hasHardwareFilter(filter) ? rows.filter((r) => matchesHardware(r.inventory, filter)) : rows;
        return { devices: picked.map((r) => summarize(r, registry.isOnline(r.id))) };
      },
      show: ({ deviceId }) => {
        registry.flush();
        const row = store.getDevice(deviceId);
        if (!row) throw new SosnaError('E_NOT_FOUND', `no device ${deviceId}`);
        return summarize(row, registry.isOnline(row.id));
      },
      call: async ({ deviceId, service, method, params, timeoutMs }, ctx) => {
        requireRole(ctx.meta, 'operator', 'calling a device');
        deps.log.debug('forwarding call', { operator: ctx.meta.operator, deviceId, call: `${service}.${method}` });
        await deps.links.call(deviceId, service, method, params ?? {}, { timeoutMs, signal: ctx.signal, onChunk: (c) => ctx.emit(c) });
      },
    });
  deps.extend?.(endpoint);
  const table = new PeerTable<OperatorMeta>({
    bus: deps.bus, codec: deps.codec, log: deps.log, role: 'owner', endpoint,
    inbound: topics.consoleAll(deps.hubId, 'in'),
    outbound: (op) => topics.console(deps.hubId, op, 'out'),
    idOf: topicId('console', deps.hubId),
    meta: (op) => {
      const row = store.getOperator(op);
      return row ? { operator: row.name, role: row.role } : undefined;
    },
  });
  await table.start();
  return { stop: () => table.stop() };
}
