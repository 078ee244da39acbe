// Settles the earnings ledger into HubWallet.transferBatch transactions, exactly once:
//   plan   (earnings claimed by a batch, in one DB transaction)
//   sign   (fixed nonce; the signed bytes and hash are recorded BEFORE sending)
//   send   (broadcast; RPC errors retry with backoff)
//   settle (receipt: paid, or failed and the earnings released)
// After a crash, reconcile() picks every open batch up where it stopped: a planned one is signed now, a
// signed one is looked up by hash and, if the chain has not seen it, the identical bytes are sent again.
// The same nonce and bytes can be mined once at most, so no miner is paid twice.
import { randomBytes } from 'node:crypto';
import { Transaction } from 'ethers';
import type { Wallet } from 'ethers';
import type { Logger } from '@sosna/protocol';
import type { HubWalletContract } from '@sosna/contracts';
import type { PayoutRow, PayoutStore } from './types.js';

export interface PayoutHooks {
  /** Fault injection for crash tests: after the intended transaction is recorded, before it is sent. */
  afterRecord?(row: PayoutRow): void | Promise<void>;
  /** After it was sent, before its receipt. */
  afterSend?(row: PayoutRow): void | Promise<void>;
}

export interface PayoutEngineDeps {
  store: PayoutStore;
  wallet: HubWalletContract;
  signer: Wallet;
  log: Logger;
  maxOwnersPerBatch?: number;
  receiptTimeoutMs?: number;
  hooks?: PayoutHooks;
  now?: () => number;
}

async function retry<T>(what: string, fn: () => Promise<T>, log: Logger, attempts = 5): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i + 1 >= attempts) throw err;
      const delay = Math.min(8000, 250 * 2 ** i);
      log.warn(`${what} failed; retrying`, { error: (err as Error).message, inMs: delay });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export class PayoutEngine {
  private running: Promise<unknown> = Promise.resolve();
  constructor(private readonly d: PayoutEngineDeps) {}

  private get now(): number {
    return (this.d.now ?? Date.now)();
  }

  /** One payout round (serialised): settle open batches, then pay what is owed in one batch. */
  run(): Promise<PayoutRow | null> {
    const next = this.running.then(() => this.round());
    this.running = next.catch(() => {});
    return next;
  }

  private async round(): Promise<PayoutRow | null> {
    await this.reconcile();
    const id = `p-${new Date(this.now).toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
    const row = this.d.store.plan(id, this.now, this.d.maxOwnersPerBatch ?? 100);
    if (!row) return null;
    this.d.log.info('payout planned', { id, owners: row.items.length, total: row.total.toString() });
    return this.signSendSettle(row);
  }

  /** Settles every open batch; call at start-up (the hub may have died mid-payout). */
  async reconcile(): Promise<void> {
    for (const row of this.d.store.open()) {
      if (row.status === 'planned') {
        this.d.log.info('resuming a planned payout', { id: row.id });
        await this.signSendSettle(row);
      } else await this.settleSigned(row, true);
    }
  }

  private async signSendSettle(row: PayoutRow): Promise<PayoutRow> {
    const { signer, wallet, store, log } = this.d;
    const provider = signer.provider!;
    const nonce = await retry('reading the nonce', () => provider.getTransactionCount(signer.address, 'pending'), log);
    const request = await wallet.transferBatch.populateTransaction(row.items.map((i) => i.owner), row.items.map((i) => i.amount));
    const populated = await retry('preparing the payout', () => signer.populateTransaction({ ...request, nonce }), log);
    const raw = await signer.signTransaction(populated);
    const hash = Transaction.from(raw).hash!;
    store.signed(row.id, nonce, hash, raw, this.now);
    const signed = { ...row, status: 'signed' as const, nonce, txHash: hash, rawTx: raw };
    await this.d.hooks?.afterRecord?.(signed);
    return this.settleSigned(signed, false);
  }

  private async settleSigned(row: PayoutRow, recovering: boolean): Promise<PayoutRow> {
    const { signer, store, log } = this.d;
    const provider = signer.provider!;
    let receipt = await retry('looking up the payout', () => provider.getTransactionReceipt(row.txHash!), log);
    if (!receipt) {
      const mined = await retry('reading the nonce', () => provider.getTransactionCount(signer.address, 'latest'), log);
      if (mined > row.nonce!) {
        // our nonce was used by another transaction of this key: nothing we can prove; an operator must look
        store.unknown(row.id, `nonce ${row.nonce} was used by another transaction`, this.now);
        log.error('payout outcome unknown: its nonce was used by another transaction', { id: row.id, nonce: row.nonce });
        return { ...row, status: 'unknown' };
      }
      if (recovering) log.info('sending a recorded payout again', { id: row.id, hash: row.txHash });
      await retry('sending the payout', async () => {
        try {
          await provider.broadcastTransaction(row.rawTx!);
        } catch (err) {
          // the node already has it: that is what we wanted
          if (!/already known|known transaction|nonce too low|already imported/i.test((err as Error).message)) throw err;
        }
      }, log);
      await this.d.hooks?.afterSend?.(row);
      receipt = await retry('waiting for the payout', () => provider.waitForTransaction(row.txHash!, 1, this.d.receiptTimeoutMs ?? 120_000), log);
    }
    if (!receipt) throw new Error(`payout ${row.id}: no receipt for ${row.txHash}`);
    if (receipt.status === 1) {
      store.paid(row.id, receipt.blockNumber, this.now);
      log.info('payout paid', { id: row.id, block: receipt.blockNumber, owners: row.items.length, total: row.total.toString() });
      return { ...row, status: 'paid', block: receipt.blockNumber };
    }
    store.failed(row.id, `transaction ${row.txHash} reverted`, this.now);
    log.error('payout reverted; its earnings are owed again', { id: row.id, hash: row.txHash });
    return { ...row, status: 'failed' };
  }
}
