// The hub's side of the escrow (contracts/README.md "JobEscrow"): a buyer's job waits (queued, reason
// `awaiting-funds: ...`) until its escrow on chain covers the worst case or an admin's credit does; when the
// job ends the hub records its settlement (settle billed / refund) in the outbox, then signs it with a fixed
// nonce and records the signed bytes, then sends it. A hub killed anywhere resends the same bytes after a
// restart (mined once at most) and records settlements it had not recorded yet (never forgotten).
//
// Settlements are signed by the hub's own settlement key (`escrow.key` beside `owner.key`), the payee of
// every escrow of this hub: its nonces are its own, so payouts (signed by the owner key) never race them.
import { Transaction } from 'ethers';
import type { JsonRpcProvider, Wallet } from 'ethers';
import { escrowAt, escrowJobId, escrowStateName, worstCase } from '@sosna/contracts';
import { escrowService, isFinal, SosnaError } from '@sosna/protocol';
import type { Handlers, JobFunding, Logger, RpcEndpoint } from '@sosna/protocol';
import type { OperatorStore } from '../auth/store.js';
import type { JobRow, JobStore } from '../jobs/store.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { OperatorMeta } from '../auth/roles.js';
import { maySeeJob } from '../auth/roles.js';
import { planSettlement } from './billing.js';
import type { EscrowStore, FundingRow, SettlementRow } from './store.js';

export interface EscrowChain {
  provider: JsonRpcProvider;
  rpcUrl: string;
  chainId: number;
  token: string;
  escrow: string;
}

export interface SettlementHooks {
  afterRecord?(row: SettlementRow): Promise<void>;
  afterSend?(row: SettlementRow): Promise<void>;
}

export interface EscrowDeps {
  store: Pick<OperatorStore, 'getOperator'> & { readonly escrow: EscrowStore; readonly jobs: Pick<JobStore, 'runsOf'> };
  scheduler: Scheduler;
  log: Logger;
  /** null: the hub runs without a chain (buyers' jobs run on credit only). */
  chain: EscrowChain | null;
  /** The settlement key, connected to the chain (the payee of this hub's escrows). */
  signer: Wallet | null;
  hooks?: SettlementHooks;
  pollMs?: number;
  receiptTimeoutMs?: number;
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

export class EscrowService {
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> = Promise.resolve();
  private readonly onJob = (job: JobRow) => {
    if (isFinal(job.state)) void this.settleJob(job).catch((err: unknown) => this.d.log.error('settlement not recorded; retried on the next round', { jobId: job.id, error: (err as Error).message }));
  };

  constructor(private readonly d: EscrowDeps) {}

  private get now(): number {
    return (this.d.now ?? Date.now)();
  }

  get payee(): string | null {
    return this.d.signer?.address ?? null;
  }

  /** Starts gating the scheduler, following job ends and polling deposits; settles what a crash left open. */
  async start(): Promise<void> {
    this.d.scheduler.setGate((job) => this.gate(job));
    this.d.scheduler.feed.on('job', this.onJob);
    this.timer = setInterval(() => void this.round(), this.d.pollMs ?? 3000);
    this.timer.unref();
    await this.round();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.d.scheduler.feed.off('job', this.onJob);
  }

  /** One round: deposits of waiting jobs, settlements not recorded yet, then the outbox. */
  async round(): Promise<void> {
    try {
      for (const f of this.d.store.escrow.unfunded()) {
        const job = this.d.scheduler.getJob(f.jobId);
        if (job && !isFinal(job.state)) await this.check(f.jobId);
      }
      for (const f of this.d.store.escrow.fundedUnsettled()) {
        const job = this.d.scheduler.getJob(f.jobId);
        if (job && isFinal(job.state)) await this.settleJob(job);
      }
      await this.drain();
    } catch (err) {
      this.d.log.warn('escrow round failed; will retry', { error: (err as Error).message });
    }
  }

