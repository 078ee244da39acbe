// Payout batches in the hub's SQLite file (migration 3 in sqlite.ts). Amounts are decimal TEXT.
import type Database from 'better-sqlite3';
import type { PayoutItem, PayoutRow, PayoutStatus, PayoutStore } from '../payouts/types.js';

export const PAYOUTS_MIGRATION = `
  CREATE TABLE payouts (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, items TEXT NOT NULL, total TEXT NOT NULL, nonce INTEGER, tx_hash TEXT,
    raw_tx TEXT, block INTEGER, reason TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
  CREATE INDEX payouts_status ON payouts(status, created_at);
  CREATE TABLE earnings_paid (job_id TEXT NOT NULL, device_id TEXT NOT NULL, payout_id TEXT NOT NULL REFERENCES payouts(id),
    PRIMARY KEY (job_id, device_id));
  CREATE INDEX earnings_paid_payout ON earnings_paid(payout_id);`;

type Raw = Record<string, unknown>;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function toRow(r: Raw): PayoutRow {
  const items = (JSON.parse(r.items as string) as { owner: string; amount: string }[]).map((i) => ({ owner: i.owner, amount: BigInt(i.amount) }));
  return {
    id: r.id as string,
    status: r.status as PayoutStatus,
    items,
    total: BigInt(r.total as string),
    nonce: (r.nonce as number | null) ?? null,
    txHash: (r.tx_hash as string | null) ?? null,
    rawTx: (r.raw_tx as string | null) ?? null,
    block: (r.block as number | null) ?? null,
    reason: (r.reason as string | null) ?? null,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

export function createSqlitePayoutStore(db: Database.Database): PayoutStore {
  const q = {
    // An earning credited to a fleet name or a device (its owner named no wallet then) is paid to the
    // wallet the device names now: set by the hub (device_market.owner), else declared in its config
    // (the birth's owner, kept in its inventory). Resolved when a batch is planned; the batch records it.
    unpaidRows: db.prepare(
      `SELECT e.job_id, e.device_id, e.owner, e.amount, m.owner AS market_owner, json_extract(d.inventory, '$.owner') AS declared_owner
       FROM earnings e
       LEFT JOIN earnings_paid p ON p.job_id = e.job_id AND p.device_id = e.device_id
       LEFT JOIN device_market m ON m.device_id = e.device_id
       LEFT JOIN devices d ON d.id = e.device_id
       WHERE p.payout_id IS NULL`,
    ),
    counts: db.prepare(
      `SELECT (SELECT COUNT(*) FROM earnings) AS earned,
              (SELECT COUNT(*) FROM earnings_paid p JOIN payouts s ON s.id = p.payout_id WHERE s.status IN ('planned', 'signed')) AS in_flight`,
    ),
    insert: db.prepare(
      `INSERT INTO payouts (id, status, items, total, created_at, updated_at) VALUES (?, 'planned', ?, ?, ?, ?)`,
    ),
    claim: db.prepare('INSERT INTO earnings_paid (job_id, device_id, payout_id) VALUES (?, ?, ?)'),
    release: db.prepare('DELETE FROM earnings_paid WHERE payout_id = ?'),
    get: db.prepare('SELECT * FROM payouts WHERE id = ?'),
    signed: db.prepare(`UPDATE payouts SET status = 'signed', nonce = ?, tx_hash = ?, raw_tx = ?, updated_at = ? WHERE id = ? AND status = 'planned'`),
    paid: db.prepare(`UPDATE payouts SET status = 'paid', block = ?, updated_at = ? WHERE id = ?`),
    setStatus: db.prepare('UPDATE payouts SET status = ?, reason = ?, updated_at = ? WHERE id = ?'),
    open: db.prepare(`SELECT * FROM payouts WHERE status IN ('planned', 'signed') ORDER BY created_at, id`),
    list: db.prepare('SELECT * FROM payouts ORDER BY created_at DESC, id DESC LIMIT ?'),
    byStatus: db.prepare('SELECT status, COUNT(*) AS n FROM payouts GROUP BY status'),
    paidTotals: db.prepare(`SELECT total FROM payouts WHERE status = 'paid'`).pluck(),
    paidOf: db.prepare(
      `SELECT e.job_id, e.amount FROM earnings e JOIN earnings_paid p ON p.job_id = e.job_id AND p.device_id = e.device_id
       JOIN payouts s ON s.id = p.payout_id WHERE e.device_id = ? AND s.status = 'paid'`,
    ),
  };

  type Unpaid = { job_id: string; device_id: string; owner: string; amount: string; payee: string | null };
  const payeeOf = (r: Raw): string | null => {
    for (const c of [r.owner, r.market_owner, r.declared_owner]) if (typeof c === 'string' && ADDRESS.test(c)) return c;
    return null;
  };
  const allUnpaid = (): Unpaid[] => (q.unpaidRows.all() as Raw[]).map((r) => ({ ...(r as Unpaid), payee: payeeOf(r) }));
  const unpaidEarnings = () => allUnpaid().filter((r): r is Unpaid & { payee: string } => r.payee !== null);

  // Sums and claims in one transaction, so an earning that lands meanwhile is either in this batch or
  // left for the next one, never claimed without being paid.
  const planTx = db.transaction((id: string, at: number, maxOwners: number): PayoutRow | null => {
    const byOwner = new Map<string, { owner: string; amount: bigint; rows: { job_id: string; device_id: string }[] }>();
    for (const e of unpaidEarnings()) {
      const key = e.payee.toLowerCase();
      const cur = byOwner.get(key) ?? { owner: e.payee, amount: 0n, rows: [] };
      cur.amount += BigInt(e.amount);
      cur.rows.push(e);
      byOwner.set(key, cur);
    }
    const chosen = [...byOwner.values()].filter((o) => o.amount > 0n).sort((a, b) => (a.owner < b.owner ? -1 : 1)).slice(0, maxOwners);
    if (chosen.length === 0) return null;
    let total = 0n;
    for (const o of chosen) total += o.amount;
    q.insert.run(id, JSON.stringify(chosen.map((o) => ({ owner: o.owner, amount: o.amount.toString() }))), total.toString(), at, at);
    for (const o of chosen) for (const r of o.rows) q.claim.run(r.job_id, r.device_id, id);
    return toRow(q.get.get(id) as Raw);
  });

  const failTx = db.transaction((id: string, reason: string, at: number) => {
    q.setStatus.run('failed', reason, at, id);
    q.release.run(id);
  });

  return {
    unpaid() {
      const sums = new Map<string, { owner: string; amount: bigint }>();
      for (const e of unpaidEarnings()) {
        const key = e.payee.toLowerCase();
        const cur = sums.get(key) ?? { owner: e.payee, amount: 0n };
        cur.amount += BigInt(e.amount);
        sums.set(key, cur);
      }
      return [...sums.values()].filter((s) => s.amount > 0n).sort((a, b) => (a.owner < b.owner ? -1 : 1));
    },
    unpayable() {
      const by = new Map<string, { owner: string; amount: bigint; devices: Set<string> }>();
      for (const e of allUnpaid()) {
        if (e.payee !== null) continue;
        const cur = by.get(e.owner) ?? { owner: e.owner, amount: 0n, devices: new Set<string>() };
        cur.amount += BigInt(e.amount);
        cur.devices.add(e.device_id);
        by.set(e.owner, cur);
      }
      return [...by.values()].filter((o) => o.amount > 0n).map((o) => ({ owner: o.owner, amount: o.amount, devices: [...o.devices].sort() })).sort((a, b) => (a.owner < b.owner ? -1 : 1));
    },
    ledgerCounts() {
      const r = q.counts.get() as { earned: number; in_flight: number };
      return { earned: r.earned, inFlight: r.in_flight };
    },
    plan: (id, at, maxOwners) => planTx(id, at, maxOwners),
    signed: (id, nonce, txHash, rawTx, at) => {
      if (q.signed.run(nonce, txHash, rawTx, at, id).changes !== 1) throw new Error(`payout ${id} is not planned`);
    },
    paid: (id, block, at) => void q.paid.run(block, at, id),
    failed: (id, reason, at) => failTx(id, reason, at),
    unknown: (id, reason, at) => void q.setStatus.run('unknown', reason, at, id),
    open: () => (q.open.all() as Raw[]).map(toRow),
    list: (limit = 50) => (q.list.all(limit) as Raw[]).map(toRow),
    stats: () => ({
      byStatus: Object.fromEntries((q.byStatus.all() as { status: PayoutStatus; n: number }[]).map((r) => [r.status, r.n])),
      paidWei: (q.paidTotals.all() as string[]).reduce((sum, t) => sum + BigInt(t), 0n),
    }),
    paidOf: (deviceId) => (q.paidOf.all(deviceId) as Raw[]).map((r) => ({ jobId: r.job_id as string, amount: BigInt(r.amount as string) })),
  };
}
