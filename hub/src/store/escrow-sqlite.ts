// Escrow tables in the hub's SQLite file (escrow/store.ts declares the store). Wei amounts are decimal strings
// in SQLite and bigint everywhere else.
import type Database from 'better-sqlite3';
import type { SettlementStatus } from '@sosna/protocol';
import type { EscrowStore, FundingRow, SettlementRow } from '../escrow/store.js';

export const ESCROW_MIGRATION = `
  CREATE TABLE buyer_credit (buyer TEXT PRIMARY KEY, amount TEXT NOT NULL, updated_at INTEGER NOT NULL);
  CREATE TABLE job_funding (
    job_id TEXT PRIMARY KEY, buyer TEXT NOT NULL, address TEXT NOT NULL, required TEXT NOT NULL,
    source TEXT, amount TEXT NOT NULL DEFAULT '0', funded_at INTEGER);
  CREATE TABLE escrow_settlements (
    job_id TEXT PRIMARY KEY, kind TEXT NOT NULL, buyer_address TEXT NOT NULL, billed TEXT NOT NULL, status TEXT NOT NULL,
    nonce INTEGER, tx_hash TEXT, raw_tx TEXT, block INTEGER, reason TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
  CREATE INDEX escrow_settlements_open ON escrow_settlements(status) WHERE status IN ('planned', 'signed');`;

type Raw = Record<string, unknown>;
const nul = <T>(v: unknown) => (v === null || v === undefined ? null : (v as T));
const toFunding = (r: Raw): FundingRow => ({
  jobId: r.job_id as string, buyer: r.buyer as string, address: r.address as string, required: BigInt(r.required as string),
  source: nul<'escrow' | 'credit'>(r.source), amount: BigInt(r.amount as string), fundedAt: nul<number>(r.funded_at),
});
const toSettlement = (r: Raw): SettlementRow => ({
  jobId: r.job_id as string, kind: r.kind as SettlementRow['kind'], buyerAddress: r.buyer_address as string, billed: BigInt(r.billed as string),
  status: r.status as SettlementStatus, nonce: nul<number>(r.nonce), txHash: nul<string>(r.tx_hash), rawTx: nul<string>(r.raw_tx),
  block: nul<number>(r.block), reason: nul<string>(r.reason), createdAt: r.created_at as number, updatedAt: r.updated_at as number,
});

export function createSqliteEscrowStore(db: Database.Database): EscrowStore {
  const q = {
    need: db.prepare('INSERT OR IGNORE INTO job_funding (job_id, buyer, address, required) VALUES (?, ?, ?, ?)'),
    funding: db.prepare('SELECT * FROM job_funding WHERE job_id = ?'),
    unfunded: db.prepare('SELECT * FROM job_funding WHERE source IS NULL ORDER BY rowid'),
    fundedBy: db.prepare('UPDATE job_funding SET source = ?, amount = ?, funded_at = ? WHERE job_id = ?'),
    credit: db.prepare('SELECT amount FROM buyer_credit WHERE buyer = ?').pluck(),
    setCredit: db.prepare('INSERT INTO buyer_credit (buyer, amount, updated_at) VALUES (?, ?, ?) ON CONFLICT(buyer) DO UPDATE SET amount = excluded.amount, updated_at = excluded.updated_at'),
    plan: db.prepare(`INSERT OR IGNORE INTO escrow_settlements (job_id, kind, buyer_address, billed, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'planned', ?, ?)`),
    settlement: db.prepare('SELECT * FROM escrow_settlements WHERE job_id = ?'),
    signed: db.prepare(`UPDATE escrow_settlements SET status = 'signed', nonce = ?, tx_hash = ?, raw_tx = ?, updated_at = ? WHERE job_id = ?`),
    finish: db.prepare('UPDATE escrow_settlements SET status = ?, block = ?, reason = ?, updated_at = ? WHERE job_id = ?'),
    open: db.prepare(`SELECT * FROM escrow_settlements WHERE status IN ('planned', 'signed') ORDER BY created_at, job_id`),
    unsettled: db.prepare(`SELECT f.* FROM job_funding f LEFT JOIN escrow_settlements s ON s.job_id = f.job_id WHERE f.source IS NOT NULL AND s.job_id IS NULL`),
  };
  const credit = (buyer: string) => BigInt((q.credit.get(buyer) as string | undefined) ?? '0');
  const fundFromCredit = db.transaction((jobId: string, buyer: string, amount: bigint, at: number) => {
    const left = credit(buyer);
    if (left < amount) return false;
    q.setCredit.run(buyer, (left - amount).toString(), at);
    q.fundedBy.run('credit', amount.toString(), at, jobId);
    return true;
  });
  const settleCredit = db.transaction((jobId: string, buyer: string, buyerAddress: string, taken: bigint, billed: bigint, at: number) => {
    const inserted = db.prepare(`INSERT OR IGNORE INTO escrow_settlements (job_id, kind, buyer_address, billed, status, created_at, updated_at) VALUES (?, 'credit', ?, ?, 'mined', ?, ?)`)
      .run(jobId, buyerAddress, billed.toString(), at, at).changes;
    if (inserted !== 1) return false;
    q.setCredit.run(buyer, (credit(buyer) + taken - billed).toString(), at);
    return true;
  });
  return {
    settleCredit: (...a) => settleCredit(...a),
    need: (r) => void q.need.run(r.jobId, r.buyer, r.address, r.required.toString()),
    funding: (id) => {
      const r = q.funding.get(id) as Raw | undefined;
      return r ? toFunding(r) : undefined;
    },
    unfunded: () => (q.unfunded.all() as Raw[]).map(toFunding),
    fundedBy: (id, source, amount, at) => void q.fundedBy.run(source, amount.toString(), at, id),
    fundFromCredit: (id, buyer, amount, at) => fundFromCredit(id, buyer, amount, at),
    credit,
    setCredit: (buyer, amount, at) => void q.setCredit.run(buyer, amount.toString(), at),
    plan: (r, at) => {
      q.plan.run(r.jobId, r.kind, r.buyerAddress, r.billed.toString(), at, at);
      return toSettlement(q.settlement.get(r.jobId) as Raw);
    },
    settlement: (id) => {
      const r = q.settlement.get(id) as Raw | undefined;
      return r ? toSettlement(r) : undefined;
    },
    signed: (id, nonce, hash, raw, at) => void q.signed.run(nonce, hash, raw, at, id),
    mined: (id, block, at) => void q.finish.run('mined', block, null, at, id),
    failed: (id, reason, at) => void q.finish.run('failed', null, reason, at, id),
    unknown: (id, reason, at) => void q.finish.run('unknown', null, reason, at, id),
    open: () => (q.open.all() as Raw[]).map(toSettlement),
    fundedUnsettled: () => (q.unsettled.all() as Raw[]).map(toFunding),
  };
}
