// Signing and checking the hub card. The signed text is canonical JSON of the card body (keys sorted),
// behind a fixed prefix, signed as an EIP-191 personal message by the hub owner's key.
// Verification uses @noble/curves directly (the curve code ethers itself uses) so that the agent bundle
// carries no ethers; signing stays with whatever signer the hub has (an ethers Wallet).
import { secp256k1 } from '@noble/curves/secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { HubCard, HubCardBody } from './messages.js';
import { describeIssues } from './validate.js';

const PREFIX = 'sosna hub card v1\n';

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function hubCardMessage(body: HubCardBody): string {
  return PREFIX + canonical(HubCardBody.parse(body));
}

/** Anything that signs EIP-191 personal messages (an ethers Wallet does). */
export interface MessageSigner {
  signMessage(message: string): Promise<string>;
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The EIP-191 hash of a personal message: keccak256("\x19Ethereum Signed Message:\n" + len + message). */
export function personalMessageHash(message: string): Uint8Array {
  const body = utf8(message);
  const prefix = utf8(`\x19Ethereum Signed Message:\n${body.length}`);
  const all = new Uint8Array(prefix.length + body.length);
  all.set(prefix);
  all.set(body, prefix.length);
  return keccak_256(all);
}

/** The address (lower case) whose key made a 65-byte r|s|v signature over the message; throws if invalid. */
export function recoverSigner(message: string, signature: string): string {
  const m = /^0x([0-9a-fA-F]{130})$/.exec(signature);
  if (!m) throw new Error('signature must be 65 bytes of 0x-hex');
  const bytes = Uint8Array.from(m[1]!.match(/../g)!.map((h) => parseInt(h, 16)));
  const v = bytes[64]!;
  const recovery = v >= 27 ? v - 27 : v;
  if (recovery !== 0 && recovery !== 1) throw new Error(`bad recovery byte ${v}`);
  const sig = secp256k1.Signature.fromCompact(bytes.subarray(0, 64)).addRecoveryBit(recovery);
  const pub = sig.recoverPublicKey(personalMessageHash(message)).toRawBytes(false);
  return `0x${hex(keccak_256(pub.subarray(1)).subarray(12))}`;
}

export async function signHubCard(body: HubCardBody, signer: MessageSigner): Promise<HubCard> {
  const signature = await signer.signMessage(hubCardMessage(body));
  return { ...body, signature };
}

export type CardCheck = { ok: true; card: HubCard } | { ok: false; reason: string };

/** Checks shape and signature; `expectedOwner`, when given, pins the owner address. */
export function verifyHubCard(value: unknown, expectedOwner?: string): CardCheck {
  const parsed = HubCard.safeParse(value);
  if (!parsed.success) return { ok: false, reason: `malformed hub card: ${describeIssues(parsed.error)}` };
  const { signature, ...body } = parsed.data;
  let signer: string;
  try {
    signer = recoverSigner(hubCardMessage(body), signature);
  } catch (err) {
    return { ok: false, reason: `hub card signature does not parse: ${(err as Error).message}` };
  }
  if (signer.toLowerCase() !== body.owner.toLowerCase()) {
    return { ok: false, reason: `hub card signed by ${signer}, not by its owner ${body.owner}` };
  }
  if (expectedOwner && expectedOwner.toLowerCase() !== body.owner.toLowerCase()) {
    return { ok: false, reason: `hub owner ${body.owner} is not the expected ${expectedOwner}` };
  }
  return { ok: true, card: parsed.data };
}
