// The hub's operator services on console/{operator}/rpc/in: the fleet list and calls forwarded to devices.
import { devicesService, hubService, RpcEndpoint, SosnaError, topics } from '@sosna/protocol';
import type { Codec, DeviceSummary, Logger } from '@sosna/protocol';
import type { Bus } from '../broker/bus.js';
import type { DesiredConfigRow, DesiredConfigStore, DeviceRow, DeviceStore } from '../fleet/store.js';
import type { OperatorStore } from '../auth/store.js';
import type { DeviceLinks } from '../fleet/device-links.js';
import type { DesiredConfigService } from '../fleet/desired-config.js';
import { resolveTarget } from '../fleet/desired-config.js';
import { authorizeOperator, checkDeviceCall } from '../auth/roles.js';
import type { OperatorMeta } from '../auth/roles.js';
import type { Registry } from '../fleet/registry.js';
import { PeerTable, topicId } from '../broker/peers.js';
import { deviceActions } from './device-actions.js';
import type { DeviceActionsDeps } from './device-actions.js';
import type { HubEventBus } from '../events.js';
import { hasHardwareFilter, matchesHardware } from '../fleet/device-filter.js';

export function summarize(row: DeviceRow, online: boolean, config?: DesiredConfigRow): DeviceSummary {
  return {
    id: row.id, name: row.name, fleet: row.fleet, tags: row.tags, online,
    firstSeen: row.firstSeen, lastSeen: row.lastSeen, agentVersion: row.agentVersion,
    inventory: row.inventory, telemetry: row.telemetry, telemetryAt: row.telemetryAt,
    config: config ? { version: config.version, values: config.values, status: config.status, reason: config.reason, updatedAt: config.updatedAt, reportedAt: config.reportedAt } : null,
  };
}

export async function startConsole(deps: {
  bus: Bus; codec: Codec; hubId: string; name: string; owner: string; version: string; connections: () => number; log: Logger; store: Pick<DeviceStore, 'countDevices' | 'getDevice' | 'listDevices' | 'setTags'> & Pick<DesiredConfigStore, 'getDesiredConfig' | 'listDesiredConfigs'> & Pick<OperatorStore, 'getOperator'>; registry: Registry; links: DeviceLinks;
  desired: DesiredConfigService;
  /** For `devices.watch`: the hub's events and the scheduler's job feed. */
  events: HubEventBus;
  jobs?: DeviceActionsDeps['jobs'];
  /** Adds more operator services (jobs, earnings) to the console endpoint. */
  extend?: (endpoint: RpcEndpoint<OperatorMeta>) => void;
}): Promise<{ stop(): Promise<void> }> {
  const { store, registry } = deps;
  const actions = deviceActions({ store, registry, links: deps.links, events: deps.events, jobs: deps.jobs });
  const endpoint = new RpcEndpoint<OperatorMeta>()
    .add(hubService, {
      info: () => ({ hubId: deps.hubId, name: deps.name, owner: deps.owner, version: deps.version, devices: store.countDevices(), connections: deps.connections() }),
    })
    .add(devicesService, {
      list: (filter) => {
        registry.flush();
        const rows = store.listDevices({ fleet: filter.fleet, tag: filter.tag, online: filter.online });
        const picked = hasHardwareFilter(filter) ? rows.filter((r) => matchesHardware(r.inventory, filter)) : rows;
        const configs = new Map(store.listDesiredConfigs().map((c) => [c.deviceId, c]));
        return { devices: picked.map((r) => ({ ...summarize(r, registry.isOnline(r.id), configs.get(r.id)), refused: registry.refusal(r.id) })) };
      },
      show: ({ deviceId }) => {
        registry.flush();
        const row = store.getDevice(deviceId);
        if (!row) throw new SosnaError('E_NOT_FOUND', `no device ${deviceId}`);
        return { ...summarize(row, registry.isOnline(row.id), store.getDesiredConfig(row.id)), refused: registry.refusal(row.id) };
      },
      call: async ({ deviceId, service, method, params, timeoutMs }, ctx) => {
        checkDeviceCall(ctx.meta.operator, ctx.meta.role, service, method);
        deps.log.debug('forwarding call', { operator: ctx.meta.operator, deviceId, call: `${service}.${method}` });
        await deps.links.call(deviceId, service, method, params ?? {}, { timeoutMs, signal: ctx.signal, onChunk: (c) => ctx.emit(c) });
      },
      set: async ({ target, values, waitMs }, ctx) => {
        deps.log.info('config set', { operator: ctx.meta.operator, target, keys: Object.keys(values) });
        await deps.desired.set(target, values, { waitMs, signal: ctx.signal, emit: (c) => ctx.emit(c) });
      },
      tag: ({ target, add, remove }, ctx) => {
        const rows = resolveTarget(store, target);
        deps.log.info('tags changed', { operator: ctx.meta.operator, devices: rows.length, add, remove });
        return {
          devices: rows.map((r) => {
            const tags = [...new Set([...r.tags.filter((t) => !remove.includes(t)), ...add])].sort();
            store.setTags(r.id, tags);
            return { deviceId: r.id, tags };
          }),
        };
      },
      reboot: async ({ target, timeoutMs }, ctx) => {
        deps.log.warn('reboot requested', { operator: ctx.meta.operator, target });
        await actions.reboot(target, { timeoutMs, signal: ctx.signal, emit: (c) => ctx.emit(c) });
      },
      identify: ({ deviceId, seconds }, ctx) => {
        deps.log.info('identify requested', { operator: ctx.meta.operator, deviceId, seconds });
        return actions.identify(deviceId, seconds, { signal: ctx.signal });
      },
      watch: (filter, ctx) => actions.watch(filter, { signal: ctx.signal, emit: (e) => ctx.emit(e) }),
    })
    .authorize(authorizeOperator(store));
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
