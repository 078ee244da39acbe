import { ContractFactory } from 'ethers';
import { describe, expect, it } from 'vitest';
import { increaseTime } from '../chain.js';
import { executeWhenDue, proposeCall } from '../dao.js';
import { confirm, createHubWallet, deployAll, hubParamsOf } from '../deploy.js';
import { DAO, HubFactory } from '../generated/artifacts.js';
import { DAY, HubState, SNM, defaults } from '../params.js';
import { eventsOf, expectRevert, takeSigners, useDevChain } from './helpers.js';

/** A deployment governed by three members with quorum 2, and one listed hub. */
const ctx = useDevChain(async (chain) => {
  const [deployer, owner, alice, bob, stranger] = takeSigners(chain, 5);
  const d = await deployAll(deployer, { daoMembers: [deployer.address, alice.address, bob.address], daoQuorum: 2n });
  await confirm(d.token.transfer(owner.address, 100n * SNM));
  const hub = await createHubWallet(d, owner, 'tcp://10.0.0.1:1883');
  return { d, deployer, owner, alice, bob, stranger, hub };
});

/** Executes proposal `id` once it is due (the clock moves past its deadline and the execution delay). */
const executeDue = (id: bigint) => executeWhenDue(ctx().d.dao, id, ctx().chain.provider);

