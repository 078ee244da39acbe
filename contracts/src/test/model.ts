// A reference model of one HubWallet, in plain bigint arithmetic, for the property test: it predicts
// whether each operation succeeds (or which custom error it reverts with) and what it changes.
import { BPS, HubState, type HubParams } from '../params.js';

export type Step =
  | { kind: 'deposit'; amount: bigint }
  | { kind: 'transfer'; by: 'owner' | 'stranger'; miner: number; amount: bigint }
  | { kind: 'batch'; entries: { miner: number; amount: bigint }[] }
  | { kind: 'claim'; miner: number; quarters: number }
  | { kind: 'payDay'; wait: boolean }
  | { kind: 'withdraw'; quarters: number }
  | { kind: 'register' }
  | { kind: 'suspect' }
  | { kind: 'rehab' }
  | { kind: 'ban'; wait: boolean }
  | { kind: 'release'; wait: boolean };

export interface WalletModel {
  state: bigint;
  balance: bigint;
  frozen: bigint;
  locked: bigint;
  totalOwed: bigint;
  allowance: bigint[];
  registeredAt: bigint;
  suspectedAt: bigint;
  bannedAt: bigint;
  /** What a ban seized, frozen in the wallet until released. */
  seized: bigint;
  /** Token balances of the other holders, by name. */
  holders: Record<'owner' | 'dao' | 'miner0' | 'miner1' | 'miner2', bigint>;
}

/** What a step should do: revert with `error`, or succeed (and the model is updated in place). */
export type Outcome = { ok: true } | { ok: false; error: string } | { ok: 'unknown' };

const minerKey = (i: number) => `miner${i}` as 'miner0' | 'miner1' | 'miner2';

/** The amount a claim step asks for: a share of the allowance, or 1 wei when there is none. */
export function claimAmount(m: WalletModel, miner: number, quarters: number): bigint {
  const a = ((m.allowance[miner] ?? 0n) * BigInt(quarters)) / 4n;
  return a > 0n ? a : 1n;
}

/** The amount a withdraw step asks for: a share of the free funds, or 1 wei when there are none. */
export function withdrawAmount(m: WalletModel, quarters: number): bigint {
  const free = m.balance - m.totalOwed;
  const a = (free * BigInt(quarters)) / 4n;
  return a > 0n ? a : 1n;
}

/**
 * Predicts `step` and applies it to `m` when it succeeds. `now` is the latest block time after any
 * waiting the step does; the step's own block comes at most a few seconds later.
 */
export function apply(m: WalletModel, step: Step, p: HubParams, now: bigint): Outcome {
  const fail = (error: string): Outcome => ({ ok: false, error });
  const reserve = (amount: bigint): Outcome | undefined => {
    const lock = (amount * p.lockFeeBps) / BPS;
    if (m.balance < m.frozen + m.locked + lock + m.totalOwed + amount) return fail('InsufficientFunds');
    m.locked += lock;
    m.totalOwed += amount;
    return undefined;
  };
  switch (step.kind) {
    case 'deposit':
      m.holders.owner -= step.amount;
      m.balance += step.amount;
      return { ok: true };
    case 'transfer': {
      if (step.by !== 'owner') return fail('NotOwner');
      if (m.state !== HubState.Registered) return fail('WrongState');
      const refused = reserve(step.amount);
      if (refused) return refused;
      m.allowance[step.miner] = (m.allowance[step.miner] ?? 0n) + step.amount;
      return { ok: true };
    }
    case 'batch': {
      if (m.state !== HubState.Registered) return fail('WrongState');
      const refused = reserve(step.entries.reduce((s, e) => s + e.amount, 0n));
      if (refused) return refused;
      for (const e of step.entries) m.allowance[e.miner] = (m.allowance[e.miner] ?? 0n) + e.amount;
      return { ok: true };
    }
    case 'claim': {
      if (m.state !== HubState.Registered && m.state !== HubState.Idle) return fail('WrongState');
      const amount = claimAmount(m, step.miner, step.quarters);
      const allowed = m.allowance[step.miner] ?? 0n;
      if (amount > allowed) return fail('ClaimExceedsAllowance');
      m.allowance[step.miner] = allowed - amount;
      m.totalOwed -= amount;
      m.balance -= amount;
      m.holders[minerKey(step.miner)] += amount;
      return { ok: true };
    }
    case 'payDay': {
      if (m.state !== HubState.Registered) return fail('WrongState');
      const endsAt = m.registeredAt + p.payoutPeriod;
      if (now + 30n < endsAt) return fail('PayoutPeriodNotOver');
      if (now < endsAt) return { ok: 'unknown' };
      const fee = (m.locked * p.daoFeeBps) / BPS;
      m.balance -= fee;
      m.holders.dao += fee;
      m.locked = 0n;
      m.frozen = 0n;
      m.state = HubState.Idle;
      return { ok: true };
    }
    case 'withdraw': {
      if (m.state !== HubState.Idle) return fail('WrongState');
      const amount = withdrawAmount(m, step.quarters);
      if (amount > m.balance - m.totalOwed) return fail('InsufficientFunds');
      m.balance -= amount;
      m.holders.owner += amount;
      return { ok: true };
    }
    case 'register': {
      if (m.state !== HubState.Idle) return fail('WrongState');
      if (m.balance - m.totalOwed < p.deposit) return fail('InsufficientFunds');
      m.frozen = p.deposit;
      m.state = HubState.Registered;
      return { ok: true }; // registeredAt is read back from the chain
    }
    case 'suspect':
      if (m.state !== HubState.Registered) return fail('WrongState');
      m.state = HubState.Suspected;
      return { ok: true }; // suspectedAt is read back from the chain
    case 'rehab':
      if (m.state !== HubState.Suspected) return fail('WrongState');
      m.locked = 0n;
      m.frozen = 0n;
      m.state = HubState.Idle;
      return { ok: true };
    case 'ban': {
      if (m.state !== HubState.Suspected) return fail('WrongState');
      const endsAt = m.suspectedAt + p.suspectPeriod;
      if (now + 30n < endsAt) return fail('SuspectPeriodNotOver');
      if (now < endsAt) return { ok: 'unknown' };
      m.seized = m.balance; // frozen in the wallet, not the DAO's yet
      m.locked = 0n;
      m.frozen = 0n;
      m.totalOwed = 0n;
      m.state = HubState.Punished;
      return { ok: true }; // bannedAt is read back from the chain
    }
    case 'release': {
      if (m.state !== HubState.Punished) return fail('WrongState');
      const endsAt = m.bannedAt + p.banFreezePeriod;
      if (now + 30n < endsAt) return fail('SeizedFundsFrozen');
      if (now < endsAt) return { ok: 'unknown' };
      if (m.balance === 0n) return fail('ZeroAmount');
      m.holders.dao += m.balance;
      m.balance = 0n;
      m.seized = 0n;
      return { ok: true };
    }
  }
}
