// The RPC services of sosna endpoints, as the single source of their params and result types.
import { z } from 'zod';
import { defineService } from './rpc/service.js';
import { BasicInventory, Id } from './messages.js';
import { DesiredConfigState, DeviceTarget, SetConfigChunk } from './desired-config.js';
import { IDENTIFY_MAX_SEC, IdentifyResult, RebootChunk, WatchEvent, WatchFilter } from './device-actions.js';

/** Offered by every device. */
export const systemService = defineService('system', {
  info: {
    params: z.object({}),
    result: z.object({
      deviceId: z.string(),
      name: z.string(),
      agentVersion: z.string(),
      uptimeSec: z.number().nonnegative(),
      node: z.string(),
      inventory: BasicInventory,
    }),
  },
  ping: {
    params: z.object({ echo: z.string().max(1024).optional() }),
    result: z.object({ echo: z.string().optional(), at: z.number() }),
  },
});

/** The `system` service as the sosna agent offers it: systemService's methods plus reboot and identify. */
export const agentSystemService = defineService('system', {
  ...systemService.methods,
  /** Answers, then runs the configured reboot command (`system.rebootCommand` in the device config). */
  reboot: {
    params: z.object({}),
    result: z.object({ command: z.array(z.string()), inMs: z.number().int().nonnegative() }),
  },
  /** Blinks an LED for some seconds where the board has one the agent can drive; says why not otherwise. */
  identify: {
    params: z.object({ seconds: z.number().int().min(1).max(IDENTIFY_MAX_SEC).default(15) }),
    result: IdentifyResult,
  },
});

/** Offered by the hub on provision/{session}/rpc/in to clients that authenticated with a provisioning key. */
export const provisionService = defineService('provision', {
  register: {
    params: z.object({
      /** The whole provisioning key `keyId.secret`, re-checked by the hub whatever broker is in front. */
      key: z.string().min(3).max(256),
      /** Chosen once by the device and kept across retries, so a retry never creates a second device. */
      nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be 16-64 url-safe characters'),
      name: z.string().min(1).max(128),
      /** The tags in the device's config (its owner's input, e.g. from the fleet CSV); the hub records them. */
      tags: z.array(z.string().regex(/^[A-Za-z0-9._:=-]{1,64}$/)).max(64).optional(),
      /** The device key (`ed25519:...`, protocol/src/receipts.ts); the hub records it with the new device. */
      publicKey: z.string().regex(/^ed25519:[A-Za-z0-9_-]{43}$/, 'must be ed25519: and 43 base64url characters').optional(),
    }),
    result: z.object({ hubId: Id, deviceId: Id, username: z.string(), password: z.string() }),
  },
});

export const DeviceSummary = z.object({
  id: Id,
  name: z.string(),
  fleet: z.string().nullable(),
  tags: z.array(z.string()),
  online: z.boolean(),
  firstSeen: z.number().nullable(),
  lastSeen: z.number().nullable(),
  agentVersion: z.string().nullable(),
  inventory: z.record(z.string(), z.unknown()).nullable(),
  telemetry: z.record(z.string(), z.number()).nullable(),
  telemetryAt: z.number().nullable(),
  /** The device refused this hub on its last connection (trust check failed), with its reason; absent otherwise. */
  refused: z.object({ reason: z.string(), at: z.number() }).nullable().optional(),
  /** The desired config the hub holds for the device and whether the device applied it. */
  config: DesiredConfigState.nullable().optional(),
});
export type DeviceSummary = z.infer<typeof DeviceSummary>;

export const DeviceFilter = z.object({
  fleet: z.string().max(64).optional(),
  tag: z.string().max(64).optional(),
  online: z.boolean().optional(),
  /** Devices that have a component of this class (every device has a cpu). */
  class: z.enum(['cpu', 'gpu', 'asic', 'board']).optional(),
  /** At least one GPU with this much memory (bytes). */
  gpuVramMin: z.number().int().nonnegative().optional(),
  gpuVendor: z.enum(['nvidia', 'amd', 'intel']).optional(),
  /** Node-style CPU architecture: x64, arm64, arm. */
  arch: z.string().max(32).optional(),
  /** A matched hardware profile id (e.g. nvidia-rtx-40, antminer-s19). */
  profile: z.string().max(64).optional(),
  /** Capability benchmark minimums, e.g. {"cpu.sha256.multi.MBps": 500}. */
  benchMin: z.record(z.string().max(64), z.number()).optional(),
});
export type DeviceFilter = z.infer<typeof DeviceFilter>;

/** The hub's operator services, on console/{operator}/rpc/in. */
export const devicesService = defineService('devices', {
  list: {
    params: DeviceFilter,
    result: z.object({ devices: z.array(DeviceSummary) }),
  },
  show: {
    params: z.object({ deviceId: Id }),
    result: DeviceSummary,
  },
  /** Forwards one call to a device's service and streams back whatever the device answers. */
  call: {
    params: z.object({
      deviceId: Id,
      service: z.string().min(1).max(128),
      method: z.string().min(1).max(128),
      params: z.unknown().optional(),
      timeoutMs: z.number().int().positive().max(600_000).optional(),
    }),
    result: z.unknown(),
    streaming: true,
  },
  /** Sets config values on the targeted devices (retained desired state); streams progress, then a result per device. */
  set: {
    params: z.object({
      target: DeviceTarget,
      values: z.record(z.string().max(128), z.unknown()),
      /** How long to wait for online devices to report (ms); those that do not are `pending`. */
      waitMs: z.number().int().nonnegative().max(600_000).optional(),
    }),
    result: SetConfigChunk,
    streaming: true,
  },
  /** Adds and removes tags on the targeted devices. */
  tag: {
    params: z.object({ target: DeviceTarget, add: z.array(Id).max(64).default([]), remove: z.array(Id).max(64).default([]) }),
    result: z.object({ devices: z.array(z.object({ deviceId: Id, tags: z.array(z.string()) })) }),
  },
  /** Asks each targeted device to reboot; streams one result per device (ok, offline or failed with the reason). */
  reboot: {
    params: z.object({ target: DeviceTarget, timeoutMs: z.number().int().positive().max(120_000).optional() }),
    result: RebootChunk,
    streaming: true,
  },
  /** Asks one device to blink an LED; the answer says whether it can and how to find the device. */
  identify: {
    params: z.object({ deviceId: Id, seconds: z.number().int().min(1).max(IDENTIFY_MAX_SEC).default(15) }),
    result: IdentifyResult,
  },
  /** Live births, deaths, telemetry and job events, filtered; streams until cancelled or `maxSec` passes. */
  watch: {
    params: WatchFilter,
    result: WatchEvent,
    streaming: true,
  },
});

export const hubService = defineService('hub', {
  info: {
    params: z.object({}),
    result: z.object({
      hubId: Id,
      name: z.string(),
      owner: z.string(),
      version: z.string(),
      devices: z.object({ total: z.number(), online: z.number() }),
      /** MQTT connections the broker holds now (devices, consoles, provisioning sessions). */
      connections: z.number().optional(),
    }),
  },
});
