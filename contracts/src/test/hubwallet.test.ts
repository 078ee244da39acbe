import { ContractFactory } from 'ethers';
import { describe, expect, it } from 'vitest';
import { increaseTime, latestTimestamp } from '../chain.js';
import { propose, proposeCall } from '../dao.js';
import { confirm, hubParamsOf, hubWalletAt } from '../deploy.js';
import { HubWallet } from '../generated/artifacts.js';
import { DAY, HubState, SNM, daoFeeFor, defaults, lockFor } from '../params.js';
import { hubFixture } from './fixture.js';
import { eventsOf, expectRevert, moveClockTo, useDevChain } from './helpers.js';

const ctx = useDevChain((chain) => hubFixture(chain));

async function info() {
  const [state, balance, frozen, locked, owed] = await ctx().wallet.info();
  return { state, balance, frozen, locked, owed };
}

/** Has the DAO (deployer is its only member, quorum 1) call `method` on the wallet (the clock moves past the vote). */
async function daoCalls(method: 'suspect' | 'rehab' | 'ban') {
  const { d, deployer, wallet, chain } = ctx();
  return proposeCall(d.dao, deployer, wallet, method, [], { fastForward: chain.provider });
}

describe('HubWallet creation and registration', () => {
  it('is Registered through the factory with the deposit frozen and the time recorded', async () => {
    const { d, owner, wallet, walletAddress } = ctx();
    expect(await info()).toEqual({ state: HubState.Registered, balance: 101n * SNM, frozen: SNM, locked: 0n, owed: 0n });
    expect(await wallet.owner()).toBe(owner.address);
    expect(await wallet.dao()).toBe(d.addresses.dao);
    expect(await wallet.factory()).toBe(d.addresses.factory);
    expect(await wallet.registeredAt()).toBeGreaterThan(0n);
    expect(await wallet.registeredAt()).toBeLessThanOrEqual(await latestTimestamp(ctx().chain.provider));
    const entry = await d.whitelist.hub(walletAddress);
    expect([entry.owner, entry.trusted, entry.endpoint]).toEqual([owner.address, false, 'mqtt://hub.example:1883']);
  });

  it('stays Created when deployed directly: only its deployer may register it, and it is not listed', async () => {
    const { d, owner, stranger } = ctx();
    const factory = new ContractFactory(HubWallet.abi as never, HubWallet.bytecode, stranger);
    const deployed = await factory.deploy(d.addresses.token, owner.address, d.addresses.dao, d.addresses.whitelist, hubParamsOf(defaults));
    await deployed.waitForDeployment();
    const direct = hubWalletAt(await deployed.getAddress(), owner);
    await confirm(d.token.connect(owner).transfer(await direct.getAddress(), 5n * SNM));
    expect(await direct.state()).toBe(HubState.Created);
    expect(await d.whitelist.isListed(await direct.getAddress())).toBe(false);
    await expectRevert(direct.register(), direct, 'NotFactory');
    await expectRevert(direct.transfer(owner.address, 1n), direct, 'WrongState');
    await expectRevert(direct.payDay(), direct, 'WrongState');
    await expectRevert(direct.withdraw(owner.address, 1n), direct, 'WrongState');
  });

  it('rejects a lock fee above 100%', async () => {
    const { d, owner } = ctx();
    const factory = new ContractFactory(HubWallet.abi as never, HubWallet.bytecode, owner);
    const bad = { ...hubParamsOf(defaults), lockFeeBps: 10_001n };
    await expectRevert(factory.deploy(d.addresses.token, owner.address, d.addresses.dao, d.addresses.whitelist, bad), ctx().wallet, 'InvalidParams');
  });
});

