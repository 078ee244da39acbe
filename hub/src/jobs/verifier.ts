// The scheduler's verification bookkeeping (thin I/O around the pure policy in trust.ts): streaks per
// device and per owner in the job store, the replication draw, ringers mixed in with buyers' runs, and the
// slash of an owner's stake for a proven wrong result (recorded in the verdict's transaction and handed to
// the stake book, which lowers the stake it knows and sends the slash to the chain).
import { SosnaError } from '@sosna/protocol';
import type { JobSpec } from '@sosna/protocol';
import type { JobStore, SlashRow } from './store.js';
import { draw, FRESH, isNewcomer, isQuarantined, nextStanding, pickRinger, rankOf, replicationProbability, slashAmount, checkStake } from './trust.js';
import type { Ringer, Standing, TrustEvent, TrustPolicy } from './trust.js';

/** Owners' stakes as the hub knows them (wei). */
export interface StakeBook {
  stakeOf(owner: string): bigint;
  /** A slash was recorded: lower the owner's stake by row.amount (and send it on). */
  slashed(row: SlashRow): void;
}

/** Stakes kept in memory: for the simulation and for hubs without a stake contract. */
export class MemoryStakes implements StakeBook {
  private readonly stakes = new Map<string, bigint>();
  constructor(private readonly policy: Pick<TrustPolicy, 'minStake'>) {}
  stakeOf(owner: string): bigint {
    return this.stakes.get(owner) ?? 0n;
  }
  stake(owner: string, amount: bigint): void {
    checkStake(owner, amount, this.stakeOf(owner), this.policy as TrustPolicy);
    this.stakes.set(owner, this.stakeOf(owner) + amount);
  }
  slashed(row: SlashRow): void {
    const have = this.stakeOf(row.owner);
    if (have < row.amount) throw new SosnaError('E_CONFLICT', `slash of ${row.amount} wei from ${row.owner} exceeds its stake of ${have} wei`);
    this.stakes.set(row.owner, have - row.amount);
  }
}

export interface TrustConfig {
  policy: TrustPolicy;
  /** Jobs whose answers the hub knows (already checked: trust.ts checkRingers). */
  ringers: Ringer<JobSpec>[];
  stakes: StakeBook;
  random?: () => number;
}

const deviceKey = (id: string) => `device:${id}`;
const ownerKey = (owner: string) => `owner:${owner}`;

export class Verifier {
  readonly policy: TrustPolicy;
  private readonly random: () => number;
  constructor(private readonly jobs: JobStore, private readonly c: TrustConfig) {
    this.policy = c.policy;
    this.random = c.random ?? Math.random;
  }

  standing(deviceId: string, owner: string): { device: Standing; owner: Standing } {
    return { device: this.jobs.getStanding(deviceKey(deviceId)) ?? FRESH, owner: this.jobs.getStanding(ownerKey(owner)) ?? FRESH };
  }

  stakeOf(owner: string): bigint {
    return this.c.stakes.stakeOf(owner);
  }

  rank(deviceId: string, owner: string, reputation: number): number {
    const s = this.standing(deviceId, owner);
    return rankOf(reputation, isNewcomer(s.device, s.owner, this.policy), this.stakeOf(owner), this.policy);
  }

  quarantined(owner: string): boolean {
    return isQuarantined(this.jobs.getStanding(ownerKey(owner)) ?? FRESH, this.policy);
  }

  replicationChance(deviceId: string, owner: string): number {
    const s = this.standing(deviceId, owner);
    return replicationProbability(s.device, s.owner, this.stakeOf(owner), this.policy);
  }

  /** Draws whether this device's result is replicated; returns the chance with the outcome. */
  drawReplication(deviceId: string, owner: string): { replicate: boolean; chance: number } {
    const chance = this.replicationChance(deviceId, owner);
    return { replicate: draw(chance, this.random), chance };
  }

  pickRinger(fits: (spec: JobSpec) => boolean): Ringer<JobSpec> | null {
    return pickRinger(this.c.ringers, this.policy, this.random, fits);
  }

  /**
   * Records what a verification proved about one result (call inside the verdict's transaction); a wrong
   * result of a staked owner is slashed (the ledger row, then the stake book). Returns the slash, if any.
   */
  record(deviceId: string, owner: string, event: TrustEvent, runId: string, reason: string, at: number): SlashRow | null {
    const s = this.standing(deviceId, owner);
    this.jobs.putStanding(deviceKey(deviceId), nextStanding(s.device, event));
    this.jobs.putStanding(ownerKey(owner), nextStanding(s.owner, event));
    if (event !== 'wrong') return null;
    const stake = this.stakeOf(owner);
    if (stake <= 0n) return null; // nothing to slash: the record alone speaks
    const row: SlashRow = { runId, owner, amount: slashAmount(owner, stake, this.policy), reason, at, txHash: null };
    if (!this.jobs.addSlash(row)) return null;
    this.c.stakes.slashed(row); // the next slash in the same pass sees the lowered stake
    return row;
  }
}
