// Bulk config with retained desired state: `devices.set` merges values into each targeted device's desired
// config (store), publishes the whole of it RETAINED on dev/{id}/config, and waits a bounded time for the
// online devices to report through the `config` service for devices. Offline devices stay `pending` and
// get the retained message when they reconnect; their report lands in the store whenever it comes.
import { checkConfigValues, SosnaError, topics } from '@sosna/protocol';
import type { Codec, DesiredConfig, DeviceTarget, Handlers, hubConfigService, Logger, SetConfigChunk } from '@sosna/protocol';
import type { Bus } from '../broker/bus.js';
import type { HubEventBus } from '../events.js';
import type { DesiredConfigRow, DesiredConfigStore, DeviceRow, DeviceStore } from './store.js';
import type { Registry } from './registry.js';

export const DEFAULT_SET_WAIT_MS = 10_000;

export function resolveTarget(store: Pick<DeviceStore, 'getDevice' | 'listDevices'>, target: DeviceTarget): DeviceRow[] {
  if (target.deviceId !== undefined) {
    const row = store.getDevice(target.deviceId);
    if (!row) throw new SosnaError('E_NOT_FOUND', `no device ${target.deviceId}`);
    return [row];
  }
  const rows = store.listDevices(target.fleet !== undefined ? { fleet: target.fleet } : target.tag !== undefined ? { tag: target.tag } : {});
  if (rows.length === 0) {
    const what = target.fleet !== undefined ? `in fleet ${target.fleet}` : target.tag !== undefined ? `tagged ${target.tag}` : 'registered';
    throw new SosnaError('E_NOT_FOUND', `no devices ${what}`);
  }
  return rows;
}

/** The result of one device after a bulk set, from its desired-config row and whether it is online. Pure. */
export function deviceOutcome(row: DesiredConfigRow, version: number, online: boolean): { status: 'applied' | 'pending' | 'failed'; reason: string | null } {
  if (row.version !== version) return { status: 'pending', reason: `superseded by version ${row.version}` };
  if (row.status === 'applied') return { status: 'applied', reason: row.reason };
  if (row.status === 'failed') return { status: 'failed', reason: row.reason ?? 'refused by the device' };
  return { status: 'pending', reason: online ? 'no report yet: the device applies it when it gets it' : 'offline: gets it when it comes back' };
}

export interface DesiredConfigService {
  set(target: DeviceTarget, values: Record<string, unknown>, opts: { waitMs?: number; signal?: AbortSignal; emit(chunk: SetConfigChunk): void }): Promise<void>;
  deviceHandlers: Handlers<typeof hubConfigService, { deviceId: string }>;
}

export async function startDesiredConfig(deps: {
  bus: Bus; codec: Codec; hubId: string; store: Pick<DeviceStore, 'getDevice' | 'listDevices'> & DesiredConfigStore; registry: Registry; events: HubEventBus; log: Logger;
}): Promise<DesiredConfigService> {
  const { bus, codec, hubId, store, registry, events, log } = deps;
  const publish = (row: DesiredConfigRow) => {
    const msg: DesiredConfig = { v: 1, version: row.version, values: row.values, at: row.updatedAt };
    return bus.publish(topics.device(hubId, row.deviceId, 'config'), codec.encode(msg), { retain: true, qos: 1 });
  };
  // The broker's retained messages may not survive a hub restart: the store is the truth, publish it again.
  const rows = store.listDesiredConfigs();
  for (const row of rows) await publish(row);
  if (rows.length) log.info('desired config published again', { devices: rows.length });

  return {
    deviceHandlers: {
      report: ({ version, status, errors, restartRequired }, ctx) => {
        const reason = status === 'failed'
          ? (errors ?? []).map((e) => `${e.field}: ${e.reason}`).join('; ') || 'refused by the device'
          : restartRequired?.length ? `takes effect at the next agent restart: ${restartRequired.join(', ')}` : null;
        const ok = store.reportDesiredConfig(ctx.meta.deviceId, { version, status, reason, at: Date.now() });
        if (ok) events.emit('config', ctx.meta.deviceId);
        log.info('desired config report', { deviceId: ctx.meta.deviceId, version, status, ...(reason ? { reason } : {}), current: ok });
        return { ok };
      },
    },

    async set(target, values, opts) {
      const errors = checkConfigValues(values);
      if (errors.length) throw new SosnaError('E_INVALID', errors.map((e) => `${e.field}: ${e.reason}`).join('; '), errors);
      const devices = resolveTarget(store, target);
      const now = Date.now();
      const versions = new Map<string, number>();
      const names = new Map(devices.map((d) => [d.id, d.name]));
      for (const d of devices) versions.set(d.id, store.putDesiredConfig(d.id, values, now).version);
      await Promise.all(devices.map((d) => publish(store.getDesiredConfig(d.id)!)));
      log.info('desired config set', { devices: devices.length, keys: Object.keys(values) });

      const waiting = new Set(devices.filter((d) => registry.isOnline(d.id)).map((d) => d.id));
      const tally = () => {
        let applied = 0;
        let failed = 0;
        for (const d of devices) {
          const row = store.getDesiredConfig(d.id);
          if (!row || row.version !== versions.get(d.id)) continue;
          if (row.status === 'applied') applied++;
          else if (row.status === 'failed') failed++;
        }
        return { kind: 'progress' as const, total: devices.length, applied, failed, pending: devices.length - applied - failed };
      };
      await new Promise<void>((done) => {
        let last = 0;
        const finish = () => {
          clearTimeout(timer);
          events.off('config', onReport);
          opts.signal?.removeEventListener('abort', finish);
          done();
        };
        const onReport = (id: string) => {
          if (!waiting.delete(id)) return;
          const at = Date.now();
          if (waiting.size === 0 || at - last >= 100) {
            last = at;
            opts.emit(tally());
          }
          if (waiting.size === 0) finish();
        };
        const timer = setTimeout(finish, opts.waitMs ?? DEFAULT_SET_WAIT_MS);
        events.on('config', onReport);
        opts.signal?.addEventListener('abort', finish);
        for (const id of [...waiting]) {
          const row = store.getDesiredConfig(id); // reported while the messages were being published
          if (row && row.version === versions.get(id) && row.status !== 'pending') waiting.delete(id);
        }
        opts.emit(tally());
        if (waiting.size === 0) finish();
      });
      for (const d of devices) {
        const version = versions.get(d.id)!;
        const outcome = deviceOutcome(store.getDesiredConfig(d.id)!, version, registry.isOnline(d.id));
        opts.emit({ kind: 'result', deviceId: d.id, name: names.get(d.id) ?? d.id, version, ...outcome });
      }
      opts.emit(tally());
    },
  };
}