describe('HubWallet.transfer', () => {
  it('approves the miner, locks 30% of the payout, and moves no tokens', async () => {
    const { d, wallet, miners } = ctx();
    const amount = 10n * SNM + 7n;
    const receipt = await confirm(wallet.transfer(miners[0].address, amount));
    const lock = lockFor(amount);
    expect(lock).toBe(3n * SNM + 2n); // floor((10e18 + 7) * 3000 / 10000)
    expect(await info()).toEqual({ state: HubState.Registered, balance: 101n * SNM, frozen: SNM, locked: lock, owed: amount });
    expect(await wallet.allowance(miners[0].address)).toBe(amount);
    expect(await wallet.claimable(miners[0].address)).toBe(amount);
    expect(await d.token.balanceOf(miners[0].address)).toBe(0n);
    expect(eventsOf(receipt, wallet)).toEqual([{ name: 'Paid', args: [miners[0].address, amount, lock] }]);
  });

  it('accumulates allowances and locks per transfer, rounding each lock down', async () => {
    const { wallet, miners } = ctx();
    for (const amount of [3n, 3n, 3n, 10n]) await confirm(wallet.transfer(miners[1].address, amount));
    expect(await wallet.allowance(miners[1].address)).toBe(19n);
    expect(await wallet.lockedFunds()).toBe(0n + 0n + 0n + 3n);
  });

  it('refuses when the balance would fall below frozen + locked + owed', async () => {
    const { wallet, miners } = ctx();
    await confirm(wallet.transfer(miners[0].address, 50n * SNM)); // owed 50, locked 15 -> 35 SNM free
    const free = 101n * SNM - SNM - 50n * SNM - 15n * SNM;
    expect(await wallet.available()).toBe(free);
    const fits = 26n * SNM; // + 7.8 SNM lock = 33.8 SNM
    const tooMuch = free; // + 30% lock > free
    const refused = await expectRevert(wallet.transfer(miners[1].address, tooMuch), wallet, 'InsufficientFunds');
    expect(refused.args.toArray()).toEqual([101n * SNM, SNM + 15n * SNM + lockFor(tooMuch) + 50n * SNM + tooMuch]);
    await confirm(wallet.transfer(miners[1].address, fits));
    expect(await wallet.available()).toBe(free - fits - lockFor(fits));
  });

  it('spends up to the last wei exactly', async () => {
    const { wallet, miners } = ctx();
    // Bring the free funds to exactly 13 SNM, which pays 10 SNM + its 3 SNM lock and not a wei more.
    await confirm(wallet.transfer(miners[0].address, 66n * SNM)); // lock 19.8 -> free 100 - 85.8 = 14.2 SNM
    await confirm(wallet.transfer(miners[0].address, SNM)); // lock 0.3 -> free 12.9 SNM
    await confirm(ctx().d.token.connect(ctx().owner).transfer(ctx().walletAddress, SNM / 10n)); // free 13 SNM
    expect(await wallet.available()).toBe(13n * SNM);
    await expectRevert(wallet.transfer(miners[1].address, 10n * SNM + 1n), wallet, 'InsufficientFunds');
    await confirm(wallet.transfer(miners[1].address, 10n * SNM));
    expect(await wallet.available()).toBe(0n);
    await expectRevert(wallet.transfer(miners[1].address, 1n), wallet, 'InsufficientFunds');
  });

  it('rejects the zero address and zero amounts', async () => {
    const { wallet, miners } = ctx();
    await expectRevert(wallet.transfer('0x0000000000000000000000000000000000000000', 1n), wallet, 'ZeroAddress');
    await expectRevert(wallet.transfer(miners[0].address, 0n), wallet, 'ZeroAmount');
  });
});

describe('HubWallet.claim', () => {
  it('lets the miner pull part of its allowance, then the rest', async () => {
    const { d, wallet, miners } = ctx();
    await confirm(wallet.transfer(miners[0].address, 5n * SNM));
    const asMiner = wallet.connect(miners[0]);
    const receipt = await confirm(asMiner.claim(2n * SNM));
    expect(eventsOf(receipt, wallet)).toEqual([{ name: 'Claimed', args: [miners[0].address, 2n * SNM] }]);
    expect(await d.token.balanceOf(miners[0].address)).toBe(2n * SNM);
    expect(await wallet.allowance(miners[0].address)).toBe(3n * SNM);
    expect(await wallet.totalOwed()).toBe(3n * SNM);
    expect(await asMiner.claimAll.staticCall()).toBe(3n * SNM);
    await confirm(asMiner.claimAll());
    expect(await d.token.balanceOf(miners[0].address)).toBe(5n * SNM);
    expect(await info()).toEqual({ state: HubState.Registered, balance: 96n * SNM, frozen: SNM, locked: lockFor(5n * SNM), owed: 0n });
  });

  it('refuses more than the allowance, zero, and strangers', async () => {
    const { wallet, miners, stranger } = ctx();
    await confirm(wallet.transfer(miners[0].address, 5n));
    const over = await expectRevert(wallet.connect(miners[0]).claim(6n), wallet, 'ClaimExceedsAllowance');
    expect(over.args.toArray()).toEqual([5n, 6n]);
    await expectRevert(wallet.connect(miners[0]).claim(0n), wallet, 'ZeroAmount');
    await expectRevert(wallet.connect(stranger).claim(1n), wallet, 'ClaimExceedsAllowance');
    await expectRevert(wallet.connect(stranger).claimAll(), wallet, 'ZeroAmount');
  });
});

