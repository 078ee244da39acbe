// The fleet registry: births and deaths (the retained state topic and the MQTT Will) and telemetry,
// written to the store. Telemetry is coalesced in memory and flushed in one transaction per tick.
import { DeviceState, Telemetry, topics } from '@sosna/protocol';
import type { Codec, Logger } from '@sosna/protocol';
import { parseTopic } from '@sosna/protocol';
import type { Bus } from '../broker/bus.js';
import type { HubEventBus } from '../events.js';
import type { DeviceStore } from './store.js';

export interface RegistryDeps {
  bus: Bus;
  store: Pick<DeviceStore, 'hasDevice' | 'recordBirth' | 'recordDeath' | 'recordTelemetry'>;
  codec: Codec;
  hubId: string;
  events: HubEventBus;
  log: Logger;
  flushMs: number;
}

export interface Registry {
  isOnline(deviceId: string): boolean;
  /** Why the device refused this hub on its last connection (its trust check failed); null when it did not. */
  refusal(deviceId: string): { reason: string; at: number } | null;
  flush(): void;
  stop(): Promise<void>;
}

export async function startRegistry(deps: RegistryDeps): Promise<Registry> {
  const { store, codec, events, log } = deps;
  const online = new Set<string>();
  /** Devices that refused this hub, with their reason (kept in memory: a device says it again on every connection). */
  const refusals = new Map<string, { reason: string; at: number }>();
  /** Session start of the current connection, from the birth: a Will of an older session is stale. */
  const sessionAt = new Map<string, number>();
  const pending = new Map<string, { at: number; metrics: Record<string, number>; full: boolean }>();

  const decode = (topic: string, payload: Buffer) => {
    try {
      return codec.decode(payload);
    } catch (err) {
      log.warn('undecodable message', { topic, error: (err as Error).message });
      return undefined;
    }
  };

  const onState = (topic: string, payload: Buffer) => {
    const t = parseTopic(topic);
    if (t?.kind !== 'device') return;
    const value = decode(topic, payload);
    if (value === undefined) return;
    const msg = DeviceState.safeParse(value);
    if (!msg.success) return log.warn('invalid state message', { deviceId: t.deviceId, error: msg.error.issues[0]?.message });
    if (!store.hasDevice(t.deviceId)) return log.warn('state from an unknown device', { deviceId: t.deviceId });
    const now = Date.now();
    if (msg.data.status === 'online') {
      sessionAt.set(t.deviceId, msg.data.at);
      const { inventory, hardware, profiles, benchmarks, jobs, owner, dashboard } = msg.data;
      store.recordBirth(t.deviceId, {
        at: now, name: msg.data.name, agentVersion: msg.data.agentVersion,
        inventory: { ...inventory, ...(hardware ? { hardware } : {}), ...(profiles ? { profiles } : {}), ...(benchmarks ? { benchmarks } : {}), ...(jobs ? { jobs } : {}), ...(owner ? { owner } : {}), ...(dashboard ? { dashboard } : {}) },
      });
      online.add(t.deviceId);
      refusals.delete(t.deviceId);
      log.info('device online', { deviceId: t.deviceId, name: msg.data.name });
      events.emit('online', t.deviceId);
    } else if (msg.data.status === 'refused') {
      // connected, found this hub untrustworthy, takes no jobs and disconnects: offline for scheduling
      refusals.set(t.deviceId, { reason: msg.data.reason, at: msg.data.at });
      store.recordDeath(t.deviceId, now);
      const was = online.delete(t.deviceId);
      log.warn('device refuses this hub', { deviceId: t.deviceId, reason: msg.data.reason });
      if (was) events.emit('offline', t.deviceId);
    } else {
      const current = sessionAt.get(t.deviceId);
      if (current !== undefined && msg.data.at < current) return; // the Will of a connection already replaced
      store.recordDeath(t.deviceId, now);
      online.delete(t.deviceId);
      log.info('device offline', { deviceId: t.deviceId, reason: msg.data.reason });
      events.emit('offline', t.deviceId);
    }
  };

  const onTelemetry = (topic: string, payload: Buffer) => {
    const t = parseTopic(topic);
    if (t?.kind !== 'device') return;
    const value = decode(topic, payload);
    if (value === undefined) return;
    const msg = Telemetry.safeParse(value);
    if (!msg.success) return log.warn('invalid telemetry', { deviceId: t.deviceId, error: msg.error.issues[0]?.message });
    const prev = pending.get(t.deviceId);
    if (prev && !msg.data.full) prev.metrics = { ...prev.metrics, ...msg.data.metrics };
    else pending.set(t.deviceId, { at: msg.data.at, metrics: msg.data.metrics, full: msg.data.full });
    events.emit('telemetry', t.deviceId, msg.data.metrics);
  };

  const flush = () => {
    if (pending.size === 0) return;
    const updates = [...pending.entries()].map(([id, u]) => ({ id, ...u }));
    pending.clear();
    try {
      store.recordTelemetry(updates);
    } catch (err) {
      log.error('could not store telemetry', { error: String(err) });
    }
  };
  const timer = setInterval(flush, deps.flushMs);
  timer.unref();

  const unsubs = [
    await deps.bus.subscribe(topics.deviceAll(deps.hubId, 'state'), onState),
    await deps.bus.subscribe(topics.deviceAll(deps.hubId, 'telemetry'), onTelemetry),
  ];

  return {
    isOnline: (id) => online.has(id),
    refusal: (id) => refusals.get(id) ?? null,
    flush,
    stop: async () => {
      clearInterval(timer);
      for (const u of unsubs) await u();
      flush();
    },
  };
}
