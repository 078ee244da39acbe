// The verification policy, pure: how often a device's results are replicated (its streak of verified
// results, its owner's record of proven wrong results, its owner's stake), how often a ringer (a job whose
// answer the hub knows) is mixed in, how newcomers rank, and how much of a stake a proven wrong result
// costs. The scheduler and the trust simulation (test/bench/trust.ts) both use these functions.
//
// Anchors: BOINC's adaptive replication (a host with a streak of N valid results is replicated with
// probability 1/N), iExec's trust-scaled consensus, Golle and Mironov's ringers, Sarmenta's spot-checking.
import { SosnaError } from '@sosna/protocol';

export interface TrustPolicy {
  /** Lowest replication probability of a device with no proven wrong result. */
  floor: number;
  /** Verified results that count as one step of streak (1: BOINC's 1/(1 + N)). */
  streakScale: number;
  /** Chance that a dispatched buyer run brings a ringer for the same device. */
  ringerRate: number;
  /** A device with fewer verified results (and an owner with no proven wrong result) is a newcomer. */
  newcomerResults: number;
  /** Part of the stake one proven wrong result costs, in basis points (1/10000). */
  slashBps: number;
  /** Least stake (wei) an owner may hold; each whole multiple counts for one step of boost. */
  minStake: bigint;
  /** Most boost steps a stake gives (priority steps, and the streak multiplier less one). */
  maxStakeBoost: number;
  /** Verified results a device needs before its owner's stake speeds its streak (the young record is the risky one). */
  stakeAfterResults: number;
  /** Proven wrong results after which an owner with a poor record is quarantined (isQuarantined). */
  quarantineFailures: number;
}

export const DEFAULT_TRUST_POLICY: TrustPolicy = {
  floor: 0.05,
  streakScale: 4,
  ringerRate: 0.05,
  newcomerResults: 10,
  slashBps: 1000,
  minStake: 100n * 10n ** 18n,
  maxStakeBoost: 3,
  stakeAfterResults: 20,
  quarantineFailures: 3,
};

/** A device's or an owner's record. */
export interface Standing {
  /** Verified results in a row since the last proven wrong one. */
  streak: number;
  /** Verified results in all. */
  verified: number;
  /** Proven wrong results (a lost vote with a majority, a failed ringer). */
  failures: number;
}
export const FRESH: Standing = { streak: 0, verified: 0, failures: 0 };

/** What a verification proved about one result. */
export type TrustEvent = 'agree' | 'wrong';

export function nextStanding(s: Standing, e: TrustEvent): Standing {
  return e === 'agree' ? { streak: s.streak + 1, verified: s.verified + 1, failures: s.failures } : { streak: 0, verified: s.verified, failures: s.failures + 1 };
}

/** Boost steps of a stake: one per whole minimum stake, at most maxStakeBoost; none below the minimum. */
export function stakeBoost(stake: bigint, p: TrustPolicy): number {
  if (p.minStake <= 0n || stake < p.minStake) return 0;
  const units = stake / p.minStake;
  return units >= BigInt(p.maxStakeBoost) ? p.maxStakeBoost : Number(units);
}

/**
 * The chance that a device's next result is replicated:
 *   w = (1 + f)^2, s = min(device streak, owner streak), K = streakScale,
 *   b = 1 + stake boost once the device has stakeAfterResults verified results, else 1
 *   p = min(1, max(floor * w, w / (1 + s * b / K)))
 * where f counts the owner's proven wrong results (kept per owner: a re-provisioned device starts at
 * streak 0 and inherits its owner's failures). With no failure and no stake that is BOINC's 1/(1 + N/K)
 * down to the floor (K = 4: a cheater wrong one time in ten gets about 9/K wrong results through before
 * its first is caught, against 9 with K = 1; see README); each failure squares the streak needed and
 * raises the floor (f >= 4: always).
 */
export function replicationProbability(device: Standing, owner: Standing, stake: bigint, p: TrustPolicy): number {
  const s = Math.min(device.streak, owner.streak);
  const w = (1 + owner.failures) ** 2;
  const b = 1 + (device.verified >= p.stakeAfterResults ? stakeBoost(stake, p) : 0);
  return Math.min(1, Math.max(p.floor * w, w / (1 + (s * b) / p.streakScale)));
}