describe('HubWallet.payDay', () => {
  it('is refused before the payout period ends', async () => {
    const { wallet } = ctx();
    const endsAt = (await wallet.registeredAt()) + defaults.payoutPeriod;
    const refused = await expectRevert(wallet.payDay(), wallet, 'PayoutPeriodNotOver');
    expect(refused.args.toArray()).toEqual([endsAt]);
    await increaseTime(ctx().chain.provider, defaults.payoutPeriod - 60n);
    await expectRevert(wallet.payDay(), wallet, 'PayoutPeriodNotOver');
  });

  it('after the period sends 0.5% of the locked funds to the DAO, unlocks everything, goes Idle', async () => {
    const { d, wallet, miners } = ctx();
    await confirm(wallet.transfer(miners[0].address, 10n * SNM + 7n));
    await confirm(wallet.transfer(miners[1].address, 33n * SNM + 333n));
    const locked = lockFor(10n * SNM + 7n) + lockFor(33n * SNM + 333n);
    expect(await wallet.lockedFunds()).toBe(locked);
    const fee = daoFeeFor(locked);
    expect(fee).toBe((locked * 50n) / 10_000n);
    expect(fee).toBe(64_500_000_000_000_000n); // floor((3e18 + 2 + 9.9e18 + 99) / 200)

    await increaseTime(ctx().chain.provider, 30n * DAY);
    const receipt = await confirm(wallet.payDay());
    expect(eventsOf(receipt, wallet)).toEqual([{ name: 'PayDayDone', args: [fee, locked + SNM - fee] }]);
    expect(await d.token.balanceOf(d.addresses.dao)).toBe(fee);
    const owed = 43n * SNM + 340n;
    expect(await info()).toEqual({ state: HubState.Idle, balance: 101n * SNM - fee, frozen: 0n, locked: 0n, owed });
  });
});

describe('HubWallet when Idle', () => {
  async function goIdle() {
    const { wallet, miners } = ctx();
    await confirm(wallet.transfer(miners[0].address, 20n * SNM)); // lock 6 SNM
    await increaseTime(ctx().chain.provider, 30n * DAY);
    await confirm(wallet.payDay()); // fee 0.03 SNM
    return 101n * SNM - (6n * SNM) / 200n; // balance after payDay
  }

  it('lets the owner withdraw everything not owed to miners, and miners still claim', async () => {
    const { d, wallet, owner, miners } = ctx();
    const balance = await goIdle();
    const free = balance - 20n * SNM;
    const ownerBefore = await d.token.balanceOf(owner.address);
    await expectRevert(wallet.withdraw(owner.address, free + 1n), wallet, 'InsufficientFunds');
    await confirm(wallet.withdraw(owner.address, free));
    expect(await d.token.balanceOf(owner.address)).toBe(ownerBefore + free);
    await confirm(wallet.connect(miners[0]).claimAll());
    expect(await d.token.balanceOf(miners[0].address)).toBe(20n * SNM);
    expect(await info()).toEqual({ state: HubState.Idle, balance: 0n, frozen: 0n, locked: 0n, owed: 0n });
  });

  it('refuses payouts and payDay, and re-registers on the owner’s word', async () => {
    const { wallet, miners } = ctx();
    await goIdle();
    await expectRevert(wallet.transfer(miners[0].address, 1n), wallet, 'WrongState');
    await expectRevert(wallet.transferBatch([miners[0].address], [1n]), wallet, 'WrongState');
    await expectRevert(wallet.payDay(), wallet, 'WrongState');
    const before = await wallet.registeredAt();
    await confirm(wallet.register());
    expect(await wallet.state()).toBe(HubState.Registered);
    expect(await wallet.frozenFunds()).toBe(SNM);
    expect(await wallet.registeredAt()).toBeGreaterThan(before);
    await expectRevert(wallet.withdraw(ctx().owner.address, 1n), wallet, 'WrongState');
    await expectRevert(wallet.register(), wallet, 'WrongState');
  });

  it('cannot re-register without the deposit free', async () => {
    const { wallet, owner } = ctx();
    const balance = await goIdle();
    await confirm(wallet.withdraw(owner.address, balance - 20n * SNM - SNM + 1n));
    const refused = await expectRevert(wallet.register(), wallet, 'InsufficientFunds');
    expect(refused.args.toArray()).toEqual([SNM - 1n, SNM]);
  });
});

