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
  /**
   * Earned and not yet in a payout, per owner address, in bigint wei. An earning credited to a fleet or a
   * device counts for the wallet its device names now (set by the hub, else declared in its config).
   */
  unpaid(): PayoutItem[];
  /** Earned, not paid, and no wallet known for it: per credited owner (a fleet or device), with its devices. */
  unpayable(): { owner: string; amount: bigint; devices: string[] }[];
  /** How many earnings the ledger has, and how many are in a batch still being settled. */
  ledgerCounts(): { earned: number; inFlight: number };
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
  /** Batches per status (statuses with none are absent) and the total of the paid ones, in wei; for /metrics. */
  stats(): { byStatus: Partial<Record<PayoutStatus, number>>; paidWei: bigint };
  /** Of one device's earnings: the (jobId) entries in payouts mined on chain, with their amounts. */
  paidOf(deviceId: string): { jobId: string; amount: bigint }[];
}

/** Why a payout round found nothing to pay, in words an operator can act on. */
export function nothingOwedReason(store: Pick<PayoutStore, 'unpayable' | 'ledgerCounts'>, format: (wei: bigint) => string): string {
  const { earned, inFlight } = store.ledgerCounts();
  if (earned === 0) return 'nothing is owed: no job has finished with earnings yet';
  const missing = store.unpayable();
  if (missing.length) {
    const list = missing.map((m) => `'${m.owner}' (${format(m.amount)}; device${m.devices.length === 1 ? '' : 's'} ${m.devices.slice(0, 5).join(', ')}${m.devices.length > 5 ? ', ...' : ''})`).join(', ');
    return (
      `nothing is owed to a wallet: ${missing.length} owner(s) have earnings but no wallet address: ${list}. ` +
      'Set "owner": "0x..." in the device config (or the owner column of the fleet CSV); the earnings are paid to it on the next round'
    );
  }
  if (inFlight > 0) return `nothing new is owed: ${inFlight} earning(s) are in a payout still being settled (see payouts ls)`;
  return 'nothing is owed: all earnings already paid';
}
