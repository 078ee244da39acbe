import { dataSlice, getAddress, id } from 'ethers';
import { describe, expect, it } from 'vitest';
import { confirm } from '../deploy.js';
import { HubState, SNM, lockFor } from '../params.js';
import { hubFixture } from './fixture.js';
import { eventsOf, expectRevert, useDevChain } from './helpers.js';

const ctx = useDevChain((chain) => hubFixture(chain, 500n * SNM));
const ZERO = '0x0000000000000000000000000000000000000000';

/** `n` distinct, never-seen addresses (like a hub's first payout to new miners). */
function freshAddresses(n: number, salt: string): string[] {
  return Array.from({ length: n }, (_, i) => getAddress(dataSlice(id(`${salt}:${i}`), 12)));
}

describe('HubWallet.transferBatch', () => {
  it('adds each amount to its miner’s allowance and locks the total once', async () => {
    const { d, wallet, miners } = ctx();
    const [a, b, c] = miners.map((m) => m.address) as [string, string, string];
    const amounts = [SNM, 2n * SNM + 1n, 3n, 5n * SNM];
    const total = 8n * SNM + 4n;
    const receipt = await confirm(wallet.transferBatch([a, b, a, c], amounts));
    const lock = lockFor(total);
    expect(lock).toBe((24n * SNM) / 10n + 1n);
    expect(await wallet.allowance(a)).toBe(SNM + 3n);
    expect(await wallet.allowance(b)).toBe(2n * SNM + 1n);
    expect(await wallet.allowance(c)).toBe(5n * SNM);
    expect(await wallet.totalOwed()).toBe(total);
    expect(await wallet.lockedFunds()).toBe(lock);
    expect(await d.token.balanceOf(ctx().walletAddress)).toBe(501n * SNM);
    expect(eventsOf(receipt, wallet)).toEqual([{ name: 'BatchPaid', args: [4n, total, lock] }]);

    for (const m of miners) await confirm(wallet.connect(m).claimAll());
    expect(await d.token.balanceOf(a)).toBe(SNM + 3n);
    expect(await d.token.balanceOf(c)).toBe(5n * SNM);
    expect(await wallet.totalOwed()).toBe(0n);
    expect(await wallet.state()).toBe(HubState.Registered);
  });

  it('rounds the lock on the batch total, not per miner', async () => {
    const { wallet, miners } = ctx();
    await confirm(wallet.transferBatch([miners[0].address, miners[1].address, miners[2].address, miners[0].address], [3n, 3n, 3n, 1n]));
    expect(await wallet.lockedFunds()).toBe(3n); // per transfer it would be 0 + 0 + 0 + 0
  });

  it('allows zero amounts among others but not an all-zero batch', async () => {
    const { wallet, miners } = ctx();
    await confirm(wallet.transferBatch([miners[0].address, miners[1].address], [0n, 7n]));
    expect(await wallet.allowance(miners[1].address)).toBe(7n);
    await expectRevert(wallet.transferBatch([miners[0].address], [0n]), wallet, 'ZeroAmount');
  });

  it('rejects malformed batches without changing anything', async () => {
    const { wallet, miners } = ctx();
    const m = miners[0].address;
    await expectRevert(wallet.transferBatch([m, m], [1n]), wallet, 'LengthMismatch');
    await expectRevert(wallet.transferBatch([], []), wallet, 'EmptyBatch');
    await expectRevert(wallet.transferBatch([m, ZERO], [1n, 1n]), wallet, 'ZeroAddress');
    const free = await wallet.available();
    const refused = await expectRevert(wallet.transferBatch([m, m], [free, 1n]), wallet, 'InsufficientFunds');
    expect(refused.args.toArray()).toEqual([501n * SNM, SNM + lockFor(free + 1n) + free + 1n]);
    expect(await wallet.allowance(m)).toBe(0n);
    expect(await wallet.totalOwed()).toBe(0n);
    expect(await wallet.lockedFunds()).toBe(0n);
  });

  it('fills the wallet to the last wei and no further', async () => {
    const { wallet, miners } = ctx();
    // 500 SNM free: a total T with T + floor(0.3 T) = 500 SNM exactly.
    const amounts = [100n * SNM, 284_615_384_615_384_615_385n];
    const total = amounts[0]! + amounts[1]!;
    expect(total + lockFor(total)).toBe(500n * SNM);
    await expectRevert(wallet.transferBatch([miners[0].address, miners[1].address], [amounts[0]!, amounts[1]! + 1n]), wallet, 'InsufficientFunds');
    await confirm(wallet.transferBatch([miners[0].address, miners[1].address], amounts));
    expect(await wallet.available()).toBe(0n);
  });

  it('pays 100 new miners in one transaction for under 40,000 gas each', async () => {
    const { wallet } = ctx();
    const miners = freshAddresses(100, 'batch-test');
    const amounts = miners.map((_, i) => SNM + BigInt(i));
    const receipt = await confirm(wallet.transferBatch(miners, amounts));
    const perMiner = receipt.gasUsed / 100n;
    expect(perMiner).toBeLessThan(40_000n);
    for (const [i, m] of miners.entries()) expect(await wallet.allowance(m)).toBe(SNM + BigInt(i));
    const total = amounts.reduce((s, a) => s + a, 0n);
    expect(await wallet.totalOwed()).toBe(total);
    expect(await wallet.lockedFunds()).toBe(lockFor(total));
  });

  it('is refused for anyone but the owner and outside Registered', async () => {
    const { wallet, miners, stranger } = ctx();
    await expectRevert(wallet.connect(stranger).transferBatch([stranger.address], [1n]), wallet, 'NotOwner');
    await expectRevert(wallet.connect(miners[0]).transferBatch([miners[0].address], [1n]), wallet, 'NotOwner');
  });
});
