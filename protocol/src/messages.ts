// Every message that crosses MQTT outside of RPC, defined once: the schema is the runtime check and its
// inferred type the static one. Fields only ever get added (optional) within v1; golden fixtures in
// protocol/fixtures/v1 keep old encodings decoding.
import { z } from 'zod';
import { ID_PATTERN } from './topics.js';

export const Id = z.string().regex(ID_PATTERN, 'must be 1-64 chars of letters, digits, ".", "_", "-"');
export const EthAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');
export const HexSignature = z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte 0x-hex signature');
export const Millis = z.number().int().nonnegative();

/** The hub card, retained on sosna/v1/hubs/{hubId}/announce, signed by the hub owner's Ethereum key. */
export const HubCardBody = z.object({
  v: z.literal(1),
  hubId: Id,
  name: z.string().min(1).max(128),
  endpoints: z.array(z.string().min(1).max(256)).max(16),
  owner: EthAddress,
  wallet: EthAddress.optional(),
  chainId: z.number().int().positive().optional(),
  prices: z.record(z.string(), z.string().regex(/^\d+$/, 'must be a decimal integer (token wei)')).optional(),
  /** The hub's update key: agents install only agent bundles signed by it (see updates.ts). */
  updateKey: EthAddress.optional(),
  issuedAt: Millis,
});
export type HubCardBody = z.infer<typeof HubCardBody>;
export const HubCard = HubCardBody.extend({ signature: HexSignature });
export type HubCard = z.infer<typeof HubCard>;

/** Basic inventory published in the birth message; hardware detection adds fields (loose for that reason). */
export const BasicInventory = z.looseObject({
  hostname: z.string().max(255),
  platform: z.string().max(64),
  arch: z.string().max(64),
  os: z.looseObject({ distro: z.string().max(128), release: z.string().max(128), kernel: z.string().max(128) }),
  cpu: z.looseObject({
    manufacturer: z.string().max(128),
    brand: z.string().max(256),
    cores: z.number().int().nonnegative(),
    physicalCores: z.number().int().nonnegative(),
    speedGHz: z.number().nonnegative(),
  }),
  memory: z.looseObject({ totalBytes: z.number().nonnegative() }),
});
export type BasicInventory = z.infer<typeof BasicInventory>;

/** The device's local dashboard as its agent serves it: the port, and with HTTPS its certificate's fingerprint. */
export const DashboardInfo = z.looseObject({
  port: z.number().int().min(1).max(65_535),
  https: z.boolean(),
  /** SHA-256 of the self-signed certificate, `AB:CD:...` as browsers show it: compare before trusting it. */
  certSha256: z.string().regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/).optional(),
});
export type DashboardInfo = z.infer<typeof DashboardInfo>;

/** Retained on dev/{id}/state: `online` birth after connecting, `offline` as the MQTT Will or on shutdown. */
export const DeviceOnline = z.object({
  v: z.literal(1),
  status: z.literal('online'),
  at: Millis,
  agentVersion: z.string().max(64),
  name: z.string().max(128),
  inventory: BasicInventory,
  /** Full hardware inventory (see hardware.ts), loose so that newer agents never break older hubs. */
  hardware: z.record(z.string(), z.unknown()).optional(),
  /** The device owner's address: where its earnings are paid (from the device config). */
  owner: EthAddress.optional(),
  /** Matched hardware profiles: component -> profile id, with the reason. */
  profiles: z.array(z.looseObject({ component: z.string(), profileId: z.string(), reason: z.string().optional() })).max(1200).optional(),
  benchmarks: z.record(z.string(), z.number()).optional(),
  /** Its local dashboard, when it runs one (absent: off or not started yet; a new birth follows its start). */
  dashboard: DashboardInfo.optional(),
  /** What the device offers for jobs: its container engine (null: none reachable), ask price and capacity. */
  jobs: z
    .looseObject({
      engine: z.looseObject({ name: z.string().max(64), version: z.string().max(64), apiVersion: z.string().max(16) }).nullable(),
      /** Ask: the least the owner takes per second of running, token wei as a decimal string. */
      askPerSec: z.string().regex(/^\d{1,78}$/),
      capacity: z.looseObject({ cpus: z.number().nonnegative(), memoryBytes: z.number().nonnegative(), jobs: z.number().int().nonnegative() }),
    })
    .optional(),
});
export const DeviceOffline = z.object({
  v: z.literal(1),
  status: z.literal('offline'),
  at: Millis,
  reason: z.enum(['will', 'shutdown']),
});
/**
 * Retained on dev/{id}/state when the device refuses to work for this hub: its trust check on connecting
 * failed (card signature, Whitelist, wallet state or funds; see agent/src/trust). The device takes no jobs,
 * disconnects, and checks again on its next connection (with backoff).
 */
export const DeviceRefused = z.object({
  v: z.literal(1),
  status: z.literal('refused'),
  at: Millis,
  reason: z.string().min(1).max(2000),
});
export const DeviceState = z.discriminatedUnion('status', [DeviceOnline, DeviceOffline, DeviceRefused]);
export type DeviceRefused = z.infer<typeof DeviceRefused>;
export type DeviceOnline = z.infer<typeof DeviceOnline>;
export type DeviceOffline = z.infer<typeof DeviceOffline>;
export type DeviceState = z.infer<typeof DeviceState>;

/** Periodic metrics, reported by exception: `full` snapshots replace, partial ones patch. */
export const Telemetry = z.object({
  v: z.literal(1),
  at: Millis,
  seq: z.number().int().nonnegative(),
  full: z.boolean(),
  metrics: z.record(z.string().max(128), z.number()),
});
export type Telemetry = z.infer<typeof Telemetry>;
