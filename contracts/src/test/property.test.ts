import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { increaseTime, latestTimestamp, revertTo, snapshot } from '../chain.js';
import { propose } from '../dao.js';
import { confirm } from '../deploy.js';
import { decodeRevert } from '../errors.js';
import { HubState, SNM, hubStateName } from '../params.js';
import { hubFixture } from './fixture.js';
import { moveClockTo, useDevChain } from './helpers.js';
import { apply, claimAmount, withdrawAmount, type Step, type WalletModel } from './model.js';

const ctx = useDevChain((chain) => hubFixture(chain, 60n * SNM));

const amount = fc.oneof(fc.bigInt({ min: 1n, max: 1_000n }), fc.bigInt({ min: 1n, max: 30n * SNM }));
const miner = fc.integer({ min: 0, max: 2 });
// A share of what is there, in quarters; 5 quarters asks for more than there is.
const quarters = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.constant(5) });

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: amount.map((a): Step => ({ kind: 'deposit', amount: a })) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom('owner', 'owner', 'owner', 'stranger'), miner, amount)
      .map(([by, m, a]): Step => ({ kind: 'transfer', by: by as 'owner' | 'stranger', miner: m, amount: a })),
  },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.record({ miner, amount }), { minLength: 1, maxLength: 5 })
      .map((entries): Step => ({ kind: 'batch', entries })),
  },
  { weight: 4, arbitrary: fc.tuple(miner, quarters).map(([m, q]): Step => ({ kind: 'claim', miner: m, quarters: q })) },
  { weight: 2, arbitrary: fc.boolean().map((wait): Step => ({ kind: 'payDay', wait })) },
  { weight: 2, arbitrary: quarters.map((q): Step => ({ kind: 'withdraw', quarters: q })) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'register' }) },
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'suspect' }) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'rehab' }) },
  { weight: 2, arbitrary: fc.boolean().map((wait): Step => ({ kind: 'ban', wait })) },
  { weight: 1, arbitrary: fc.boolean().map((wait): Step => ({ kind: 'release', wait })) },
);

/**
 * A DAO step's proposal, made and brought to its execution time before the model decides (the DAO
 * executes only after the voting deadline and the execution delay, so the clock moves first).
 */
async function prepareDao(s: Step): Promise<bigint | null> {
  if (s.kind !== 'suspect' && s.kind !== 'rehab' && s.kind !== 'ban') return null;
  const { d, deployer, wallet, chain } = ctx();
  const id = await propose(d.dao, deployer, wallet, s.kind);
  await moveClockTo(chain.provider, await d.dao.executableAt(id));
  return id;
}

/** Sends the transaction(s) of `step`, with amounts computed from the model before the step. */
async function execute(s: Step, pre: WalletModel, proposal: bigint | null): Promise<void> {
  const { d, owner, stranger, miners, wallet, walletAddress, deployer } = ctx();
  const minerAt = (i: number) => miners[i as 0 | 1 | 2];
  switch (s.kind) {
    case 'deposit':
      await confirm(d.token.connect(owner).transfer(walletAddress, s.amount));
      return;
    case 'transfer':
      await confirm(wallet.connect(s.by === 'owner' ? owner : stranger).transfer(minerAt(s.miner).address, s.amount));
      return;
    case 'batch':
      await confirm(wallet.transferBatch(s.entries.map((e) => minerAt(e.miner).address), s.entries.map((e) => e.amount)));
      return;
    case 'claim':
      await confirm(wallet.connect(minerAt(s.miner)).claim(claimAmount(pre, s.miner, s.quarters)));
      return;
    case 'payDay':
      await confirm(wallet.payDay());
      return;
    case 'withdraw':
      await confirm(wallet.withdraw(owner.address, withdrawAmount(pre, s.quarters)));
      return;
    case 'register':
      await confirm(wallet.register());
      return;
    case 'release':
      await confirm(wallet.connect(stranger).releaseSeized());
      return;
    case 'suspect':
    case 'rehab':
    case 'ban':
      if (proposal === null) throw new Error(`no proposal for ${s.kind}`);
      await confirm(d.dao.connect(deployer).execute(proposal));
      return;
  }
}

