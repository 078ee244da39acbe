// The escrow's state as the escrow service needs it: which buyer jobs are funded (by an on-chain deposit or by
// credit), the credit admins gave buyers, and the settlement outbox. A settlement is recorded (planned, keyed by
// job id: recording it twice is a no-op) before anything is signed, its signed bytes and hash before anything
// is sent, so a hub killed at any point sends the very same transaction after a restart. store/escrow-sqlite.ts
// implements it.
import type { SettlementStatus } from '@sosna/protocol';

export interface FundingRow {
  jobId: string;
  buyer: string;
  address: string;
  required: bigint;
  source: 'escrow' | 'credit' | null;
  amount: bigint;
  fundedAt: number | null;
}

export interface SettlementRow {
  jobId: string;
  /** credit: a credit-funded job, settled in the hub's books only (never sent). */
  kind: 'settle' | 'refund' | 'credit';
  buyerAddress: string;
  billed: bigint;
  status: SettlementStatus;
  nonce: number | null;
  txHash: string | null;
  rawTx: string | null;
  block: number | null;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface EscrowStore {
  /** Records that a job needs funding (no-op when known). */
  need(row: Omit<FundingRow, 'source' | 'amount' | 'fundedAt'>): void;
  funding(jobId: string): FundingRow | undefined;
  unfunded(): FundingRow[];
  fundedBy(jobId: string, source: 'escrow' | 'credit', amount: bigint, at: number): void;
  /** Takes `amount` of the buyer's credit and funds the job with it, atomically; false when the credit is short. */
  fundFromCredit(jobId: string, buyer: string, amount: bigint, at: number): boolean;
  credit(buyer: string): bigint;
  setCredit(buyer: string, amount: bigint, at: number): void;
  /**
   * Settles a credit-funded job in the hub's books, once: records it (status mined, nothing to send) and gives
   * the buyer back the part of the taken credit that was not billed, atomically. False when already settled.
   */
  settleCredit(jobId: string, buyer: string, buyerAddress: string, taken: bigint, billed: bigint, at: number): boolean;
  /** Records the intended settlement once (INSERT OR IGNORE); answers the row as stored. */
  plan(row: Pick<SettlementRow, 'jobId' | 'kind' | 'buyerAddress' | 'billed'>, at: number): SettlementRow;
  settlement(jobId: string): SettlementRow | undefined;
  signed(jobId: string, nonce: number, txHash: string, rawTx: string, at: number): void;
  mined(jobId: string, block: number, at: number): void;
  failed(jobId: string, reason: string, at: number): void;
  unknown(jobId: string, reason: string, at: number): void;
  /** Planned or signed, oldest first. */
  open(): SettlementRow[];
  /** Funded jobs (escrow or credit) without a settlement row (the hub may have died between a job's end and recording). */
  fundedUnsettled(): FundingRow[];
}
