// Device keys and run receipts (see docs/architecture.md "Device keys and receipts").
//
// Each device holds an Ed25519 key pair (agent/src/device-key.ts); the hub records the public key once and
// vouches for the binding (hub id, device id, key) with its owner key (EIP-191, like the hub card). For each
// finished run the device signs a receipt. What is signed is the canonical JSON of the sha256 of every
// field's canonical JSON (`receiptDigests`): the signature covers every field, and a verifier that holds
// the signed digests names the field that was changed after signing.
//
// An exported receipt file (`ReceiptFile`) is self-contained: the receipt, the device's signature, the
// signed digests and the hub's signed key binding. `verifyReceiptFile` checks it offline: the device key
// signed the receipt, the hub owner vouched for that key as the device's registered key, and (when the
// caller pins them) the key and the hub owner are the ones the buyer expects.
import { createHash, createPublicKey, sign as edSign, verify as edVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { recoverSigner } from './announce.js';
import type { MessageSigner } from './announce.js';
import { SosnaError } from './errors.js';
import { Id, Millis } from './messages.js';
import { defineService } from './rpc/service.js';
import { ResultDigest, Sha256Digest } from './jobs.js';
import { describeIssues } from './validate.js';

/** Canonical JSON: object keys sorted, undefined members left out, no spaces. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------------
// Device keys

/** An Ed25519 public key as `ed25519:` + base64url of its 32 raw bytes. */
export const DevicePublicKey = z.string().regex(/^ed25519:[A-Za-z0-9_-]{43}$/, 'must be ed25519: and 43 base64url characters (32 bytes)');
export type DevicePublicKey = z.infer<typeof DevicePublicKey>;
const Ed25519Signature = z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'must be 86 base64url characters (a 64-byte Ed25519 signature)');
const EthSignature = z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be 65 bytes of 0x-hex');
const Address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x address');

/** The hub's statement that `publicKey` is the registered key of `deviceId` since `registeredAt`. */
export const KeyBindingBody = z.strictObject({ v: z.literal(1), hubId: Id, deviceId: Id, publicKey: DevicePublicKey, registeredAt: Millis });
export type KeyBindingBody = z.infer<typeof KeyBindingBody>;
export const KeyBinding = KeyBindingBody.extend({ hubOwner: Address, hubSignature: EthSignature });
export type KeyBinding = z.infer<typeof KeyBinding>;

export const keyBindingMessage = (b: KeyBindingBody): string => `sosna device key v1\n${canonicalJson(KeyBindingBody.parse(b))}`;

export async function signKeyBinding(body: KeyBindingBody, signer: MessageSigner & { getAddress(): Promise<string> }): Promise<KeyBinding> {
  return { ...body, hubOwner: await signer.getAddress(), hubSignature: await signer.signMessage(keyBindingMessage(body)) };
}

/** The address that signed a binding (lower case); throws when the signature does not parse. */
export function keyBindingSigner(b: KeyBinding): string {
  const { hubOwner: _o, hubSignature, ...body } = b;
  return recoverSigner(keyBindingMessage(body), hubSignature);
}

/** A key's short fingerprint for people: the first 16 hex digits of sha256 of its raw bytes. */
export function keyFingerprint(publicKey: string): string {
  return createHash('sha256').update(rawKey(publicKey)).digest('hex').slice(0, 16);
}

function rawKey(publicKey: string): Buffer {
  return Buffer.from(publicKey.slice('ed25519:'.length), 'base64url');
}

function publicKeyObject(publicKey: string) {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.slice('ed25519:'.length) }, format: 'jwk' });
}

// ---------------------------------------------------------------------------------------------------
// Receipts

export const RECEIPT_FIELDS = ['v', 'jobId', 'runId', 'deviceId', 'image', 'imageId', 'repoDigests', 'inputHash', 'outputDigest', 'exitCode', 'billedSeconds', 'finishedAt'] as const;

export const Receipt = z.strictObject({
  v: z.literal(1),
  jobId: Id,
  runId: Id,
  deviceId: Id,
  /** The image reference the job named. */
  image: z.string().min(1).max(255),
  /** The image as the engine reports it: `docker image inspect` Id (the config digest)... */
  imageId: Sha256Digest,
  /** ... and its RepoDigests (name@sha256:..., empty for an image that was never pushed or pulled). */
  repoDigests: z.array(z.string().max(512)).max(32),
  /**
   * The run's input: `btih:` and the info hash of the job input's torrent (BitTorrent v1: sha1 of the info
   * dictionary, which holds every file's name, size and piece hashes, so it names the bytes); null when
   * the job has no input. `sosna verify --input` pins it.
   */
  inputHash: z.string().regex(/^btih:[0-9a-f]{40}$/, 'must be btih: and 40 hex digits').nullable(),
  /** The run's reported output digest: sha256 of stdout or the output archive, or btih: of the output torrent (null: none, e.g. it failed). */
  outputDigest: ResultDigest.nullable(),
  exitCode: z.number().int().nullable(),
  /** Seconds of running the run bills (engine clock, whole seconds rounded up, at most the duration limit). */
  billedSeconds: z.number().int().nonnegative(),
  finishedAt: Millis,
});
export type Receipt = z.infer<typeof Receipt>;

