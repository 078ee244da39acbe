// Device actions of the console (`sosna console devices reboot|identify|watch`): what a device answers to
// identify, and the chunks the hub's `devices` service streams back (services.ts puts them in the services).
import { z } from 'zod';
import { Id, Millis } from './messages.js';

export const IdentifyResult = z.object({
  /** The device blinks an LED now (true), or cannot (false, with the reason). */
  supported: z.boolean(),
  reason: z.string().nullable(),
  /** The LED it blinks (its sysfs name), e.g. ACT. */
  led: z.string().nullable(),
  seconds: z.number().int().nonnegative(),
  /** So a person can find the device: its name, host name and addresses. */
  name: z.string(),
  hostname: z.string(),
  addresses: z.array(z.string()).max(64),
});
export type IdentifyResult = z.infer<typeof IdentifyResult>;

export const IDENTIFY_MAX_SEC = 600;

/** One device's outcome of a bulk reboot. */
export const RebootChunk = z.object({
  deviceId: Id,
  name: z.string(),
  status: z.enum(['ok', 'offline', 'failed']),
  reason: z.string().nullable(),
});
export type RebootChunk = z.infer<typeof RebootChunk>;

/** Which events `devices.watch` streams: any of the selectors, all of them when none is given. */
export const WatchFilter = z.object({
  deviceId: Id.optional(),
  fleet: z.string().max(64).optional(),
  tag: z.string().max(64).optional(),
  /** Event kinds to stream (default: all). */
  kinds: z.array(z.enum(['online', 'offline', 'telemetry', 'job'])).max(4).optional(),
  /** The hub ends the stream after this long (the console opens it again), so a console that vanished without a word costs nothing for long. */
  maxSec: z.number().int().min(1).max(3600).default(600),
});
export type WatchFilter = z.infer<typeof WatchFilter>;

const DeviceRef = { deviceId: Id, name: z.string(), at: Millis };
export const WatchEvent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('online'), ...DeviceRef, agentVersion: z.string().nullable() }),
  z.object({ kind: z.literal('offline'), ...DeviceRef }),
  z.object({ kind: z.literal('telemetry'), ...DeviceRef, metrics: z.record(z.string(), z.number()) }),
  z.object({
    kind: z.literal('job'), at: Millis, jobId: z.string(), state: z.string(), reason: z.string().nullable(),
    /** The devices the job's runs are on (empty while it waits in the queue). */
    devices: z.array(Id),
  }),
]);
export type WatchEvent = z.infer<typeof WatchEvent>;
