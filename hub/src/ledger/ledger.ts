// The earnings ledger: one entry per finished run that earned (owner, seconds billed, price, amount in wei,
// bigint), written once: the store refuses a second entry for the same (jobId, deviceId). The scheduler
// decides who earned what (the verdict and the billing in jobs/verdict.ts) and hands the paid runs here, in
// its settling transaction; payouts (payouts/) and the earnings services read the entries back.
// `ledgerEntries` is pure; `Ledger` only writes what it returns.

/** One ledger entry (the store's `CreditRow`). */
export interface LedgerEntry {
  jobId: string;
  deviceId: string;
  runId: string;
  /** Who is paid: the device's owner address, or its fleet when it has none. */
  owner: string;
  seconds: number;
  /** Price per second, token wei. */
  price: bigint;
  amount: bigint;
  at: number;
}

/** What the ledger needs of a store: write one entry, false when (jobId, deviceId) was credited already. */
export interface LedgerWriter {
  credit(entry: LedgerEntry): boolean;
}

/** A run the verdict pays: its billed seconds and amount. */
export interface PaidRun {
  runId: string;
  deviceId: string;
  owner: string;
  seconds: number;
  amount: bigint;
}

/** The entries a settled job writes: one per paid run that billed any time (a run of 0 s earns no entry). Pure. */
export function ledgerEntries(job: { jobId: string; price: bigint }, runs: readonly PaidRun[], at: number): LedgerEntry[] {
  return runs
    .filter((r) => r.seconds > 0)
    .map((r) => ({ jobId: job.jobId, deviceId: r.deviceId, runId: r.runId, owner: r.owner, seconds: r.seconds, price: job.price, amount: r.amount, at }));
}

export class Ledger {
  constructor(private readonly store: LedgerWriter) {}

  /**
   * Writes a settled job's entries (call it inside the transaction that records the verdict) and returns
   * those written; an entry the ledger has already is left as it is and not returned.
   */
  record(job: { jobId: string; price: bigint }, runs: readonly PaidRun[], at: number): LedgerEntry[] {
    return ledgerEntries(job, runs, at).filter((e) => this.store.credit(e));
  }
}