describe('HubWallet suspect, rehab, ban', () => {
  it('suspect blocks every owner and miner operation', async () => {
    const { wallet, miners, owner } = ctx();
    await confirm(wallet.transfer(miners[0].address, 5n * SNM));
    const { executed } = await daoCalls('suspect');
    expect(executed).not.toBeNull();
    expect(await wallet.state()).toBe(HubState.Suspected);
    expect(await wallet.suspectedAt()).toBe(await latestTimestamp(ctx().chain.provider));
    await expectRevert(wallet.transfer(miners[0].address, 1n), wallet, 'WrongState');
    await expectRevert(wallet.transferBatch([miners[0].address], [1n]), wallet, 'WrongState');
    await expectRevert(wallet.payDay(), wallet, 'WrongState');
    await expectRevert(wallet.withdraw(owner.address, 1n), wallet, 'WrongState');
    await expectRevert(wallet.register(), wallet, 'WrongState');
    await expectRevert(wallet.connect(miners[0]).claim(1n), wallet, 'WrongState');
    expect(await wallet.claimable(miners[0].address)).toBe(0n);
    await increaseTime(ctx().chain.provider, 30n * DAY);
    await expectRevert(wallet.payDay(), wallet, 'WrongState');
  });

  it('suspect only applies to a Registered wallet', async () => {
    const { wallet } = ctx();
    await increaseTime(ctx().chain.provider, 30n * DAY);
    await confirm(wallet.payDay());
    await expectRevert(daoCalls('suspect'), wallet, 'WrongState');
  });

  it('rehab removes every freeze and leaves the wallet Idle with the allowances intact', async () => {
    const { wallet, miners, owner, d } = ctx();
    await confirm(wallet.transfer(miners[0].address, 5n * SNM));
    await expectRevert(daoCalls('rehab'), wallet, 'WrongState');
    await daoCalls('suspect');
    await daoCalls('rehab');
    expect(await info()).toEqual({ state: HubState.Idle, balance: 101n * SNM, frozen: 0n, locked: 0n, owed: 5n * SNM });
    await confirm(wallet.connect(miners[0]).claimAll());
    await confirm(wallet.withdraw(owner.address, 96n * SNM));
    expect(await d.token.balanceOf(d.addresses.dao)).toBe(0n);
  });

  it('ban is refused before 120 days and then seizes every token, frozen for 30 days before the DAO gets it', async () => {
    const { wallet, miners, d, deployer, stranger } = ctx();
    const provider = ctx().chain.provider;
    await confirm(wallet.transfer(miners[0].address, 5n * SNM));
    await daoCalls('suspect');
    const endsAt = (await wallet.suspectedAt()) + 120n * DAY;
    const early = await expectRevert(daoCalls('ban'), wallet, 'SuspectPeriodNotOver');
    expect(early.args.toArray()).toEqual([endsAt]);
    const late = await propose(d.dao, deployer, wallet, 'ban');
    await moveClockTo(provider, endsAt - 60n);
    await expectRevert(d.dao.execute(late), wallet, 'SuspectPeriodNotOver');
    await moveClockTo(provider, endsAt);
    const executed = await confirm(d.dao.execute(late));
    expect(eventsOf(executed, wallet)).toEqual([{ name: 'HubBanned', args: [101n * SNM] }]);
    expect(eventsOf(executed, d.whitelist)).toEqual([{ name: 'HubBanned', args: [ctx().walletAddress, await wallet.bannedAt()] }]);
    expect(await d.token.balanceOf(d.addresses.dao)).toBe(0n);
    expect(await info()).toEqual({ state: HubState.Punished, balance: 101n * SNM, frozen: 0n, locked: 0n, owed: 0n });
    expect(await wallet.seizedFunds()).toBe(101n * SNM);
    expect(await wallet.available()).toBe(0n);
    const freeAt = (await wallet.bannedAt()) + 30n * DAY;
    const frozen = await expectRevert(wallet.connect(stranger).releaseSeized(), wallet, 'SeizedFundsFrozen');
    expect(frozen.args.toArray()).toEqual([freeAt]);
    await moveClockTo(provider, freeAt);
    const released = await confirm(wallet.connect(stranger).releaseSeized());
    expect(eventsOf(released, wallet)).toEqual([{ name: 'SeizedReleased', args: [101n * SNM] }]);
    expect(await d.token.balanceOf(d.addresses.dao)).toBe(101n * SNM);
    expect(await info()).toEqual({ state: HubState.Punished, balance: 0n, frozen: 0n, locked: 0n, owed: 0n });
  });

  it('a punished wallet blocks its owner and miners for good', async () => {
    const { wallet, miners, owner, d } = ctx();
    await confirm(wallet.transfer(miners[0].address, 5n * SNM));
    await expectRevert(wallet.releaseSeized(), wallet, 'WrongState');
    await daoCalls('suspect');
    await increaseTime(ctx().chain.provider, 120n * DAY);
    await daoCalls('ban');
    await confirm(d.token.connect(owner).transfer(ctx().walletAddress, SNM)); // tokens sent afterwards go with the seized ones
    await expectRevert(wallet.transfer(miners[0].address, 1n), wallet, 'WrongState');
    await expectRevert(wallet.payDay(), wallet, 'WrongState');
    await expectRevert(wallet.withdraw(owner.address, 1n), wallet, 'WrongState');
    await expectRevert(wallet.register(), wallet, 'WrongState');
    await expectRevert(wallet.connect(miners[0]).claim(1n), wallet, 'WrongState');
    await expectRevert(daoCalls('rehab'), wallet, 'WrongState');
    await expectRevert(daoCalls('suspect'), wallet, 'WrongState');
    await expectRevert(daoCalls('ban'), wallet, 'WrongState');
    await increaseTime(ctx().chain.provider, 30n * DAY);
    await confirm(wallet.releaseSeized());
    expect(await d.token.balanceOf(d.addresses.dao)).toBe(102n * SNM);
  }, 120_000); // some 30 transactions: 6 s alone, past 30 s once beside a full image build (fresh-clone run)
});

