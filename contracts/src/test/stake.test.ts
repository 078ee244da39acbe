// Stake.sol on a dev chain: staking with a minimum, unbonding, slashing by the hub only, exact amounts.
import { describe, expect, it } from 'vitest';
import { increaseTime } from '../chain.js';
import { confirm } from '../deploy.js';
import { SNM } from '../params.js';
import { deployStake, slashRef } from '../stake.js';
import { eventsOf, expectRevert, takeSigners, useDevChain } from './helpers.js';

const MIN = 100n * SNM;
const DAY = 86_400n;

const ctx = useDevChain(async (chain) => {
  const d = chain.deployment;
  const [deployer, hub, owner, other] = takeSigners(chain, 4);
  const { stake, address } = await deployStake(deployer, { token: d.addresses.token, treasury: d.addresses.dao, minStake: MIN, unbondingPeriod: DAY });
  for (const s of [owner, other]) {
    await confirm(d.token.transfer(s.address, 1000n * SNM));
    await confirm(d.token.connect(s).approve(address, 1000n * SNM));
  }
  return { d, stake, address, hub, owner, other };
});

const staked = async (hub: string, owner: string) => {
  const [s, u] = await ctx().stake.stakeOf(hub, owner);
  return { staked: s, unbonding: u };
};

describe('Stake', () => {
  it('takes a stake of at least the minimum with a hub, and refuses less with the amounts', async () => {
    const { stake, hub, owner } = ctx();
    const e = await expectRevert(stake.connect(owner).stake(hub.address, MIN - 1n), stake, 'BelowMinimum');
    expect([e.args[0], e.args[1]]).toEqual([MIN - 1n, MIN]);
    await expectRevert(stake.connect(owner).stake(hub.address, 0n), stake, 'ZeroAmount');
    await confirm(stake.connect(owner).stake(hub.address, MIN));
    await confirm(stake.connect(owner).stake(hub.address, 1n)); // a top-up above the minimum
    expect(await staked(hub.address, owner.address)).toEqual({ staked: MIN + 1n, unbonding: 0n });
  });

  it('lets only the hub it was staked with slash it, once per reference, exactly, into the treasury', async () => {
    const { d, stake, hub, owner, other } = ctx();
    await confirm(stake.connect(owner).stake(hub.address, 150n * SNM));
    const treasury0 = await d.token.balanceOf(d.addresses.dao);
    // another "hub" has no stake of this owner: a clear revert naming both
    const ns = await expectRevert(stake.connect(other).slash(owner.address, SNM, slashRef('r1')), stake, 'NotStaked');
    expect([ns.args[0], ns.args[1]]).toEqual([other.address, owner.address]);
    const receipt = await confirm(stake.connect(hub).slash(owner.address, 15n * SNM, slashRef('j-1.0.0')));
    expect(eventsOf(receipt, stake).find((x) => x.name === 'Slashed')?.args.amount).toBe(15n * SNM);
    await expectRevert(stake.connect(hub).slash(owner.address, SNM, slashRef('j-1.0.0')), stake, 'AlreadySlashed');
    expect(await staked(hub.address, owner.address)).toEqual({ staked: 135n * SNM, unbonding: 0n });
    expect((await d.token.balanceOf(d.addresses.dao)) - treasury0).toBe(15n * SNM);
    expect(await d.token.balanceOf(ctx().address)).toBe(135n * SNM);
  });

  it('an unstaked owner cannot be slashed', async () => {
    const { stake, hub, other } = ctx();
    await expectRevert(stake.connect(hub).slash(other.address, 1n, slashRef('x')), stake, 'NotStaked');
  });

  it('unbonding stays slashable until withdrawn after the period', async () => {
    const { d, stake, hub, owner } = ctx();
    await confirm(stake.connect(owner).stake(hub.address, 200n * SNM));
    await expectRevert(stake.connect(owner).requestUnstake(hub.address, 150n * SNM), stake, 'BelowMinimum'); // would leave 50
    await confirm(stake.connect(owner).requestUnstake(hub.address, 200n * SNM));
    await expectRevert(stake.connect(owner).withdraw(hub.address), stake, 'StillLocked');
    await confirm(stake.connect(hub).slash(owner.address, 500n * SNM, slashRef('late'))); // at most what there is
    expect(await staked(hub.address, owner.address)).toEqual({ staked: 0n, unbonding: 0n });
    await confirm(stake.connect(owner).stake(hub.address, MIN));
    await confirm(stake.connect(owner).requestUnstake(hub.address, MIN));
    await increaseTime(ctx().chain.provider, DAY);
    const before = await d.token.balanceOf(owner.address);
    await confirm(stake.connect(owner).withdraw(hub.address));
    expect((await d.token.balanceOf(owner.address)) - before).toBe(MIN);
  });
});