  /** Why `job` must wait for funds, or null (operators' jobs, free jobs, funded jobs). Synchronous. */
  gate(job: JobRow): string | null {
    const { store, log } = this.d;
    const op = store.getOperator(job.submittedBy);
    if (!op || op.role !== 'buyer' || !op.address) return null;
    const required = worstCase(job.spec);
    if (required === 0n) return null;
    store.escrow.need({ jobId: job.id, buyer: op.name, address: op.address, required });
    const f = store.escrow.funding(job.id)!;
    if (f.source !== null) return null;
    if (store.escrow.fundFromCredit(job.id, op.name, f.required, this.now)) {
      log.info('buyer job funded from credit', { jobId: job.id, buyer: op.name, amount: f.required.toString() });
      return null;
    }
    if (!this.d.chain) return `awaiting-funds: this hub has no chain: an admin may give ${op.name} credit (sosna console buyers credit ${op.name} ${f.required})`;
    return `awaiting-funds: deposit ${f.required} wei (bid x duration limit x replicas) into the escrow ${this.d.chain.escrow} for ${job.id} from ${op.address}, payee ${this.payee}`;
  }

  private escrowOf(f: Pick<FundingRow, 'address' | 'jobId'>) {
    const chain = this.d.chain!;
    return escrowAt(chain.escrow, chain.provider).escrowOf(this.payee!, f.address, escrowJobId(f.jobId));
  }

  /** Reads the job's escrow on chain; funds the job when it covers the worst case. */
  async check(jobId: string): Promise<FundingRow | undefined> {
    const f = this.d.store.escrow.funding(jobId);
    if (!f || f.source !== null || !this.d.chain || !this.payee) return f;
    const e = await this.escrowOf(f);
    if (escrowStateName(e.state) === 'funded' && e.amount >= f.required) {
      this.d.store.escrow.fundedBy(jobId, 'escrow', e.amount, this.now);
      this.d.log.info('buyer job funded on chain', { jobId, buyer: f.buyer, amount: e.amount.toString() });
      this.d.scheduler.wake();
    }
    return this.d.store.escrow.funding(jobId);
  }

  /** Records the settlement of a finished escrow job (once), then sends it. */
  private async settleJob(job: JobRow): Promise<void> {
    const { store, log } = this.d;
    const f = store.escrow.funding(job.id);
    if (f?.source === 'credit') {
      const { billed } = planSettlement(job, store.jobs.runsOf(job.id), f.amount);
      if (store.escrow.settleCredit(job.id, f.buyer, f.address, f.amount, billed, this.now)) log.info('credit job settled', { jobId: job.id, billed: billed.toString(), back: (f.amount - billed).toString() });
      return;
    }
    if (!f || !this.d.chain || !this.payee || store.escrow.settlement(job.id)) return;
    let deposited = f.amount;
    if (f.source === null) {
      // never funded enough to run: whatever was deposited goes back
      const e = await this.escrowOf(f);
      if (escrowStateName(e.state) !== 'funded' || e.amount === 0n) return;
      deposited = e.amount;
      store.escrow.fundedBy(job.id, 'escrow', deposited, this.now);
    }
    const plan = f.source === null ? { kind: 'refund' as const, billed: 0n } : planSettlement(job, store.jobs.runsOf(job.id), deposited);
    const row = store.escrow.plan({ jobId: job.id, kind: plan.kind, buyerAddress: f.address, billed: plan.billed }, this.now);
    log.info('settlement recorded', { jobId: job.id, kind: row.kind, billed: row.billed.toString() });
    await this.drain();
  }

  /** Sends every open settlement, one at a time. */
  drain(): Promise<void> {
    const next = this.draining.then(async () => {
      for (const row of this.d.store.escrow.open()) {
        if (row.status === 'planned') await this.signSend(row);
        else await this.settleSigned(row, true);
      }
    });
    this.draining = next.catch((err: unknown) => this.d.log.warn('settlements not sent; will retry', { error: (err as Error).message }));
    return next;
  }

  private async signSend(row: SettlementRow): Promise<void> {
    const signer = this.d.signer!;
    const { log, store } = this.d;
    const provider = signer.provider!;
    const escrow = escrowAt(this.d.chain!.escrow, signer);
    const key = escrowJobId(row.jobId);
    const request = row.kind === 'refund' ? await escrow.refund.populateTransaction(row.buyerAddress, key) : await escrow.settle.populateTransaction(row.buyerAddress, key, row.billed);
    const nonce = await retry('reading the nonce', () => provider.getTransactionCount(signer.address, 'pending'), log);
    const populated = await retry('preparing the settlement', () => signer.populateTransaction({ ...request, nonce }), log);
    const raw = await signer.signTransaction(populated);
    const hash = Transaction.from(raw).hash!;
    store.escrow.signed(row.jobId, nonce, hash, raw, this.now);
    const signed: SettlementRow = { ...row, status: 'signed', nonce, txHash: hash, rawTx: raw };
    await this.d.hooks?.afterRecord?.(signed);
    await this.settleSigned(signed, false);
  }

