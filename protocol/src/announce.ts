// Signing and checking the hub card. The signed text is canonical JSON of the card body (keys sorted),
// behind a fixed prefix, signed as an EIP-191 personal message by the hub owner's key.
import { verifyMessage } from 'ethers';
import type { Signer } from 'ethers';
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

export async function signHubCard(body: HubCardBody, signer: Signer): Promise<HubCard> {
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
    signer = verifyMessage(hubCardMessage(body), signature);
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