async function readChain() {
  const { d, owner, miners, wallet } = ctx();
  const [state, balance, frozen, locked, totalOwed, registeredAt, suspectedAt] = await wallet.info();
  const [bannedAt, seized] = [await wallet.bannedAt(), await wallet.seizedFunds()];
  const allowance = await Promise.all(miners.map((m) => wallet.allowance(m.address)));
  const [ownerBal, daoBal, m0, m1, m2] = await Promise.all(
    [owner.address, d.addresses.dao, ...miners.map((m) => m.address)].map((a) => d.token.balanceOf(a)),
  );
  return {
    state,
    balance,
    frozen,
    locked,
    totalOwed,
    allowance,
    registeredAt,
    suspectedAt,
    bannedAt,
    seized,
    holders: { owner: ownerBal!, dao: daoBal!, miner0: m0!, miner1: m1!, miner2: m2! },
  } satisfies WalletModel;
}

/** Sum of every token holder's balance in this chain. */
async function tokensInExistence(): Promise<bigint> {
  const { d, chain } = ctx();
  const holders = [...chain.signers.map((s) => s.address), d.addresses.dao, ctx().walletAddress];
  const balances = await Promise.all(holders.map((a) => d.token.balanceOf(a)));
  return balances.reduce((s, b) => s + b, 0n);
}

describe('HubWallet under random operation sequences', () => {
  it('matches the model and keeps its invariants', async () => {
    const { d, chain } = ctx();
    const provider = chain.provider;
    const params = d.params;
    const supply = await d.token.totalSupply();
    let base = await snapshot(provider);
    let executedSteps = 0;

    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 8, maxLength: 15 }), async (steps) => {
        await revertTo(provider, base);
        base = await snapshot(provider);
        const model: WalletModel = await readChain();
        for (const s of steps) {
          // Deposits come from the owner's balance; ask for no more than it holds.
          const st: Step = s.kind === 'deposit' ? { ...s, amount: s.amount > model.holders.owner ? model.holders.owner : s.amount } : s;
          if (st.kind === 'deposit' && st.amount === 0n) continue;
          if ((st.kind === 'payDay' || st.kind === 'ban' || st.kind === 'release') && st.wait) {
            await increaseTime(provider, st.kind === 'payDay' ? params.payoutPeriod : st.kind === 'ban' ? params.suspectPeriod : params.banFreezePeriod);
          }
          const proposal = await prepareDao(st);
          const pre = structuredClone(model);
          const expected = apply(model, st, params, await latestTimestamp(provider));
          if (expected.ok === 'unknown') continue; // within seconds of a deadline: not decidable here

          let error: string | undefined;
          try {
            await execute(st, pre, proposal);
          } catch (err) {
            error = decodeRevert(err)?.name ?? (err instanceof Error ? err.message : String(err));
          }
          const label = `${JSON.stringify(st, (_, v: unknown) => (typeof v === 'bigint' ? `${v}` : v))} in ${hubStateName(pre.state)}`;
          if (expected.ok) expect(error, label).toBeUndefined();
          else expect(error, label).toBe(expected.error);
          executedSteps++;

          const got = await readChain();
          if (st.kind === 'register' && expected.ok) model.registeredAt = got.registeredAt;
          if (st.kind === 'suspect' && expected.ok) model.suspectedAt = got.suspectedAt;
          if (st.kind === 'ban' && expected.ok === true) model.bannedAt = got.bannedAt;
          expect(got, label).toEqual(model);

          // Tokens are conserved.
          expect(await d.token.totalSupply()).toBe(supply);
          expect(await tokensInExistence()).toBe(supply);
          // Frozen and locked funds (and, while payouts can be claimed, what is owed) are covered.
          expect(got.frozen + got.locked <= got.balance, label).toBe(true);
          if (got.state === HubState.Registered || got.state === HubState.Idle) {
            expect(got.frozen + got.locked + got.totalOwed <= got.balance, label).toBe(true);
          }
          // Only the DAO moves a suspected wallet's funds.
          // A ban's seized funds stay in the wallet until released (never before the freeze is over).
          if (got.state === HubState.Punished && st.kind !== 'release') expect(got.balance >= got.seized, label).toBe(true);
          if (pre.state === HubState.Suspected && st.kind !== 'rehab' && st.kind !== 'ban') {
            expect(got.balance >= pre.balance, label).toBe(true);
            expect([got.allowance, got.locked, got.frozen, got.totalOwed]).toEqual([pre.allowance, pre.locked, pre.frozen, pre.totalOwed]);
          }
        }
      }),
      { numRuns: 30 },
    );
    expect(executedSteps).toBeGreaterThan(200);
  }, 120_000);
});
