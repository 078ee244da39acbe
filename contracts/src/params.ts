// The numbers of a deployment and the HubWallet arithmetic, in bigint wei and seconds.

/** One SNM in wei (18 decimals). */
export const SNM = 10n ** 18n;
/** Seconds in a day. */
export const DAY = 86_400n;
/** Basis points in one whole. */
export const BPS = 10_000n;

/** The constructor numbers of every HubWallet (see contracts/solidity/HubParams.sol). */
export interface HubParams {
  /** Frozen on registration, wei. */
  deposit: bigint;
  /** Share of each payout locked until payDay, basis points. */
  lockFeeBps: bigint;
  /** Share of the locked funds paid to the DAO on payDay, basis points. */
  daoFeeBps: bigint;
  /** Seconds from registration until payDay. */
  payoutPeriod: bigint;
  /** Seconds a suspected wallet stays blocked before a ban is allowed. */
  suspectPeriod: bigint;
  /** Seconds a banned wallet's seized funds stay frozen before `releaseSeized` sends them to the DAO. */
  banFreezePeriod: bigint;
}

export interface DeployParams extends HubParams {
  /** DAO members; the deployer alone when empty. */
  daoMembers: readonly string[];
  /** Yes votes a proposal needs. */
  daoQuorum: bigint;
  /** Seconds a proposal stays open for votes (at least 1). */
  daoVotingPeriod: bigint;
  /** Seconds from a proposal's voting deadline until it can be executed. */
  daoExecutionDelay: bigint;
  /** SNM minted to the deployer right after deployment, wei. */
  initialMint: bigint;
  /** JobEscrow: seconds after a settlement in which the buyer may dispute it. */
  escrowDisputeWindow: bigint;
  /** JobEscrow: seconds after a deposit after which a buyer may take back an escrow never settled. */
  escrowReclaimAfter: bigint;
}

/**
 * The whitepaper's values (SONM 2.4.3.2): 1 SNM deposit, 30% lock, 0.5% DAO fee, 30 and 120 days. The
 * whitepaper leaves the freeze of a ban's seized funds at "some specified time": 30 days here. Proposals
 * are open 3 days and executable 1 day after their deadline.
 */
export const defaults: Readonly<DeployParams> = Object.freeze({
  deposit: SNM,
  lockFeeBps: 3_000n,
  daoFeeBps: 50n,
  payoutPeriod: 30n * DAY,
  suspectPeriod: 120n * DAY,
  banFreezePeriod: 30n * DAY,
  daoMembers: [],
  daoQuorum: 1n,
  daoVotingPeriod: 3n * DAY,
  daoExecutionDelay: DAY,
  initialMint: 1_000_000n * SNM,
  escrowDisputeWindow: DAY,
  escrowReclaimAfter: 30n * DAY,
});

/** What a transfer (or a batch with this total) locks: floor(amount * lockFeeBps / 10000). */
export function lockFor(amount: bigint, p: Pick<HubParams, 'lockFeeBps'> = defaults): bigint {
  return (amount * p.lockFeeBps) / BPS;
}

/** What payDay sends to the DAO: floor(locked * daoFeeBps / 10000). */
export function daoFeeFor(locked: bigint, p: Pick<HubParams, 'daoFeeBps'> = defaults): bigint {
  return (locked * p.daoFeeBps) / BPS;
}

/** HubWallet.State, in the order of the Solidity enum. */
export const HubState = Object.freeze({ Created: 0n, Registered: 1n, Idle: 2n, Suspected: 3n, Punished: 4n });
export type HubStateName = keyof typeof HubState;

export function hubStateName(state: bigint): HubStateName {
  const name = (Object.keys(HubState) as HubStateName[]).find((k) => HubState[k] === state);
  if (name === undefined) throw new RangeError(`unknown HubWallet state ${state}`);
  return name;
}
