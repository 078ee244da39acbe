import { describe, expect, it } from 'vitest';
import { increaseTime } from '../chain.js';
import { propose, proposeCall } from '../dao.js';
import { confirm, createHubWallet } from '../deploy.js';
import { DAY, HubState, SNM, daoFeeFor, defaults, hubStateName, lockFor, type HubParams } from '../params.js';
import { expectRevert, moveClockTo, takeSigners, useDevChain } from './helpers.js';

/** Every number differs from the defaults, to show each one is a constructor parameter. */
const custom: HubParams = {
  deposit: 5n * SNM,
  lockFeeBps: 1_234n,
  daoFeeBps: 77n,
  payoutPeriod: DAY,
  suspectPeriod: 2n * DAY,
  banFreezePeriod: 3n * DAY,
};

const ctx = useDevChain(
  async (chain) => {
    const d = chain.deployment;
    const [deployer, owner, miner] = takeSigners(chain, 3);
    await confirm(d.token.transfer(owner.address, 100n * SNM));
    const hub = await createHubWallet(d, owner, 'e');
    await confirm(d.token.connect(owner).transfer(hub.address, 50n * SNM));
    return { d, deployer, owner, miner, wallet: hub.wallet };
  },
  { params: { ...custom, daoVotingPeriod: 60n, daoExecutionDelay: 30n } },
);

describe('custom parameters', () => {
  it('the whitepaper defaults are what the default deployment uses', () => {
    expect(defaults).toMatchObject({ deposit: SNM, lockFeeBps: 3_000n, daoFeeBps: 50n, payoutPeriod: 30n * DAY, suspectPeriod: 120n * DAY });
    expect(defaults).toMatchObject({ banFreezePeriod: 30n * DAY, daoVotingPeriod: 3n * DAY, daoExecutionDelay: DAY });
  });

  it('reach the wallet', async () => {
    const { wallet } = ctx();
    const got = [await wallet.deposit(), await wallet.lockFeeBps(), await wallet.daoFeeBps(), await wallet.payoutPeriod(), await wallet.suspectPeriod(), await wallet.banFreezePeriod()];
    expect(got).toEqual([custom.deposit, custom.lockFeeBps, custom.daoFeeBps, custom.payoutPeriod, custom.suspectPeriod, custom.banFreezePeriod]);
    expect(await wallet.frozenFunds()).toBe(5n * SNM);
  });

  it('drive the lock, the payout period and the DAO fee', async () => {
    const { d, wallet, miner } = ctx();
    const amount = 9n * SNM + 99n;
    await confirm(wallet.transfer(miner.address, amount));
    const lock = lockFor(amount, custom);
    expect(lock).toBe(1_110_600_000_000_000_012n); // floor((9e18 + 99) * 1234 / 10000)
    expect(await wallet.lockedFunds()).toBe(lock);
    await increaseTime(ctx().chain.provider, DAY - 60n);
    await expectRevert(wallet.payDay(), wallet, 'PayoutPeriodNotOver');
    await increaseTime(ctx().chain.provider, 60n);
    await confirm(wallet.payDay());
    const fee = daoFeeFor(lock, custom);
    expect(fee).toBe(8_551_620_000_000_000n); // floor(lock * 77 / 10000)
    expect(await d.token.balanceOf(d.addresses.dao)).toBe(fee);
    expect(hubStateName(await wallet.state())).toBe('Idle');
  });

  it('drive the suspect period and the freeze of seized funds', async () => {
    const { d, deployer, wallet } = ctx();
    const provider = ctx().chain.provider;
    await proposeCall(d.dao, deployer, wallet, 'suspect', [], { fastForward: provider });
    const endsAt = (await wallet.suspectedAt()) + 2n * DAY;
    const early = await propose(d.dao, deployer, wallet, 'ban');
    await moveClockTo(provider, endsAt - 60n); // past the early proposal's voting deadline and delay
    await expectRevert(d.dao.execute(early), wallet, 'SuspectPeriodNotOver');
    await moveClockTo(provider, endsAt);
    await proposeCall(d.dao, deployer, wallet, 'ban', [], { fastForward: provider });
    expect(await wallet.state()).toBe(HubState.Punished);
    expect(await d.token.balanceOf(d.addresses.dao)).toBe(0n);
    expect(await wallet.seizedFunds()).toBe(55n * SNM);
    const freeEnds = (await wallet.bannedAt()) + 3n * DAY;
    await moveClockTo(provider, freeEnds - 60n);
    await expectRevert(wallet.releaseSeized(), wallet, 'SeizedFundsFrozen');
    await moveClockTo(provider, freeEnds);
    await confirm(wallet.releaseSeized());
    expect(await d.token.balanceOf(d.addresses.dao)).toBe(55n * SNM);
  });
});
