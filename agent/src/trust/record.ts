// A hub's record as its wallet's on-chain history shows it (whitepaper 2.4.4: "Are hub payments to miners
// regular? What is the average amount of tokens paid?"). Pure: the history in, a summary and a standing out.
//
// The standing, which the ranking uses right after the DAO's trust (prefer.ts):
//   regular (2): at least MIN_REGULAR payouts, and no gap longer than GAP_FACTOR times the typical (median)
//                gap between payouts: neither between two payouts nor since the last one (there with at
//                least a day of slack);
//   irregular (1): some payouts, but not regular;
//   none (0): no payout at all.
// A wallet that was ever suspected by the DAO drops one step (a rehabilitated hub's record is weaker).
// A banned wallet is refused outright elsewhere (its state is Punished); its record says so too.

/** One payout event: a `Paid` (one miner) or a `BatchPaid` (many). */
export interface PayoutEvent {
  /** Block time, unix seconds. */
  at: number;
  /** Token wei approved to miners in this payout. */
  amount: bigint;
  /** Miners paid in this payout. */
  miners: number;
}

/** What the wallet's logs say, oldest first. */
export interface WalletHistory {
  /** Chain time when read (the latest block's), unix seconds. */
  now: number;
  /** The first registration's time (`HubRegistered.at`); null when there is none. */
  registeredAt: number | null;
  /** Payouts with their times, oldest first (the gaps come from these). */
  payouts: PayoutEvent[];
  /** Older payouts whose block times were not read: they count and sum, but give no gaps. */
  untimed: { payouts: number; amount: bigint; miners: number };
  /** `HubSuspected` events. */
  suspicions: number;
  /** `HubBanned` seen. */
  banned: boolean;
}

export const MIN_REGULAR = 3;
export const GAP_FACTOR = 3;
const DAY = 86_400;

export const STANDINGS = ['none', 'irregular', 'regular'] as const;
export type Standing = (typeof STANDINGS)[number];

export interface PayoutRecord {
  standing: Standing;
  payouts: number;
  miners: number;
  /** Token wei paid in all, and per payout (floor). */
  total: bigint;
  average: bigint;
  /** The median gap between payouts, seconds; null with fewer than two payouts. */
  typicalGapSec: number | null;
  maxGapSec: number | null;
  /** Seconds since the last payout; null without payouts. */
  sinceLastSec: number | null;
  /** Seconds since the first registration; null when unknown. */
  ageSec: number | null;
  suspicions: number;
  banned: boolean;
}

export function summarize(h: WalletHistory): PayoutRecord {
  const payouts = [...h.payouts].sort((a, b) => a.at - b.at);
  const n = payouts.length;
  const count = n + h.untimed.payouts;
  const total = payouts.reduce((s, p) => s + p.amount, h.untimed.amount);
  const gaps = payouts.slice(1).map((p, i) => p.at - payouts[i]!.at);
  const sortedGaps = [...gaps].sort((a, b) => a - b);
  const mid = Math.floor(sortedGaps.length / 2);
  const typicalGapSec = !sortedGaps.length ? null : sortedGaps.length % 2 ? sortedGaps[mid]! : Math.round((sortedGaps[mid - 1]! + sortedGaps[mid]!) / 2);
  const maxGapSec = gaps.length ? Math.max(...gaps) : null;
  const sinceLastSec = n ? Math.max(0, h.now - payouts[n - 1]!.at) : null;
  let step = 0;
  if (n > 0) {
    const regular = n >= MIN_REGULAR && typicalGapSec !== null && maxGapSec !== null && sinceLastSec !== null
      && maxGapSec <= GAP_FACTOR * typicalGapSec && sinceLastSec <= Math.max(GAP_FACTOR * typicalGapSec, DAY);
    step = regular ? 2 : 1;
  }
  if (h.suspicions > 0 || h.banned) step = Math.max(0, step - 1);
  return {
    standing: h.banned ? 'none' : STANDINGS[step]!,
    payouts: count,
    miners: payouts.reduce((s, p) => s + p.miners, h.untimed.miners),
    total,
    average: count ? total / BigInt(count) : 0n,
    typicalGapSec,
    maxGapSec,
    sinceLastSec,
    ageSec: h.registeredAt === null ? null : Math.max(0, h.now - h.registeredAt),
    suspicions: h.suspicions,
    banned: h.banned,
  };
}

/** The standing as a number for comparing (higher is better); an unknown record counts as none. */
export function standingRank(r: Pick<PayoutRecord, 'standing'> | null): number {
  return r ? STANDINGS.indexOf(r.standing) : 0;
}

/** A duration for people: 45s, 12m, 5h, 3d (rounded down). */
export function fmtSeconds(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < DAY) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / DAY)}d`;
}

/** One phrase with the evidence, e.g. "regular: 4 payouts to 4 miners, avg 5 wei, every ~1d (longest gap 1d), last 2h ago, wallet 5d old". */
export function describeRecord(r: PayoutRecord): string {
  const parts: string[] = [];
  if (r.payouts === 0) parts.push('no payouts');
  else {
    parts.push(`${r.payouts} payout${r.payouts === 1 ? '' : 's'} to ${r.miners} miner${r.miners === 1 ? '' : 's'}, avg ${r.average} wei`);
    if (r.typicalGapSec !== null && r.maxGapSec !== null) parts.push(`every ~${fmtSeconds(r.typicalGapSec)} (longest gap ${fmtSeconds(r.maxGapSec)})`);
    if (r.sinceLastSec !== null) parts.push(`last ${fmtSeconds(r.sinceLastSec)} ago`);
  }
  if (r.ageSec !== null) parts.push(`wallet ${fmtSeconds(r.ageSec)} old`);
  if (r.banned) parts.push('BANNED');
  else if (r.suspicions > 0) parts.push(`suspected ${r.suspicions}x before`);
  return `${r.standing}: ${parts.join(', ')}`;
}