describe('DAO', () => {
  it('starts with its members and quorum', async () => {
    const { d, deployer, alice, bob, stranger } = ctx();
    expect(await d.dao.memberCount()).toBe(3n);
    expect(await d.dao.quorum()).toBe(2n);
    for (const m of [deployer, alice, bob]) expect(await d.dao.isMember(m.address)).toBe(true);
    expect(await d.dao.isMember(stranger.address)).toBe(false);
  });

  it('executes a proposal once it has a quorum of yes votes, and only once', async () => {
    const { d, alice, bob, hub } = ctx();
    const { id, executed } = await proposeCall(d.dao, alice, d.whitelist, 'setTrusted', [hub.address, true]);
    expect(executed).toBeNull();
    await expectRevert(d.dao.execute(id), d.dao, 'NotExecutableYet');
    await confirm(d.dao.connect(bob).vote(id, true));
    expect(await d.dao.passed(id)).toBe(true);
    await expectRevert(d.dao.execute(id), d.dao, 'NotExecutableYet');
    const receipt = await executeDue(id);
    expect(eventsOf(receipt, d.dao)).toEqual([{ name: 'Executed', args: [id] }]);
    expect(await d.whitelist.isTrusted(hub.address)).toBe(true);
    await expectRevert(d.dao.execute(id), d.dao, 'AlreadyExecuted');
    await expectRevert(d.dao.vote(id, true), d.dao, 'VotingClosed');
  });

  it('counts each member once and needs more yes than no', async () => {
    const { d, deployer, alice, bob, hub } = ctx();
    const { id } = await proposeCall(d.dao, alice, d.whitelist, 'setTrusted', [hub.address, true]);
    await expectRevert(d.dao.connect(alice).vote(id, true), d.dao, 'AlreadyVoted');
    await confirm(d.dao.connect(bob).vote(id, false));
    await confirm(d.dao.connect(deployer).vote(id, false));
    const p = await d.dao.proposal(id);
    expect([p.yes, p.no, p.executed]).toEqual([1n, 2n, false]);
    await expectRevert(executeDue(id), d.dao, 'NotPassed');
  });

  it('closes voting at the deadline', async () => {
    const { d, alice, bob, hub } = ctx();
    const { id } = await proposeCall(d.dao, alice, d.whitelist, 'setTrusted', [hub.address, true]);
    await increaseTime(ctx().chain.provider, defaults.daoVotingPeriod + 1n);
    await expectRevert(d.dao.connect(bob).vote(id, true), d.dao, 'VotingClosed');
    await expectRevert(executeDue(id), d.dao, 'NotPassed');
  });

  it('refuses non-members and unknown proposals', async () => {
    const { d, stranger, hub } = ctx();
    const data = d.whitelist.interface.encodeFunctionData('setTrusted', [hub.address, true]);
    await expectRevert(d.dao.connect(stranger).propose(d.addresses.whitelist, data, 'x'), d.dao, 'NotMember');
    await expectRevert(d.dao.connect(stranger).vote(0n, true), d.dao, 'NotMember');
    await expectRevert(d.dao.vote(99n, true), d.dao, 'UnknownProposal');
    await expectRevert(d.dao.execute(99n), d.dao, 'UnknownProposal');
  });

  it('changes members and quorum only through its own proposals', async () => {
    const { d, alice, bob, stranger } = ctx();
    await expectRevert(d.dao.addMember(stranger.address), d.dao, 'NotSelf');
    await expectRevert(d.dao.setQuorum(1n), d.dao, 'NotSelf');
    await expectRevert(d.dao.removeMember(bob.address), d.dao, 'NotSelf');
    await expectRevert(d.dao.setExecutionDelay(0n), d.dao, 'NotSelf');
    await expectRevert(d.dao.setVotingPeriod(DAY), d.dao, 'NotSelf');

    const delay = await proposeCall(d.dao, alice, d.dao, 'setExecutionDelay', [2n * DAY]);
    await confirm(d.dao.connect(bob).vote(delay.id, true));
    await executeDue(delay.id);
    expect(await d.dao.executionDelay()).toBe(2n * DAY);
    const zero = await proposeCall(d.dao, alice, d.dao, 'setVotingPeriod', [0n]);
    await confirm(d.dao.connect(bob).vote(zero.id, true));
    expect(await d.dao.executableAt(zero.id)).toBe((await d.dao.proposal(zero.id)).deadline + 2n * DAY);
    await expectRevert(executeDue(zero.id), d.dao, 'ZeroVotingPeriod');

    const add = await proposeCall(d.dao, alice, d.dao, 'addMember', [stranger.address]);
    await confirm(d.dao.connect(bob).vote(add.id, true));
    await executeDue(add.id);
    expect(await d.dao.memberCount()).toBe(4n);

    const tooHigh = await proposeCall(d.dao, alice, d.dao, 'setQuorum', [5n]);
    await confirm(d.dao.connect(bob).vote(tooHigh.id, true));
    const refused = await expectRevert(executeDue(tooHigh.id), d.dao, 'InvalidQuorum');
    expect(refused.args.toArray()).toEqual([5n, 4n]);

    const again = await proposeCall(d.dao, alice, d.dao, 'addMember', [bob.address]);
    await confirm(d.dao.connect(bob).vote(again.id, true));
    await expectRevert(executeDue(again.id), d.dao, 'AlreadyMember');
  });

  it('reports a call that failed without an error as ExecutionFailed', async () => {
    const { d, alice, bob } = ctx();
    const receipt = await confirm(d.dao.connect(alice).propose(d.addresses.token, '0xdeadbeef', 'garbage'));
    const id = eventsOf(receipt, d.dao).find((e) => e.name === 'Proposed')?.args[0] as bigint;
    await confirm(d.dao.connect(bob).vote(id, true));
    await expectRevert(executeDue(id), d.dao, 'ExecutionFailed');
  });

  it('rejects an impossible quorum at deployment', async () => {
    const { deployer } = ctx();
    const factory = new ContractFactory(DAO.abi as never, DAO.bytecode, deployer);
    await expectRevert(factory.deploy([deployer.address], 2n, DAY, DAY), ctx().d.dao, 'InvalidQuorum');
    await expectRevert(factory.deploy([deployer.address, deployer.address], 1n, DAY, DAY), ctx().d.dao, 'AlreadyMember');
    await expectRevert(factory.deploy([deployer.address], 1n, 0n, DAY), ctx().d.dao, 'ZeroVotingPeriod');
  });

  it('spends the DAO’s tokens only by proposal', async () => {
    const { d, alice, bob, stranger } = ctx();
    await confirm(d.token.transfer(d.addresses.dao, 10n * SNM));
    const pay = await proposeCall(d.dao, alice, d.token, 'transfer', [stranger.address, 4n * SNM]);
    await confirm(d.dao.connect(bob).vote(pay.id, true));
    await executeDue(pay.id);
    expect(await d.token.balanceOf(stranger.address)).toBe(4n * SNM);
    expect(await d.token.balanceOf(d.addresses.dao)).toBe(6n * SNM);
  });
});

