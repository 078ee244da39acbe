// What a check of the deployed contracts against the whitepaper found (issue 16, item 5), one test each:
//   - a ban's seized funds are frozen "for some specified time" (2.4.3.2), not the DAO's to spend at once;
//   - a proposal is executed only after its voting deadline (plus the execution delay), not as soon as it
//     has a quorum, so that every member has the whole voting period to vote;
//   - the Whitelist shows a ban (not trusted, banned) and freezes the banned hub's record.
import type { JsonRpcSigner } from 'ethers';
import { describe, expect, it } from 'vitest';
import { increaseTime, latestTimestamp } from '../chain.js';
import { confirm, createHubWallet, deployAll, type Deployment } from '../deploy.js';
import { DAY, HubState, SNM } from '../params.js';
import { expectRevert, takeSigners, useDevChain } from './helpers.js';

const VOTING = DAY;
const DELAY = DAY;

/** Five members, quorum 2, one day to vote and one day between the decision and its execution. */
const ctx = useDevChain(async (chain) => {
  const [deployer, owner, alice, bob, stranger, carol, dave] = takeSigners(chain, 7);
  const d = await deployAll(deployer, {
    daoMembers: [deployer.address, alice.address, bob.address, carol.address, dave.address], daoQuorum: 2n, daoVotingPeriod: VOTING, daoExecutionDelay: DELAY,
  });
  await confirm(d.token.transfer(owner.address, 100n * SNM));
  const hub = await createHubWallet(d, owner, 'tcp://10.0.0.1:1883');
  await confirm(d.token.connect(owner).transfer(hub.address, 50n * SNM));
  return { d, deployer, owner, alice, bob, stranger, carol, dave, hub };
});

/** The id of a proposal by alice that bob seconds (quorum reached at once). */
async function proposeSeconded(d: Deployment, alice: JsonRpcSigner, bob: JsonRpcSigner, target: { getAddress(): Promise<string>; interface: { encodeFunctionData(m: string, a: readonly unknown[]): string } }, method: string, args: readonly unknown[] = []): Promise<bigint> {
  const id = await d.dao.proposalCount();
  await confirm(d.dao.connect(alice).propose(await target.getAddress(), target.interface.encodeFunctionData(method, args), method));
  await confirm(d.dao.connect(bob).vote(id, true));
  return id;
}

/** Proposes, seconds, waits out the voting period and the delay, executes. */
async function decide(target: Parameters<typeof proposeSeconded>[3], method: string, args: readonly unknown[] = []) {
  const { d, alice, bob, chain } = ctx();
  const id = await proposeSeconded(d, alice, bob, target, method, args);
  await increaseTime(chain.provider, VOTING + DELAY + 1n);
  return confirm(d.dao.execute(id));
}

/** Suspects the hub's wallet, waits the suspect period, bans it. */
async function ban() {
  const { d, hub, chain } = ctx();
  await decide(hub.wallet, 'suspect');
  await increaseTime(chain.provider, d.params.suspectPeriod);
  await decide(hub.wallet, 'ban');
}

