// Agent updates over the air: the signed release manifest, version order, the per-device rollout states,
// and the three services involved (see README "Agent updates over the air").
//   console -> hub   `updates`  upload, publish, status              (operators; publish needs admin)
//   hub -> device    `update`   offer(version), status                (the device decides)
//   device -> hub    `updates`  release(version), fetch(chunk), report (the device pulls and reports)
// A release is signed by the hub's update key (its address is in the owner-signed hub card) over the
// canonical text of {version, sha256, size}; the device checks the card, the signature, that the version
// is newer than its own, and the sha256 and size of what it downloaded.
import { z } from 'zod';
import { recoverSigner } from './announce.js';
import type { MessageSigner } from './announce.js';
import { EthAddress, HexSignature, HubCard, Id } from './messages.js';
import { defineService } from './rpc/service.js';
import { AgentVersion } from './versions.js';

export { VERSION_PATTERN, AgentVersion, compareVersions } from './versions.js';

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (sha256)');
/** The largest agent bundle a device accepts (today's is about 1.5 MB). */
export const MAX_BUNDLE_BYTES = 32 * 1024 * 1024;
/** Bytes per fetch call: fits the devices' default 256 KiB RPC payload with room for framing. */
export const UPDATE_CHUNK_BYTES = 192 * 1024;


export const ReleaseBody = z.object({ version: AgentVersion, sha256: Sha256Hex, size: z.number().int().positive().max(MAX_BUNDLE_BYTES) });
export type ReleaseBody = z.infer<typeof ReleaseBody>;
export const ReleaseManifest = ReleaseBody.extend({ signature: HexSignature });
export type ReleaseManifest = z.infer<typeof ReleaseManifest>;

const RELEASE_PREFIX = 'sosna agent release v1\n';

/** The exact text the update key signs (EIP-191 personal message): fixed prefix + canonical JSON. */
export function releaseMessage(body: ReleaseBody): string {
  const b = ReleaseBody.parse(body);
  return `${RELEASE_PREFIX}{"sha256":${JSON.stringify(b.sha256)},"size":${b.size},"version":${JSON.stringify(b.version)}}`;
}

export async function signRelease(body: ReleaseBody, signer: MessageSigner): Promise<ReleaseManifest> {
  const { version, sha256, size } = ReleaseBody.parse(body);
  return { version, sha256, size, signature: await signer.signMessage(releaseMessage({ version, sha256, size })) };
}

/** Checks that `updateKey` signed the manifest; the reason names the signer found otherwise. */
export function verifyRelease(manifest: ReleaseManifest, updateKey: string): { ok: true } | { ok: false; reason: string } {
  let signer: string;
  try {
    signer = recoverSigner(releaseMessage(manifest), manifest.signature);
  } catch (err) {
    return { ok: false, reason: `release signature does not parse: ${(err as Error).message}` };
  }
  if (signer.toLowerCase() !== updateKey.toLowerCase()) {
    return { ok: false, reason: `release ${manifest.version} is signed by ${signer}, not by the hub's update key ${updateKey.toLowerCase()}` };
  }
  return { ok: true };
}

/** Where one device stands in a rollout (the hub's record; the device reports the later ones). */
export const RolloutState = z.enum(['pending', 'offered', 'downloading', 'switched', 'healthy', 'rolled-back', 'refused', 'failed']);
export type RolloutState = z.infer<typeof RolloutState>;
/** What a device reports about a release. */
export const DeviceUpdateReport = z.enum(['downloading', 'switched', 'healthy', 'rolled-back', 'refused', 'failed']);
export type DeviceUpdateReport = z.infer<typeof DeviceUpdateReport>;

const Reason = z.string().max(1000);
/** Raw bytes (msgpack bin): a Buffer or any Uint8Array. */
const Bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes');

/** Offered by every device (agent 0.1.0 and later) on its rpc/in. */
export const deviceUpdateService = defineService('update', {
  /** The hub says that a release is there; the device fetches and checks it, then accepts or refuses. */
  offer: {
    params: z.object({ version: AgentVersion }),
    result: z.object({ accepted: z.boolean(), reason: Reason.optional() }),
  },
  status: {
    params: z.object({}),
    result: z.object({
      running: z.string(),
      busy: z.string().nullable(),
      current: z.string().nullable(),
      previous: z.string().nullable(),
      trial: z.object({ version: z.string(), attempts: z.number(), deadline: z.number().nullable() }).nullable(),
      failed: z.array(z.object({ version: z.string(), reason: z.string(), at: z.number() })),
    }),
  },
});

/** Offered by the hub to devices (on dev/{id}/rpc/out, odd channels). */
export const hubUpdatesService = defineService('updates', {
  /** The signed manifest of a published release, with the hub card that names the update key. */
  release: {
    params: z.object({ version: AgentVersion }),
    result: z.object({ card: HubCard, manifest: ReleaseManifest, healthDeadlineSec: z.number().int().positive() }),
  },
  fetch: {
    params: z.object({ version: AgentVersion, offset: z.number().int().nonnegative(), length: z.number().int().positive().max(UPDATE_CHUNK_BYTES) }),
    result: z.object({ data: Bytes }),
  },
  report: {
    params: z.object({ version: AgentVersion, state: DeviceUpdateReport, reason: Reason.optional(), running: z.string().max(64) }),
    result: z.object({ state: RolloutState.nullable() }),
  },
});

export const RolloutTarget = z
  .object({
    tag: z.string().min(1).max(64).optional(),
    fleet: z.string().min(1).max(64).optional(),
    /** A stable share of the (tag/fleet-filtered) devices: the same devices at 10 % stay in at 50 %. */
    percent: z.number().min(0).max(100).optional(),
    deviceId: Id.optional(),
  })
  .strict();
export type RolloutTarget = z.infer<typeof RolloutTarget>;

export const RolloutRow = z.object({
  version: z.string(),
  deviceId: z.string(),
  name: z.string().nullable(),
  online: z.boolean(),
  agentVersion: z.string().nullable(),
  state: RolloutState,
  reason: z.string().nullable(),
  updatedAt: z.number(),
});
export type RolloutRow = z.infer<typeof RolloutRow>;

export const ReleaseSummary = z.object({ version: z.string(), sha256: z.string(), size: z.number(), signer: z.string(), createdAt: z.number(), healthDeadlineSec: z.number() });
export type ReleaseSummary = z.infer<typeof ReleaseSummary>;

/** The hub's operator service for updates, on console/{operator}/rpc/in. */
export const updatesService = defineService('updates', {
  /** Appends a piece of a bundle to the hub's upload for `version` (offset 0 starts over). */
  upload: {
    params: z.object({ version: AgentVersion, offset: z.number().int().nonnegative(), data: Bytes }),
    result: z.object({ received: z.number() }),
  },
  /** Signs the uploaded bundle (or takes a signature made elsewhere) and rolls it out to the target. */
  publish: {
    params: z.object({
      version: AgentVersion,
      sha256: Sha256Hex,
      size: z.number().int().positive().max(MAX_BUNDLE_BYTES),
      target: RolloutTarget,
      /** A signature made offline with the update key; without it the hub signs with its own. */
      signature: HexSignature.optional(),
      healthDeadlineSec: z.number().int().min(5).max(86_400).optional(),
    }),
    result: z.object({ release: ReleaseSummary, targeted: z.array(z.string()), added: z.number(), offered: z.number() }),
  },
  status: {
    params: z.object({ version: AgentVersion.optional() }),
    result: z.object({ releases: z.array(ReleaseSummary), devices: z.array(RolloutRow), updateKey: EthAddress }),
  },
});