export const SignedReceipt = z.strictObject({ receipt: Receipt, publicKey: DevicePublicKey, signature: Ed25519Signature });
export type SignedReceipt = z.infer<typeof SignedReceipt>;

/** The billed seconds of a run: ceil(runtime), at most the duration limit (the hub's verdict.ts billedSeconds). */
export function runBilledSeconds(runtimeMs: number | null | undefined, timeoutSec: number): number {
  if (!runtimeMs || runtimeMs <= 0) return 0;
  return Math.min(Math.ceil(runtimeMs / 1000), timeoutSec);
}

/** sha256 (hex) of each field's canonical JSON. */
export function receiptDigests(r: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort()) out[k] = createHash('sha256').update(canonicalJson(r[k])).digest('hex');
  return out;
}

/** The bytes a device signs for a receipt. */
export const receiptMessage = (digests: Record<string, string>): Buffer => Buffer.from(`sosna receipt v1\n${canonicalJson(digests)}`, 'utf8');

/** Whether `signature` over the receipt's digests verifies with `publicKey` (false for malformed keys or signatures). */
export function checkSignature(digests: Record<string, string>, publicKey: string, signature: string): boolean {
  try {
    return edVerify(null, receiptMessage(digests), publicKeyObject(publicKey), Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** Signs a receipt with a device's private key (an Ed25519 KeyObject). */
export function signReceipt(receipt: Receipt, privateKey: KeyObject, publicKey: string): SignedReceipt {
  const signature = edSign(null, receiptMessage(receiptDigests(receipt)), privateKey).toString('base64url');
  return { receipt, publicKey, signature };
}

/** The `ed25519:...` text of a public KeyObject. */
export function publicKeyText(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' }) as { crv?: string; x?: string };
  if (jwk.crv !== 'Ed25519' || !jwk.x) throw new Error('not an Ed25519 key');
  return `ed25519:${jwk.x}`;
}

export function verifySignedReceipt(s: SignedReceipt): boolean {
  return checkSignature(receiptDigests(s.receipt), s.publicKey, s.signature);
}

// ---------------------------------------------------------------------------------------------------
// The exported file

export const RECEIPT_FORMAT = 'sosna-receipt/1';

export const ReceiptFile = z.strictObject({
  format: z.literal(RECEIPT_FORMAT),
  receipt: Receipt,
  /** The device's Ed25519 signature (base64url) over `receiptMessage(signedDigests)`. */
  signature: Ed25519Signature,
  /** What the device signed: sha256 of each field (lets a verifier name a field changed after signing). */
  signedDigests: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
  /** The hub's signed statement that this key is the device's registered key. */
  deviceKey: KeyBinding,
});
export type ReceiptFile = z.infer<typeof ReceiptFile>;

export function receiptFile(s: SignedReceipt, binding: KeyBinding): ReceiptFile {
  return { format: RECEIPT_FORMAT, receipt: s.receipt, signature: s.signature, signedDigests: receiptDigests(s.receipt), deviceKey: binding };
}

export interface VerifyPins {
  /** The device key the buyer got from the hub (`sosna console devices key DEVICE`). */
  key?: string;
  /** The hub owner address the buyer trusts (the hub card's owner). */
  hubOwner?: string;
  /** The input the buyer submitted, `btih:` and its torrent's info hash: the receipt must name it. */
  inputHash?: string;
}

export type ReceiptCheck =
  | { ok: true; receipt: Receipt; publicKey: string; hubOwner: string; hubId: string; pinned: { key: boolean; hubOwner: boolean; inputHash: boolean } }
  | { ok: false; kind: 'malformed' | 'tampered' | 'bad-signature' | 'wrong-key' | 'bad-binding' | 'wrong-input'; field?: string; reason: string };

/**
 * Checks a receipt file offline. Order: shape (names the field), the hub's key binding (signed by the
 * owner it names, for the receipt's device, the pinned owner), the pinned key, then the device signature:
 * over the receipt as it is (ok), else over the signed digests (then the fields whose value differs are
 * named), else a bad signature.
 */
export function verifyReceiptFile(value: unknown, pins: VerifyPins = {}): ReceiptCheck {
  const parsed = ReceiptFile.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, kind: 'malformed', field: issue.path.map(String).join('.') || '(root)', reason: describeIssues(parsed.error) };
  }
  const f = parsed.data;
  const b = f.deviceKey;
  let signer: string;
  try {
    signer = keyBindingSigner(b);
  } catch (err) {
    return { ok: false, kind: 'bad-binding', field: 'deviceKey.hubSignature', reason: `the hub's signature on the device key does not parse: ${(err as Error).message}` };
  }
  if (signer !== b.hubOwner.toLowerCase()) {
    return { ok: false, kind: 'bad-binding', field: 'deviceKey', reason: `the device key binding is not signed by the hub owner it names (${b.hubOwner}; signed by ${signer}): it was changed or forged` };
  }
  if (pins.hubOwner && pins.hubOwner.toLowerCase() !== signer) {
    return { ok: false, kind: 'wrong-key', field: 'deviceKey.hubOwner', reason: `the device key is vouched for by hub owner ${b.hubOwner}, not by ${pins.hubOwner} (--hub-owner)` };
  }
  if (b.deviceId !== f.receipt.deviceId) {
    return { ok: false, kind: 'wrong-key', field: 'deviceKey.deviceId', reason: `the key in this file is registered to device ${b.deviceId}, but the receipt is device ${f.receipt.deviceId}'s` };
  }
  if (pins.key && pins.key !== b.publicKey) {
    return { ok: false, kind: 'wrong-key', field: 'deviceKey.publicKey', reason: `wrong key: the receipt names device key ${b.publicKey} (${keyFingerprint(b.publicKey)}), not the key given (${pins.key})` };
  }
  const digests = receiptDigests(f.receipt);
  if (checkSignature(digests, b.publicKey, f.signature)) {
    if (pins.inputHash !== undefined && f.receipt.inputHash !== pins.inputHash) {
      return {
        ok: false, kind: 'wrong-input', field: 'inputHash',
        reason: `wrong input: device ${b.deviceId} signed that its run's input was ${f.receipt.inputHash ?? 'none'}, not ${pins.inputHash} (--input)`,
      };
    }
    return { ok: true, receipt: f.receipt, publicKey: b.publicKey, hubOwner: b.hubOwner, hubId: b.hubId, pinned: { key: !!pins.key, hubOwner: !!pins.hubOwner, inputHash: pins.inputHash !== undefined } };
  }
  if (checkSignature(f.signedDigests, b.publicKey, f.signature)) {
    const changed = [...new Set([...Object.keys(digests), ...Object.keys(f.signedDigests)])].filter((k) => digests[k] !== f.signedDigests[k]).sort();
    const shown = changed.map((k) => `${k} (now ${canonicalJson((f.receipt as Record<string, unknown>)[k])})`).join(', ');
    return { ok: false, kind: 'tampered', field: changed[0]!, reason: `tampered field${changed.length > 1 ? 's' : ''} ${shown}: not the value${changed.length > 1 ? 's' : ''} device ${b.deviceId} signed` };
  }
  return {
    ok: false, kind: 'bad-signature', field: 'signature',
    reason: `bad signature: the receipt was not signed by device ${b.deviceId}'s registered key ${b.publicKey} (${keyFingerprint(b.publicKey)}): another key signed it, or the signature or the signed digests were changed`,
  };
}

// ---------------------------------------------------------------------------------------------------
// Services

/** device -> hub: register this device's public key (idempotent; a different key than the registered one is refused). */
export const hubDeviceKeyService = defineService('deviceKey', {
  register: {
    params: z.object({ publicKey: DevicePublicKey }),
    result: z.object({ status: z.enum(['registered', 'known']), registeredAt: Millis }),
  },
});

export const DeviceKeyInfo = z.object({
  deviceId: Id,
  /** The registered key, or null when the device has not registered one (or an admin cleared it). */
  binding: KeyBinding.nullable(),
  fingerprint: z.string().nullable(),
  /** Keys an admin cleared, newest first (receipts signed with them still verify against their binding). */
  previous: z.array(KeyBinding.extend({ clearedAt: Millis, clearedBy: z.string() })),
  /** A different key the device presented and the hub refused (null: none since the last registration). */
  refused: z.object({ publicKey: DevicePublicKey, at: Millis }).nullable(),
});
export type DeviceKeyInfo = z.infer<typeof DeviceKeyInfo>;

export const ReceiptEntry = z.object({ receipt: Receipt, signature: Ed25519Signature, deviceKey: KeyBinding, receivedAt: Millis });
export type ReceiptEntry = z.infer<typeof ReceiptEntry>;

/** console -> hub. */
export const receiptsService = defineService('receipts', {
  /** The receipts of a job's runs (only its submitter or an admin). */
  list: { params: z.object({ jobId: Id }), result: z.object({ jobId: Id, receipts: z.array(ReceiptEntry) }) },
  /** A device's registered key and the hub's signed binding. */
  deviceKey: { params: z.object({ deviceId: Id }), result: DeviceKeyInfo },
  /** Admin: forget a device's registered key (kept as previous) so that its next connection registers a new one. */
  clearDeviceKey: { params: z.object({ deviceId: Id, reason: z.string().max(256).optional() }), result: DeviceKeyInfo },
});

export function receiptError(check: Extract<ReceiptCheck, { ok: false }>, file: string): SosnaError {
  return new SosnaError('E_INVALID', `${file}: ${check.kind === 'malformed' ? `malformed receipt file: ${check.reason}` : check.reason}`, { kind: check.kind, field: check.field });
}
