// Payouts settle the earnings ledger into HubWallet batch transfers. Every batch is recorded with its
// intended transaction (fixed nonce, signed bytes) before anything is sent, so a hub killed at any point
// resends the very same transaction after a restart: it can be mined once at most, and never forgotten.
export type PayoutStatus = 'planned' | 'signed' | 'paid' | 'failed' | 'unknown';

export interface PayoutItem {
  owner: string;
  amount: bigint;
}

export interface PayoutRow {
  id: string;
  status: PayoutStatus;
  items: PayoutItem[];
  total: bigint;
  nonce: number | null;
  txHash: string | null;
  rawTx: string | null;
  block: number | null;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface PayoutStore {
  /** Earned and not yet in a payout, per owner address (only 0x addresses), in bigint wei. */
  unpaid(): PayoutItem[];
  /** Sums the unpaid earnings of up to maxOwners owners, records the batch and claims them, atomically; null when nothing is owed. */
  plan(id: string, at: number, maxOwners: number): PayoutRow | null;
  signed(id: string, nonce: number, txHash: string, rawTx: string, at: number): void;
  paid(id: string, block: number, at: number): void;
  /** The batch will never be mined: its earnings become unpaid again. */
  failed(id: string, reason: string, at: number): void;
  unknown(id: string, reason: string, at: number): void;
  /** Batches whose outcome is not settled yet (planned or signed), oldest first. */
  open(): PayoutRow[];
  list(limit?: number): PayoutRow[];
  /** Of one device's earnings: the (jobId) entries in payouts mined on chain, with their amounts. */
  paidOf(deviceId: string): { jobId: string; amount: bigint }[];
}
