// Money, wired: the hub's chain (embedded by default), payouts on a schedule and on demand, payDay when
// the payout period is over, and the operators' payouts service.
import { hubWalletAt, tokenAt } from '@sosna/contracts';
import { formatWei, payoutsService } from '@sosna/protocol';
import type { Handlers, Logger, PayoutSummary } from '@sosna/protocol';
import { startHubChain } from '../chain/hub-chain.js';
import type { HubChain } from '../chain/hub-chain.js';
import { PayoutEngine } from '../payouts/engine.js';
import type { PayoutHooks } from '../payouts/engine.js';
import { nothingOwedReason } from '../payouts/types.js';
import type { PayoutRow, PayoutStore } from '../payouts/types.js';

export const WALLET_STATE_NAMES = ['Created', 'Registered', 'Idle', 'Suspected', 'Punished'] as const;

export interface MoneyOptions {
  dataDir: string;
  ownerKey: string;
  endpoint: string;
  rpcUrl?: string;
  contractsFile?: string;
  /** The embedded chain's Stake contract parameters (deployed once); none: no Stake on the embedded chain. */
  devStake?: { minStake: bigint; unbondingSec: bigint };
  payoutIntervalSec: number;
  store: PayoutStore;
  log: Logger;
  /** Fault points (the crash tests' SOSNA_TEST_PAUSE_AT); none in production. */
  hooks?: PayoutHooks;
  /** Aborted while starting: the chain is stopped and startMoney rejects. */
  signal?: AbortSignal;
}

export interface Money {
  readonly chain: HubChain;
  readonly engine: PayoutEngine;
  readonly handlers: Handlers<typeof payoutsService, unknown>;
  stop(): Promise<void>;
}

export function summarizePayout(p: PayoutRow): PayoutSummary {
  return {
    id: p.id, status: p.status, owners: p.items.length, total: p.total.toString(),
    items: p.items.map((i) => ({ owner: i.owner, amount: i.amount.toString() })),
    txHash: p.txHash, block: p.block, reason: p.reason, createdAt: p.createdAt,
  };
}

export async function startMoney(o: MoneyOptions): Promise<Money> {
  const chain = await startHubChain({ dataDir: o.dataDir, ownerKey: o.ownerKey, log: o.log, endpoint: o.endpoint, rpcUrl: o.rpcUrl, contractsFile: o.contractsFile, signal: o.signal, ...(o.devStake ? { devStake: o.devStake } : {}) });
  const wallet = hubWalletAt(chain.contracts.wallet, chain.owner);
  const engine = new PayoutEngine({ store: o.store, wallet, signer: chain.owner, log: o.log, ...(o.hooks ? { hooks: o.hooks } : {}) });
  try {
    await engine.reconcile(); // a payout interrupted by a crash is settled before anything else
  } catch (err) {
    o.log.error('could not settle interrupted payouts; will retry on the next round', { error: (err as Error).message });
  }

  /** payDay when the payout period is over: fee to the DAO, unlock, then register again for the next period. */
  const payDayIfDue = async () => {
    const [state, registeredAt, period] = await Promise.all([wallet.state(), wallet.registeredAt(), wallet.payoutPeriod()]);
    const now = BigInt((await chain.provider.getBlock('latest'))!.timestamp);
    if (Number(state) !== 1 || now < BigInt(registeredAt) + BigInt(period)) return;
    o.log.info('payout period over: payDay');
    await (await wallet.payDay()).wait();
    const deposit = (await wallet.deposit()) as bigint;
    const token = tokenAt(chain.contracts.token, chain.owner);
    if (deposit > 0n) await (await token.approve(chain.contracts.wallet, deposit)).wait();
    await (await wallet.register()).wait();
  };

  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await payDayIfDue();
      await engine.run();
    } catch (err) {
      o.log.error('payout round failed; will retry', { error: (err as Error).message });
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), o.payoutIntervalSec * 1000);
  timer.unref();

  const handlers: Handlers<typeof payoutsService, unknown> = {
    run: async () => {
      const row = await engine.run();
      return row ? { payout: summarizePayout(row) } : { payout: null, reason: nothingOwedReason(o.store, formatWei) };
    },
    ls: ({ limit }) => ({ payouts: o.store.list(limit ?? 50).map(summarizePayout) }),
    chain: async () => {
      const w = hubWalletAt(chain.contracts.wallet, chain.provider);
      const [state, available] = await Promise.all([w.state(), w.available()]);
      let owed = 0n;
      for (const i of o.store.unpaid()) owed += i.amount;
      let noWallet = 0n;
      for (const i of o.store.unpayable()) noWallet += i.amount;
      return {
        chainId: chain.chainId, rpcUrl: chain.rpcUrl, embedded: !o.rpcUrl,
        token: chain.contracts.token, whitelist: chain.contracts.whitelist, factory: chain.contracts.factory, dao: chain.contracts.dao,
        wallet: chain.contracts.wallet, walletState: WALLET_STATE_NAMES[Number(state)] ?? String(state),
        available: (available as bigint).toString(), owed: owed.toString(), noWallet: noWallet.toString(),
      };
    },
  };

  return {
    chain, engine, handlers,
    stop: async () => {
      clearInterval(timer);
      await chain.stop();
    },
  };
}
