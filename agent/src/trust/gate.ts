// The trust check on every connection to the hub (not only at provisioning): the hub's retained card must
// be signed by its owner (the pinned one when the config names it), and, with a chain configured, its
// wallet must be whitelisted (trusted if asked), Registered and able to pay the configured minimum.
//
// What the agent does with a refusal (HubLink): it publishes `{status: 'refused', reason}` retained on its
// own state topic (the hub's registry shows it: `sosna console devices` says `refused: <reason>`), takes
// no jobs (it never subscribes to rpc/in), disconnects cleanly (no Will) and connects again with the
// usual backoff, checking again each time. It does not stay connected: a hub it refuses gets nothing from
// it but the reason, and the next connection re-reads the card and the chain anyway.
import { verifyHubCard } from '@sosna/protocol';
import type { DeviceConfig } from '@sosna/protocol';
import { checkHub } from './check.js';
import { jsonRpcReader } from './rpc.js';
import type { EthReader } from './rpc.js';
import type { Verdict } from './policy.js';

export type HubTrust =
  /** No check configured (no pinned owner, no chain): the hub is taken as it is. */
  | { state: 'unchecked'; hubId: string; at: number }
  | { state: 'trusted'; hubId: string; at: number; wallet: string | null; claimable: bigint | null; score: number | null }
  | { state: 'refused'; hubId: string; at: number; reason: string };

/** What the hub announced (retained) when the device connected; null when nothing came in time. */
export type CardSeen = { value: unknown } | null;

export interface HubGate {
  /** How long to wait for the hub's retained card after connecting. */
  readonly cardTimeoutMs: number;
  vet(hubId: string, seen: CardSeen): Promise<HubTrust>;
}

/** Whether anything is there to check: a pinned hub owner or a chain to read. */
export function trustConfigured(config: DeviceConfig): boolean {
  return Boolean(config.hub.owner || (config.chain.rpcUrl && config.chain.whitelist));
}

/** The decision from the card check and, when a chain is configured, its verdict. Pure. */
export function decideTrust(hubId: string, at: number, card: ReturnType<typeof verifyHubCard> | null, verdict: Verdict | null): HubTrust {
  if (card === null) return { state: 'refused', hubId, at, reason: `no announcement from hub ${hubId} (it must publish a card signed by its owner)` };
  if (!card.ok) return { state: 'refused', hubId, at, reason: card.reason };
  if (card.card.hubId !== hubId) return { state: 'refused', hubId, at, reason: `the card on hub ${hubId}'s topic is for hub ${card.card.hubId}` };
  if (verdict && !verdict.ok) return { state: 'refused', hubId, at, reason: verdict.reasons.join('; ') };
  return {
    state: 'trusted', hubId, at, wallet: card.card.wallet ?? null,
    claimable: verdict ? verdict.claimable : null, score: verdict?.ok ? verdict.score : null,
  };
}

export function createHubGate(deps: { config: DeviceConfig; reader: EthReader | null; now?: () => number; cardTimeoutMs?: number }): HubGate {
  const { config, reader } = deps;
  const now = deps.now ?? Date.now;
  return {
    cardTimeoutMs: deps.cardTimeoutMs ?? 10_000,
    async vet(hubId, seen) {
      const card = seen === null ? null : verifyHubCard(seen.value, config.hub.owner);
      let verdict: Verdict | null = null;
      if (card?.ok && card.card.hubId === hubId && reader && config.chain.whitelist) {
        verdict = await checkHub(card.card, reader, config.chain.whitelist, config.owner ?? null, {
          requireTrusted: config.chain.requireTrusted,
          minAvailable: BigInt(config.chain.minAvailableWei),
        });
      }
      return decideTrust(hubId, now(), card, verdict);
    },
  };
}

/** The gate the config asks for (chain reader from chain.rpcUrl); null when nothing is configured to check. */
export function hubGateFor(config: DeviceConfig): HubGate | null {
  if (!trustConfigured(config)) return null;
  return createHubGate({ config, reader: config.chain.rpcUrl && config.chain.whitelist ? jsonRpcReader(config.chain.rpcUrl) : null });
}

/** The trust state as JSON for the dashboard (amounts as decimal strings). */
export interface HubTrustView {
  state: HubTrust['state'];
  hubId: string;
  at: number;
  reason: string | null;
  wallet: string | null;
  claimable: string | null;
}

export function trustView(t: HubTrust): HubTrustView {
  return {
    state: t.state, hubId: t.hubId, at: t.at,
    reason: t.state === 'refused' ? t.reason : null,
    wallet: t.state === 'trusted' ? t.wallet : null,
    claimable: t.state === 'trusted' && t.claimable !== null ? t.claimable.toString() : null,
  };
}
