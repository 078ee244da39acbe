// Which hub to work for when several are acceptable (issue #5: "prefers, among acceptable hubs, the one
// with the best score"). Pure: candidates with their verdicts and facts in, a ranking out.
//
// The order, most important first (bigints compared exactly, no float mixing):
//   1. acceptable only: a refused hub never ranks, it is reported with its reasons;
//   2. trusted by the DAO before merely listed;
//   3. the better payout record on chain (record.ts: regular, then irregular, then none or unknown): what
//      the hub's wallet has done outweighs the price its card promises;
//   4. the higher price the hub pays for this device (its card's `prices[key]`, wei per second; unknown last);
//   5. the more the hub has already approved to this owner on chain (evidence that it pays);
//   6. the more payouts in its record;
//   7. the more funds its wallet can pay out now;
//   8. the hub id, so that the choice is stable.
import type { HubCard } from '@sosna/protocol';
import type { Verdict } from './policy.js';
import { standingRank } from './record.js';
import type { PayoutRecord } from './record.js';

export interface HubCandidate {
  hubId: string;
  verdict: Verdict;
  trusted: boolean;
  /** What the hub pays for this device, token wei per second; null when its card says nothing. */
  price: bigint | null;
  /** Token wei the hub's wallet has approved to this device's owner (on chain). */
  paidToOwner: bigint;
  /** Token wei the hub's wallet can pay out now. */
  available: bigint;
  /** The wallet's payout record from its on-chain history; null when not read (no chain, or unreadable). */
  record: PayoutRecord | null;
}

export interface HubChoice {
  /** The best acceptable hub; null when none is acceptable. */
  chosen: HubCandidate | null;
  /** Acceptable hubs, best first. */
  ranked: HubCandidate[];
  /** Refused hubs with their reasons. */
  refused: { hubId: string; reasons: string[] }[];
}

const desc = (a: bigint, b: bigint): number => (a === b ? 0 : a > b ? -1 : 1);

/** Negative when `a` is the better hub. */
export function compareHubs(a: HubCandidate, b: HubCandidate): number {
  if (a.trusted !== b.trusted) return a.trusted ? -1 : 1;
  const standing = standingRank(b.record) - standingRank(a.record);
  if (standing !== 0) return standing;
  if (a.price !== b.price) {
    if (a.price === null) return 1;
    if (b.price === null) return -1;
    const p = desc(a.price, b.price);
    if (p !== 0) return p;
  }
  return desc(a.paidToOwner, b.paidToOwner) || desc(BigInt(a.record?.payouts ?? 0), BigInt(b.record?.payouts ?? 0)) || desc(a.available, b.available) || (a.hubId < b.hubId ? -1 : a.hubId > b.hubId ? 1 : 0);
}

export function chooseHub(candidates: readonly HubCandidate[]): HubChoice {
  const ranked = candidates.filter((c) => c.verdict.ok).sort(compareHubs);
  const refused = candidates.flatMap((c) => (c.verdict.ok ? [] : [{ hubId: c.hubId, reasons: c.verdict.reasons }]));
  return { chosen: ranked[0] ?? null, ranked, refused };
}

/** The price a hub card offers under `key` (e.g. the device class), wei per second; null when absent. */
export function cardPrice(card: Pick<HubCard, 'prices'>, key: string): bigint | null {
  const p = card.prices?.[key];
  return p === undefined ? null : BigInt(p);
}