  private async settleSigned(row: SettlementRow, recovering: boolean): Promise<void> {
    const signer = this.d.signer!;
    const { log, store } = this.d;
    const provider = signer.provider!;
    let receipt = await retry('looking up the settlement', () => provider.getTransactionReceipt(row.txHash!), log);
    if (!receipt) {
      const mined = await retry('reading the nonce', () => provider.getTransactionCount(signer.address, 'latest'), log);
      if (mined > row.nonce!) {
        store.escrow.unknown(row.jobId, `nonce ${row.nonce} was used by another transaction`, this.now);
        log.error('settlement outcome unknown: its nonce was used by another transaction', { jobId: row.jobId, nonce: row.nonce });
        return;
      }
      if (recovering) log.info('sending a recorded settlement again', { jobId: row.jobId, hash: row.txHash });
      await retry('sending the settlement', async () => {
        try {
          await provider.broadcastTransaction(row.rawTx!);
        } catch (err) {
          if (!/already known|known transaction|nonce too low|already imported/i.test((err as Error).message)) throw err;
        }
      }, log);
      await this.d.hooks?.afterSend?.(row);
      receipt = await retry('waiting for the settlement', () => provider.waitForTransaction(row.txHash!, 1, this.d.receiptTimeoutMs ?? 120_000), log);
    }
    if (!receipt) throw new Error(`settlement of ${row.jobId}: no receipt for ${row.txHash}`);
    if (receipt.status === 1) {
      store.escrow.mined(row.jobId, receipt.blockNumber, this.now);
      log.info('settlement mined', { jobId: row.jobId, kind: row.kind, billed: row.billed.toString(), block: receipt.blockNumber });
    } else {
      store.escrow.failed(row.jobId, `transaction ${row.txHash} reverted`, this.now);
      log.error('settlement reverted', { jobId: row.jobId, hash: row.txHash });
    }
  }

  funding(jobId: string): JobFunding {
    const f = this.d.store.escrow.funding(jobId);
    if (!f) throw new SosnaError('E_NOT_FOUND', `job ${jobId} needs no funding (not a buyer's paid job)`);
    const s = this.d.store.escrow.settlement(jobId);
    return {
      jobId, buyer: f.buyer, address: f.address, required: f.required, source: f.source, amount: f.amount, fundedAt: f.fundedAt,
      settlement: s ? { kind: s.kind, billed: s.billed, status: s.status, txHash: s.txHash, reason: s.reason } : null,
    };
  }

  handlers(): Handlers<typeof escrowService, OperatorMeta> {
    const mine = (jobId: string, meta: OperatorMeta) => {
      const job = this.d.scheduler.getJob(jobId);
      if (!job || !maySeeJob(meta, job.submittedBy)) throw new SosnaError('E_NOT_FOUND', `no job ${jobId}`);
      return job;
    };
    return {
      info: () => {
        const c = this.d.chain;
        if (!c || !this.payee) throw new SosnaError('E_UNAVAILABLE', 'this hub runs without a chain: there is no escrow (an admin may give buyers credit)');
        return { rpcUrl: c.rpcUrl, chainId: c.chainId, token: c.token, escrow: c.escrow, payee: this.payee };
      },
      status: ({ jobId }, ctx) => (mine(jobId, ctx.meta), this.funding(jobId)),
      funded: async ({ jobId }, ctx) => {
        const job = mine(jobId, ctx.meta);
        this.gate(job); // records what it needs when the scheduler has not looked yet
        await this.check(jobId);
        return this.funding(jobId);
      },
      credit: ({ buyer, amount }, ctx) => {
        const op = this.d.store.getOperator(buyer);
        if (!op || op.role !== 'buyer') throw new SosnaError('E_NOT_FOUND', `no buyer ${buyer} (sosna console operators add ${buyer} --role buyer --address 0x...)`);
        this.d.store.escrow.setCredit(buyer, amount, this.now);
        this.d.log.info('buyer credit set', { by: ctx.meta.operator, buyer, amount: amount.toString() });
        this.d.scheduler.wake();
        return { buyer, credit: amount };
      },
    };
  }

  consoleServices(endpoint: RpcEndpoint<OperatorMeta>): void {
    endpoint.add(escrowService, this.handlers());
  }
}
