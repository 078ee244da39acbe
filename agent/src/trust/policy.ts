// Whether to work for a hub, from evidence: its signed card (checked elsewhere) and what the chain says
// about its wallet. Pure: the facts come in, a verdict with every reason comes out.

/** HubWallet states, in the contract's enum order. */
export const WALLET_STATES = ['Created', 'Registered', 'Idle', 'Suspected', 'Punished'] as const;
export type WalletState = (typeof WALLET_STATES)[number];

export interface HubFacts {
  owner: string; // from the verified card
  wallet: string | null; // from the card
  chainId: number | null; // from the card
  rpcChainId: number;
  listed: boolean;
  trusted: boolean;
  walletOwner: string;
  state: WalletState | 'unknown';
  /** Funds the wallet can pay out now (wei). */
  available: bigint;
  /** What this device's owner can claim now (wei). */
  claimable: bigint;
}

export interface TrustPolicy {
  requireTrusted: boolean;
  minAvailable: bigint;
}

export type Verdict = { ok: true; score: number; claimable: bigint } | { ok: false; reasons: string[]; claimable: bigint };

export function judgeHub(f: HubFacts, p: TrustPolicy): Verdict {
  const reasons: string[] = [];
  if (!f.wallet) reasons.push('the hub card names no HubWallet');
  if (f.chainId !== null && f.chainId !== f.rpcChainId) reasons.push(`the hub card is for chain ${f.chainId}, the configured RPC is chain ${f.rpcChainId}`);
  if (f.wallet && !f.listed) {
    reasons.push(`wallet ${f.wallet} is not on the Whitelist`);
    return { ok: false, reasons, claimable: 0n };
  }
  if (p.requireTrusted && !f.trusted) reasons.push(`wallet ${f.wallet} is listed but not trusted by the DAO`);
  if (f.walletOwner.toLowerCase() !== f.owner.toLowerCase()) reasons.push(`wallet ${f.wallet} belongs to ${f.walletOwner}, not to the card's owner ${f.owner}`);
  if (f.state !== 'Registered') reasons.push(`wallet ${f.wallet} is ${f.state}, not Registered`);
  if (f.available < p.minAvailable) reasons.push(`wallet ${f.wallet} can pay out ${f.available} wei, less than the required ${p.minAvailable}`);
  if (reasons.length) return { ok: false, reasons, claimable: f.claimable };
  // Among acceptable hubs: trusted first, then the one with more funds available (log scale).
  const score = (f.trusted ? 1000 : 0) + Math.log10(Number(f.available) + 1);
  return { ok: true, score, claimable: f.claimable };
}