/** Newcomer: few verified results and an owner with a clean record. */
export function isNewcomer(device: Standing, owner: Standing, p: TrustPolicy): boolean {
  return device.verified < p.newcomerResults && owner.failures === 0;
}

/**
 * Quarantine (Sarmenta's blacklisting): an owner with at least `quarantineFailures` proven wrong results
 * and more than one per 10 verified ones gets no more runs on any of its devices.
 */
export function isQuarantined(owner: Standing, p: TrustPolicy): boolean {
  return owner.failures >= p.quarantineFailures && owner.failures * 10 > owner.verified;
}

export const TOP_RANK = 20;

/**
 * The matcher's rank of a device (higher first, then load): its reputation in steps of 0.05, a newcomer
 * at the top step (so that its first results, all replicated or ringers, build its record), plus one
 * step per stake boost.
 */
export function rankOf(reputation: number, newcomer: boolean, stake: bigint, p: TrustPolicy): number {
  return (newcomer ? TOP_RANK : Math.round(reputation * 20)) + stakeBoost(stake, p);
}

/** One draw: true with probability `chance`. */
export const draw = (chance: number, random: () => number): boolean => chance >= 1 || random() < chance;

// ------------------------------------------------------------------------------------------------
// ringers

export interface Ringer<S = unknown> {
  spec: S;
  /** The known answer: the output digest an honest run gives. */
  digest: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Checks a ringer list (config or code); a ringer without a known answer is refused with where it is. */
export function checkRingers<S extends { image?: unknown }>(list: readonly { spec: S; digest?: unknown }[], where = 'ringers'): Ringer<S>[] {
  return list.map((r, i) => {
    if (typeof r.digest !== 'string' || !DIGEST.test(r.digest)) {
      const image = typeof r.spec?.image === 'string' ? ` (image ${r.spec.image})` : '';
      throw new SosnaError('E_INVALID', `${where}[${i}]${image}: a ringer needs its known answer: digest must be sha256:<64 hex digits>, got ${r.digest === undefined ? 'none' : JSON.stringify(r.digest)}`);
    }
    return { spec: r.spec, digest: r.digest };
  });
}

/** The ringer to mix in with a dispatched buyer run, or null (none due, or none fits the device). */
export function pickRinger<S>(book: readonly Ringer<S>[], p: TrustPolicy, random: () => number, fits: (spec: S) => boolean): Ringer<S> | null {
  if (book.length === 0 || !draw(p.ringerRate, random)) return null;
  const start = Math.floor(random() * book.length);
  for (let k = 0; k < book.length; k++) {
    const r = book[(start + k) % book.length]!;
    if (fits(r.spec)) return r;
  }
  return null;
}

/** What a ringer's run proves: the known digest is `agree`, another digest `wrong`; a failed run proves nothing. */
export function ringerVerdict(expected: string, run: { state: string; digest: string | null }): TrustEvent | null {
  if (run.state !== 'succeeded') return null;
  return run.digest === expected ? 'agree' : 'wrong';
}

// ------------------------------------------------------------------------------------------------
// stakes

/** A stake (or top-up) is refused when the owner's total would stay below the minimum. */
export function checkStake(owner: string, amount: bigint, current: bigint, p: TrustPolicy): void {
  if (amount <= 0n) throw new SosnaError('E_INVALID', `stake for ${owner}: amount must be a positive number of wei, got ${amount}`);
  if (current + amount < p.minStake) {
    throw new SosnaError('E_INVALID', `stake for ${owner}: ${amount} wei would leave a stake of ${current + amount} wei, below the minimum of ${p.minStake} wei`);
  }
}

/**
 * What one proven wrong result costs an owner: slashBps of its stake, rounded down, at least 1 wei, at
 * most the stake. An owner with no stake cannot be slashed (a clear error: callers check first).
 */
export function slashAmount(owner: string, stake: bigint, p: TrustPolicy): bigint {
  if (stake <= 0n) throw new SosnaError('E_NOT_FOUND', `cannot slash ${owner}: the owner has no stake`);
  const cut = (stake * BigInt(p.slashBps)) / 10_000n;
  return cut < 1n ? 1n : cut > stake ? stake : cut;
}