describe('DAO.execute waits for the voting deadline and the execution delay', () => {
  it('refuses to execute a proposal that has its quorum before the deadline; the later votes still count', async () => {
    const { d, deployer, alice, bob, hub, chain } = ctx();
    const id = await proposeSeconded(d, alice, bob, d.whitelist, 'setTrusted', [hub.address, true]);
    expect(await d.dao.passed(id)).toBe(true);
    const deadline = (await d.dao.proposal(id)).deadline;
    const early = await expectRevert(d.dao.execute(id), d.dao, 'NotExecutableYet');
    expect(early.args.toArray()).toEqual([id, deadline + DELAY]);
    // the third member still votes, before the deadline
    await confirm(d.dao.connect(deployer).vote(id, false));
    expect([(await d.dao.proposal(id)).yes, (await d.dao.proposal(id)).no]).toEqual([2n, 1n]);
    // after the deadline but within the delay: still refused
    await increaseTime(chain.provider, deadline - (await latestTimestamp(chain.provider)) + 1n);
    await expectRevert(d.dao.connect(deployer).vote(id, true), d.dao, 'VotingClosed');
    await expectRevert(d.dao.execute(id), d.dao, 'NotExecutableYet');
    expect(await d.dao.executableAt(id)).toBe(deadline + DELAY);
    await increaseTime(chain.provider, deadline + DELAY - (await latestTimestamp(chain.provider)));
    await confirm(d.dao.execute(id));
    expect(await d.whitelist.isTrusted(hub.address)).toBe(true);
  });

  it('lets the members who vote later defeat a proposal the first two had passed', async () => {
    const { d, deployer, alice, bob, carol, dave, hub, chain } = ctx();
    const id = await proposeSeconded(d, alice, bob, d.whitelist, 'setTrusted', [hub.address, true]);
    expect(await d.dao.passed(id)).toBe(true);
    await expectRevert(d.dao.execute(id), d.dao, 'NotExecutableYet');
    for (const m of [deployer, carol, dave]) await confirm(d.dao.connect(m).vote(id, false));
    await increaseTime(chain.provider, VOTING + DELAY + 1n);
    await expectRevert(d.dao.execute(id), d.dao, 'NotPassed');
    expect(await d.whitelist.isTrusted(hub.address)).toBe(false);
  });
});

describe('a ban freezes the seized funds', () => {
  it('keeps the seized tokens out of the DAO’s reach until the freeze period is over', async () => {
    const { d, hub, stranger, chain } = ctx();
    const before = await d.token.balanceOf(d.addresses.dao);
    await ban();
    expect(await hub.wallet.state()).toBe(HubState.Punished);
    // nothing reached the DAO's ordinary balance: a vote cannot move it out
    expect(await d.token.balanceOf(d.addresses.dao)).toBe(before);
    expect(await hub.wallet.seizedFunds()).toBe(51n * SNM);
    expect(await d.token.balanceOf(hub.address)).toBe(51n * SNM);
    await expectRevert(decide(d.token, 'transfer', [stranger.address, 51n * SNM]), d.token, 'ERC20InsufficientBalance');
    // released to the DAO only after the freeze, by anyone
    const endsAt = (await hub.wallet.bannedAt()) + d.params.banFreezePeriod;
    const early = await expectRevert(hub.wallet.connect(stranger).releaseSeized(), hub.wallet, 'SeizedFundsFrozen');
    expect(early.args.toArray()).toEqual([endsAt]);
    await increaseTime(chain.provider, endsAt - (await latestTimestamp(chain.provider)));
    await confirm(hub.wallet.connect(stranger).releaseSeized());
    expect(await d.token.balanceOf(d.addresses.dao)).toBe(before + 51n * SNM);
    expect(await hub.wallet.seizedFunds()).toBe(0n);
    await expectRevert(hub.wallet.connect(stranger).releaseSeized(), hub.wallet, 'ZeroAmount');
  });
});

describe('the Whitelist shows a ban', () => {
  it('marks the banned hub banned and untrusted, and freezes its record', async () => {
    const { d, owner, hub } = ctx();
    await decide(d.whitelist, 'setTrusted', [hub.address, true]);
    expect(await d.whitelist.isTrusted(hub.address)).toBe(true);
    await ban();
    expect(await d.whitelist.isTrusted(hub.address)).toBe(false);
    expect(await d.whitelist.isBanned(hub.address)).toBe(true);
    const entry = await d.whitelist.hub(hub.address);
    expect([entry.trusted, entry.banned, entry.endpoint]).toEqual([false, true, 'tcp://10.0.0.1:1883']);
    expect(entry.bannedAt).toBe(await hub.wallet.bannedAt());
    await expectRevert(d.whitelist.connect(owner).setEndpoint(hub.address, 'tcp://10.6.6.6:1883'), d.whitelist, 'HubIsBanned');
    await expectRevert(decide(d.whitelist, 'setTrusted', [hub.address, true]), d.whitelist, 'HubIsBanned');
    expect((await d.whitelist.hub(hub.address)).endpoint).toBe('tcp://10.0.0.1:1883');
  });

  it('refuses a ban report from anything but a listed wallet', async () => {
    const { d, stranger } = ctx();
    await expectRevert(d.whitelist.connect(stranger).reportBan(), d.whitelist, 'NotListed');
  });
});
