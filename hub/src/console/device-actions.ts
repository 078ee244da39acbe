// The console's device actions: `devices.reboot` (a bulk call of system.reboot, one result per device),
// `devices.identify` (one device's system.identify) and `devices.watch` (the hub's event bus and the
// scheduler's job feed as a filtered stream). Filtering and the per-device outcome are pure functions.
import type { EventEmitter } from 'node:events';
import { SosnaError, toSosnaError } from '@sosna/protocol';
import type { DeviceTarget, IdentifyResult, RebootChunk, WatchEvent, WatchFilter } from '@sosna/protocol';
import type { HubEventBus } from '../events.js';
import type { JobRow, RunRow } from '../jobs/store.js';
import type { SchedulerFeed } from '../jobs/scheduler.js';
import type { DeviceRow, DeviceStore } from '../fleet/store.js';
import type { DeviceLinks } from '../fleet/device-links.js';
import type { Registry } from '../fleet/registry.js';
import { resolveTarget } from '../fleet/desired-config.js';

export const REBOOT_TIMEOUT_MS = 10_000;
const REBOOT_PARALLEL = 32;

/** A device's row in the result of a bulk reboot, from how its call ended. Pure. */
export function rebootOutcome(row: Pick<DeviceRow, 'id' | 'name'>, online: boolean, error: unknown): RebootChunk {
  if (!online) return { deviceId: row.id, name: row.name, status: 'offline', reason: 'offline: not rebooted (reboot is not kept for later)' };
  if (error === null) return { deviceId: row.id, name: row.name, status: 'ok', reason: null };
  const e = toSosnaError(error);
  // the device went away while asked: say so, it may be rebooting already or not at all
  const status = e.code === 'E_UNAVAILABLE' && /went offline/.test(e.message) ? 'offline' : 'failed';
  return { deviceId: row.id, name: row.name, status, reason: `${e.code}: ${e.message}` };
}

/** Whether a device's event passes the watch filter (any selector that is given must hold). Pure. */
export function deviceMatches(filter: Pick<WatchFilter, 'deviceId' | 'fleet' | 'tag'>, row: Pick<DeviceRow, 'id' | 'fleet' | 'tags'> | undefined): boolean {
  if (filter.deviceId === undefined && filter.fleet === undefined && filter.tag === undefined) return true;
  if (!row) return false;
  if (filter.deviceId !== undefined && row.id !== filter.deviceId) return false;
  if (filter.fleet !== undefined && row.fleet !== filter.fleet) return false;
  if (filter.tag !== undefined && !row.tags.includes(filter.tag)) return false;
  return true;
}

export function kindWanted(filter: Pick<WatchFilter, 'kinds'>, kind: WatchEvent['kind']): boolean {
  return !filter.kinds?.length || filter.kinds.includes(kind);
}

/** The job event of a job row and its runs; a device filter passes it when one of its runs' devices matches. Pure. */
export function jobEvent(job: Pick<JobRow, 'id' | 'state' | 'reason' | 'updatedAt'>, runs: Pick<RunRow, 'deviceId'>[]): Extract<WatchEvent, { kind: 'job' }> {
  return { kind: 'job', at: job.updatedAt, jobId: job.id, state: job.state, reason: job.reason, devices: [...new Set(runs.map((r) => r.deviceId))].sort() };
}

export interface DeviceActionsDeps {
  store: Pick<DeviceStore, 'getDevice' | 'listDevices'>;
  registry: Registry;
  links: DeviceLinks;
  events: HubEventBus;
  /** The scheduler's job feed and runs (absent: no job events). */
  jobs?: { feed: EventEmitter<SchedulerFeed>; runsOf(jobId: string): RunRow[] };
}

export function deviceActions(deps: DeviceActionsDeps) {
  const { store, registry, links, events } = deps;
  return {
    async reboot(target: DeviceTarget, opts: { timeoutMs?: number; signal?: AbortSignal; emit(c: RebootChunk): void }): Promise<void> {
      const rows = resolveTarget(store, target);
      let next = 0;
      const worker = async () => {
        while (next < rows.length && !opts.signal?.aborted) {
          const row = rows[next++]!;
          if (!registry.isOnline(row.id)) {
            opts.emit(rebootOutcome(row, false, null));
            continue;
          }
          const error = await links
            .call(row.id, 'system', 'reboot', {}, { timeoutMs: opts.timeoutMs ?? REBOOT_TIMEOUT_MS, signal: opts.signal })
            .then(() => null, (err: unknown) => err);
          opts.emit(rebootOutcome(row, true, error));
        }
      };
      await Promise.all(Array.from({ length: Math.min(REBOOT_PARALLEL, rows.length) }, worker));
    },

    async identify(deviceId: string, seconds: number, opts: { signal?: AbortSignal }): Promise<IdentifyResult> {
      const chunks = await links.call(deviceId, 'system', 'identify', { seconds }, { signal: opts.signal });
      const r = chunks[0] as IdentifyResult | undefined;
      if (!r) throw new SosnaError('E_BAD_FRAME', `device ${deviceId} answered identify with nothing`);
      return r;
    },

    /** Streams events until the caller cancels or maxSec passes. */
    watch(filter: WatchFilter, opts: { signal: AbortSignal; emit(e: WatchEvent): void }): Promise<void> {
      const device = (id: string) => store.getDevice(id);
      const onDevice = (kind: 'online' | 'offline', id: string) => {
        if (!kindWanted(filter, kind)) return;
        const row = device(id);
        if (!deviceMatches(filter, row)) return;
        const at = Date.now();
        opts.emit(kind === 'online' ? { kind, deviceId: id, name: row?.name ?? id, at, agentVersion: row?.agentVersion ?? null } : { kind, deviceId: id, name: row?.name ?? id, at });
      };
      const onOnline = (id: string) => onDevice('online', id);
      const onOffline = (id: string) => onDevice('offline', id);
      const onTelemetry = (id: string, metrics?: Record<string, number>) => {
        if (!kindWanted(filter, 'telemetry')) return;
        const row = device(id);
        if (!deviceMatches(filter, row)) return;
        opts.emit({ kind: 'telemetry', deviceId: id, name: row?.name ?? id, at: Date.now(), metrics: metrics ?? {} });
      };
      const onJob = (job: JobRow) => {
        if (!kindWanted(filter, 'job') || !deps.jobs) return;
        const ev = jobEvent(job, deps.jobs.runsOf(job.id));
        const filtered = filter.deviceId !== undefined || filter.fleet !== undefined || filter.tag !== undefined;
        if (filtered && !ev.devices.some((id) => deviceMatches(filter, device(id)))) return;
        opts.emit(ev);
      };
      events.on('online', onOnline);
      events.on('offline', onOffline);
      events.on('telemetry', onTelemetry);
      deps.jobs?.feed.on('job', onJob);
      return new Promise<void>((done) => {
        const finish = () => {
          clearTimeout(timer);
          events.off('online', onOnline);
          events.off('offline', onOffline);
          events.off('telemetry', onTelemetry);
          deps.jobs?.feed.off('job', onJob);
          opts.signal.removeEventListener('abort', finish);
          done();
        };
        const timer = setTimeout(finish, filter.maxSec * 1000);
        if (opts.signal.aborted) return finish();
        opts.signal.addEventListener('abort', finish, { once: true });
      });
    },
  };
}
