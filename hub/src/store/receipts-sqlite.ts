// Device keys and run receipts in the hub's SQLite file (see docs/architecture.md "Device keys and
// receipts"). A device has at most one current key (cleared_at NULL); a key an admin cleared stays, so
// receipts signed with it keep their binding. Receipts are stored as the device sent them, once per run.
import type Database from 'better-sqlite3';
import type { Receipt } from '@sosna/protocol';
import { bindingOf, type ReceiptStore, type StoredKey } from '../receipts/store.js';

export { bindingOf, type ReceiptStore, type StoredKey };

export const RECEIPTS_MIGRATION = `
  CREATE TABLE device_keys (
    device_id TEXT NOT NULL, public_key TEXT NOT NULL, registered_at INTEGER NOT NULL, hub_id TEXT NOT NULL,
    hub_owner TEXT NOT NULL, hub_signature TEXT NOT NULL, cleared_at INTEGER, cleared_by TEXT,
    PRIMARY KEY (device_id, public_key));
  CREATE UNIQUE INDEX device_keys_current ON device_keys(device_id) WHERE cleared_at IS NULL;
  CREATE TABLE device_key_refusals (device_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, at INTEGER NOT NULL);
  CREATE TABLE receipts (
    run_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, device_id TEXT NOT NULL, public_key TEXT NOT NULL,
    receipt TEXT NOT NULL, signature TEXT NOT NULL, received_at INTEGER NOT NULL);
  CREATE INDEX receipts_job ON receipts(job_id);`;

type Raw = Record<string, unknown>;
const toKey = (r: Raw): StoredKey => ({
  v: 1, hubId: r.hub_id as string, deviceId: r.device_id as string, publicKey: r.public_key as string, registeredAt: r.registered_at as number,
  hubOwner: r.hub_owner as string, hubSignature: r.hub_signature as string, clearedAt: (r.cleared_at as number | null) ?? null, clearedBy: (r.cleared_by as string | null) ?? null,
});

export function createSqliteReceiptStore(db: Database.Database): ReceiptStore {
  const q = {
    current: db.prepare('SELECT * FROM device_keys WHERE device_id = ? AND cleared_at IS NULL'),
    all: db.prepare('SELECT * FROM device_keys WHERE device_id = ? ORDER BY registered_at DESC'),
    key: db.prepare('SELECT * FROM device_keys WHERE device_id = ? AND public_key = ?'),
    add: db.prepare(
      `INSERT INTO device_keys (device_id, public_key, registered_at, hub_id, hub_owner, hub_signature)
       VALUES (@deviceId, @publicKey, @registeredAt, @hubId, @hubOwner, @hubSignature)`,
    ),
    clear: db.prepare('UPDATE device_keys SET cleared_at = ?, cleared_by = ? WHERE device_id = ? AND cleared_at IS NULL'),
    refused: db.prepare('SELECT public_key, at FROM device_key_refusals WHERE device_id = ?'),
    setRefused: db.prepare('INSERT INTO device_key_refusals (device_id, public_key, at) VALUES (?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET public_key = excluded.public_key, at = excluded.at'),
    unrefuse: db.prepare('DELETE FROM device_key_refusals WHERE device_id = ?'),
    addReceipt: db.prepare(
      `INSERT INTO receipts (run_id, job_id, device_id, public_key, receipt, signature, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(run_id) DO NOTHING`,
    ),
    receipts: db.prepare('SELECT * FROM receipts WHERE job_id = ? ORDER BY run_id'),
  };
  return {
    currentKey: (deviceId) => {
      const r = q.current.get(deviceId) as Raw | undefined;
      return r ? toKey(r) : null;
    },
    keysOf: (deviceId) => (q.all.all(deviceId) as Raw[]).map(toKey),
    addKey: (b) =>
      db.transaction(() => {
        if (q.current.get(b.deviceId) || q.key.get(b.deviceId, b.publicKey)) return false;
        q.add.run(b);
        q.unrefuse.run(b.deviceId);
        return true;
      })(),
    clearKey: (deviceId, at, by) => q.clear.run(at, by, deviceId).changes > 0,
    refused: (deviceId) => {
      const r = q.refused.get(deviceId) as { public_key: string; at: number } | undefined;
      return r ? { publicKey: r.public_key, at: r.at } : null;
    },
    setRefused: (deviceId, publicKey, at) => void (publicKey ? q.setRefused.run(deviceId, publicKey, at) : q.unrefuse.run(deviceId)),
    addReceipt: ({ receipt, publicKey, signature, receivedAt }) =>
      q.addReceipt.run(receipt.runId, receipt.jobId, receipt.deviceId, publicKey, JSON.stringify(receipt), signature, receivedAt).changes > 0,
    receiptsOf: (jobId) =>
      (q.receipts.all(jobId) as Raw[]).map((r) => {
        const key = toKey(q.key.get(r.device_id, r.public_key) as Raw);
        return { receipt: JSON.parse(r.receipt as string) as Receipt, signature: r.signature as string, deviceKey: bindingOf(key), receivedAt: r.received_at as number };
      }),
  };
}
