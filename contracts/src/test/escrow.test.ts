// JobEscrow on a real anvil chain: the buyer's deposit for one job, the hub's settlement, the buyer's
// confirmation (or a release by anyone after the dispute window), a dispute that freezes the amount until
// the DAO decides, a refund when the job is cancelled before it ran, and a reclaim when the hub never
// settles. Balances are checked to the wei.
import { describe, expect, it } from 'vitest';
import { latestTimestamp } from '../chain.js';
import { proposeCall } from '../dao.js';
import { confirm, type JobEscrowContract } from '../deploy.js';
import { escrowJobId, escrowStateName, worstCase } from '../escrow.js';
import { DAY, SNM } from '../params.js';
import { expectRevert, moveClockTo, takeSigners, useDevChain } from './helpers.js';

const ctx = useDevChain(async (chain) => {
  const d = chain.deployment;
  const [deployer, hub, buyer, stranger] = takeSigners(chain, 4);
  await confirm(d.token.transfer(buyer.address, 1000n * SNM));
  return { d, deployer, hub, buyer, stranger, escrow: d.escrow as JobEscrowContract, escrowAddress: d.addresses.escrow! };
});

const JOB = escrowJobId('j-abcdefghijkm');
const balances = async () => {
  const { d, hub, buyer, escrowAddress } = ctx();
  return { hub: await d.token.balanceOf(hub.address), buyer: await d.token.balanceOf(buyer.address), escrow: await d.token.balanceOf(escrowAddress) };
};
async function deposit(amount: bigint) {
  const { d, hub, buyer, escrow, escrowAddress } = ctx();
  await confirm(d.token.connect(buyer).approve(escrowAddress, amount));
  await confirm(escrow.connect(buyer).deposit(hub.address, JOB, amount));
}
const stateOf = async () => {
  const { hub, buyer, escrow } = ctx();
  return escrowStateName((await escrow.escrowOf(hub.address, buyer.address, JOB)).state);
};

describe('JobEscrow', () => {
  it('worst case is bid x duration limit x replicas', () => {
    expect(worstCase({ bid: 7n, timeoutSec: 60, replicas: 2 })).toBe(840n);
  });

  it('deposit, settle, confirm: the hub gets exactly billed, the buyer the rest, to the wei', async () => {
    const { hub, buyer, escrow } = ctx();
    const before = await balances();
    await deposit(1000n);
    expect(await stateOf()).toBe('funded');
    await expectRevert(escrow.connect(hub).settle(buyer.address, JOB, 1001n), escrow, 'BilledExceedsDeposit');
    await confirm(escrow.connect(hub).settle(buyer.address, JOB, 337n));
    expect(await stateOf()).toBe('settled');
    await expectRevert(escrow.connect(hub).confirm(hub.address, JOB), escrow, 'WrongState'); // the hub is not the buyer of this escrow
    await confirm(escrow.connect(buyer).confirm(hub.address, JOB));
    expect(await stateOf()).toBe('closed');
    expect(await balances()).toEqual({ hub: before.hub + 337n, buyer: before.buyer - 337n, escrow: 0n });
    await expectRevert(escrow.connect(buyer).confirm(hub.address, JOB), escrow, 'WrongState'); // once only
  });

  it('only the payee settles or refunds its own escrow', async () => {
    const { stranger, buyer, escrow } = ctx();
    await deposit(10n);
    await expectRevert(escrow.connect(stranger).settle(buyer.address, JOB, 1n), escrow, 'WrongState');
    await expectRevert(escrow.connect(stranger).refund(buyer.address, JOB), escrow, 'WrongState');
  });

  it('a dispute inside the window freezes the amount until the DAO decides the split', async () => {
    const { d, deployer, hub, buyer, stranger, escrow, chain } = ctx();
    const before = await balances();
    await deposit(900n);
    await confirm(escrow.connect(hub).settle(buyer.address, JOB, 600n));
    await confirm(escrow.connect(buyer).dispute(hub.address, JOB, 'the output was empty'));
    expect(await stateOf()).toBe('disputed');
    await moveClockTo(chain.provider, (await latestTimestamp(chain.provider)) + 2n * DAY);
    await expectRevert(escrow.connect(stranger).release(hub.address, buyer.address, JOB), escrow, 'WrongState'); // frozen: no release
    await expectRevert(escrow.connect(buyer).confirm(hub.address, JOB), escrow, 'WrongState');
    await expectRevert(escrow.connect(stranger).resolve(hub.address, buyer.address, JOB, 1n), escrow, 'NotDAO');
    expect((await balances()).escrow).toBe(900n);
    await proposeCall(d.dao, deployer, escrow, 'resolve', [hub.address, buyer.address, JOB, 200n], { fastForward: chain.provider });
    expect(await stateOf()).toBe('closed');
    expect(await balances()).toEqual({ hub: before.hub + 200n, buyer: before.buyer - 200n, escrow: 0n });
  });

  it('after the window anyone releases (= confirm), and a dispute is too late', async () => {
    const { hub, buyer, stranger, escrow, chain } = ctx();
    const before = await balances();
    await deposit(500n);
    await confirm(escrow.connect(hub).settle(buyer.address, JOB, 120n));
    await expectRevert(escrow.connect(stranger).release(hub.address, buyer.address, JOB), escrow, 'DisputeWindowOpen');
    await moveClockTo(chain.provider, (await latestTimestamp(chain.provider)) + DAY);
    await expectRevert(escrow.connect(buyer).dispute(hub.address, JOB, 'late'), escrow, 'DisputeWindowOver');
    await confirm(escrow.connect(stranger).release(hub.address, buyer.address, JOB));
    expect(await balances()).toEqual({ hub: before.hub + 120n, buyer: before.buyer - 120n, escrow: 0n });
  });

  it('a job cancelled before it ran: the hub refunds everything; top-ups count', async () => {
    const { hub, buyer, escrow } = ctx();
    const before = await balances();
    await deposit(300n);
    await deposit(200n);
    expect((await escrow.escrowOf(hub.address, buyer.address, JOB)).amount).toBe(500n);
    await confirm(escrow.connect(hub).refund(buyer.address, JOB));
    expect(await balances()).toEqual(before);
  });

  it('a hub that never settles: the buyer reclaims after reclaimAfter, not before', async () => {
    const { hub, escrow, chain, buyer } = ctx();
    const before = await balances();
    await deposit(400n);
    await expectRevert(escrow.connect(buyer).reclaim(hub.address, JOB), escrow, 'ReclaimTooEarly');
    await moveClockTo(chain.provider, (await latestTimestamp(chain.provider)) + 30n * DAY);
    await confirm(escrow.connect(buyer).reclaim(hub.address, JOB));
    expect(await balances()).toEqual(before);
  });
});