describe('HubWallet authorization', () => {
  it('owner-only functions refuse everyone else with NotOwner', async () => {
    const { wallet, stranger, miners, deployer } = ctx();
    for (const who of [stranger, miners[0], deployer]) {
      const as = wallet.connect(who);
      await expectRevert(as.transfer(who.address, 1n), wallet, 'NotOwner');
      await expectRevert(as.transferBatch([who.address], [1n]), wallet, 'NotOwner');
      await expectRevert(as.payDay(), wallet, 'NotOwner');
      await expectRevert(as.withdraw(who.address, 1n), wallet, 'NotOwner');
    }
    await increaseTime(ctx().chain.provider, 30n * DAY);
    await confirm(wallet.payDay());
    await expectRevert(wallet.connect(stranger).register(), wallet, 'NotOwner');
  });

  it('DAO-only functions refuse the owner and even DAO members acting directly with NotDAO', async () => {
    const { wallet, stranger, owner, deployer } = ctx();
    for (const who of [owner, stranger, deployer]) {
      const as = wallet.connect(who);
      await expectRevert(as.suspect(), wallet, 'NotDAO');
      await expectRevert(as.rehab(), wallet, 'NotDAO');
      await expectRevert(as.ban(), wallet, 'NotDAO');
    }
  });

  it('register is refused while Registered, whoever calls', async () => {
    const { wallet, stranger } = ctx();
    await expectRevert(wallet.register(), wallet, 'WrongState');
    await expectRevert(wallet.connect(stranger).register(), wallet, 'WrongState');
  });
});