describe('Whitelist', () => {
  it('lists hubs created by the factory', async () => {
    const { d, owner, hub } = ctx();
    expect(await d.whitelist.factory()).toBe(d.addresses.factory);
    expect(await d.whitelist.hubCount()).toBe(1n);
    expect(await d.whitelist.walletAt(0n)).toBe(hub.address);
    expect(await d.whitelist.isListed(hub.address)).toBe(true);
    const second = await createHubWallet(d, owner, 'tcp://10.0.0.2:1883');
    expect(await d.whitelist.hubCount()).toBe(2n);
    expect(await d.whitelist.walletAt(1n)).toBe(second.address);
    await expectRevert(d.whitelist.walletAt(2n), d.whitelist, 'IndexOutOfRange');
  });

  it('lets only the hub owner change its endpoint', async () => {
    const { d, owner, stranger, hub } = ctx();
    await confirm(d.whitelist.connect(owner).setEndpoint(hub.address, 'tcp://10.0.0.9:8883'));
    expect((await d.whitelist.hub(hub.address)).endpoint).toBe('tcp://10.0.0.9:8883');
    await expectRevert(d.whitelist.connect(stranger).setEndpoint(hub.address, 'evil'), d.whitelist, 'NotHubOwner');
    await expectRevert(d.whitelist.connect(owner).setEndpoint(stranger.address, 'x'), d.whitelist, 'NotListed');
    await expectRevert(d.whitelist.hub(stranger.address), d.whitelist, 'NotListed');
  });

  it('takes hubs only from the factory, trust only from the DAO, and its factory only once', async () => {
    const { d, deployer, owner, stranger, hub } = ctx();
    await expectRevert(d.whitelist.connect(owner).register(owner.address, owner.address, 'x'), d.whitelist, 'NotFactory');
    await expectRevert(d.whitelist.connect(owner).setTrusted(hub.address, true), d.whitelist, 'NotDAO');
    await expectRevert(d.whitelist.setTrusted(hub.address, true), d.whitelist, 'NotDAO');
    await expectRevert(d.whitelist.connect(stranger).setFactory(stranger.address), d.whitelist, 'NotDeployer');
    await expectRevert(d.whitelist.connect(deployer).setFactory(stranger.address), d.whitelist, 'FactoryAlreadySet');
    expect(await d.whitelist.isTrusted(stranger.address)).toBe(false);
  });
});

describe('HubFactory', () => {
  it('creates registered wallets with its parameters', async () => {
    const { d, owner, hub } = ctx();
    const p = await d.factory.params();
    expect([p.deposit, p.lockFeeBps, p.daoFeeBps, p.payoutPeriod, p.suspectPeriod, p.banFreezePeriod]).toEqual([
      SNM,
      3_000n,
      50n,
      30n * DAY,
      120n * DAY,
      30n * DAY,
    ]);
    expect(await hub.wallet.banFreezePeriod()).toBe(30n * DAY);
    expect(await hub.wallet.whitelist()).toBe(d.addresses.whitelist);
    expect(await hub.wallet.state()).toBe(HubState.Registered);
    expect(await hub.wallet.owner()).toBe(owner.address);
    expect(await d.token.balanceOf(hub.address)).toBe(SNM);
  });

  it('needs the deposit approved and held', async () => {
    const { d, stranger, owner } = ctx();
    await expectRevert(d.factory.connect(owner).createHubWallet('x'), d.token, 'ERC20InsufficientAllowance');
    await confirm(d.token.connect(stranger).approve(d.addresses.factory, SNM));
    await expectRevert(d.factory.connect(stranger).createHubWallet('x'), d.token, 'ERC20InsufficientBalance');
  });

  it('rejects invalid parameters and missing addresses', async () => {
    const { d, deployer } = ctx();
    const factory = new ContractFactory(HubFactory.abi as never, HubFactory.bytecode, deployer);
    const bad = { ...hubParamsOf(defaults), daoFeeBps: 10_001n };
    const { token, dao, whitelist } = d.addresses;
    await expectRevert(factory.deploy(token, dao, whitelist, bad), d.factory, 'InvalidParams');
    const zero = '0x0000000000000000000000000000000000000000';
    await expectRevert(factory.deploy(token, zero, whitelist, hubParamsOf(defaults)), d.factory, 'ZeroAddress');
  });
});

describe('SNMToken', () => {
  it('is an 18-decimal ERC-20 that only its owner mints', async () => {
    const { d, stranger, deployer } = ctx();
    expect([await d.token.name(), await d.token.symbol(), await d.token.decimals()]).toEqual(['SONM Token', 'SNM', 18n]);
    expect(await d.token.owner()).toBe(deployer.address);
    await expectRevert(d.token.connect(stranger).mint(stranger.address, 1n), d.token, 'OwnableUnauthorizedAccount');
    await confirm(d.token.mint(stranger.address, 5n));
    expect(await d.token.balanceOf(stranger.address)).toBe(5n);
  });
});
