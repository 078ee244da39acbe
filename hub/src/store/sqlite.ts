// The embedded hub database: one SQLite file (better-sqlite3: synchronous, transactional, WAL so that the
// `sosna hub keys ...` commands can write while the hub runs). Migrations are numbered by user_version.
import Database from 'better-sqlite3';
import type { HubStore } from './types.js';
import { createSqliteFleetStore } from './fleet-sqlite.js';
import { createSqliteOperatorStore } from './operators-sqlite.js';
import { createSqliteJobStore, JOBS_MIGRATION, TRUST_MIGRATION } from './jobs-sqlite.js';
import { createSqlitePayoutStore, PAYOUTS_MIGRATION } from './payouts-sqlite.js';
import { createSqliteUpdateStore, UPDATES_MIGRATION } from './updates-sqlite.js';
import { createSqliteSessionStore, SESSIONS_MIGRATION } from './sessions-sqlite.js';
import { createSqliteReceiptStore, RECEIPTS_MIGRATION } from './receipts-sqlite.js';
import { createSqliteAlertStore, ALERTS_MIGRATION } from './alerts-sqlite.js';
import { createSqliteEscrowStore, ESCROW_MIGRATION } from './escrow-sqlite.js';

const MIGRATIONS: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE devices (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, fleet TEXT, tags TEXT NOT NULL DEFAULT '[]',
     secret_hash TEXT NOT NULL, key_id TEXT, provision_nonce TEXT, created_at INTEGER NOT NULL,
     first_seen INTEGER, last_seen INTEGER, online INTEGER NOT NULL DEFAULT 0, agent_version TEXT,
     inventory TEXT, telemetry TEXT, telemetry_at INTEGER);
   CREATE UNIQUE INDEX devices_nonce ON devices(key_id, provision_nonce) WHERE provision_nonce IS NOT NULL;
   CREATE INDEX devices_fleet ON devices(fleet);
   CREATE TABLE provisioning_keys (
     id TEXT PRIMARY KEY, fleet TEXT NOT NULL, secret_hash TEXT NOT NULL, max_uses INTEGER,
     uses INTEGER NOT NULL DEFAULT 0, expires_at INTEGER, revoked_at INTEGER, created_at INTEGER NOT NULL);
   CREATE TABLE operators (name TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, role TEXT NOT NULL, created_at INTEGER NOT NULL);`,
  // 2: jobs, their runs, events, output, the earnings ledger and device standing (hub/src/jobs)
  JOBS_MIGRATION,
  // 3: payout batches and which earnings they settled (hub/src/payouts)
  PAYOUTS_MIGRATION,
  // 4: desired config per device, set from the console and retained on dev/{id}/config (hub/src/fleet/desired-config.ts)
  `CREATE TABLE desired_config (
     device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE, version INTEGER NOT NULL, config TEXT NOT NULL,
     status TEXT NOT NULL, reason TEXT, updated_at INTEGER NOT NULL, reported_at INTEGER);`,
  // 5: agent releases and their per-device rollouts (hub/src/updates/service.ts)
  UPDATES_MIGRATION,
  // 6: remote shell and exec sessions (hub/src/console/remote.ts)
  SESSIONS_MIGRATION,
  // 7: alerts (firing/resolved, acknowledged) and their webhook deliveries (hub/src/alerts)
  ALERTS_MIGRATION,
  // 8: verification records, ringers and stake slashes (hub/src/jobs/trust.ts)
  TRUST_MIGRATION,
  // (wt-receipts) device keys, their hub-signed bindings and run receipts (hub/src/store/receipts-sqlite.ts)
  RECEIPTS_MIGRATION,
  // buyers (issue 14 item 1): a buyer's on-chain address beside its login
  `ALTER TABLE operators ADD COLUMN address TEXT;`,
  // escrow (issue 14 item 2): buyer jobs' funding, buyers' credit and the settlement outbox (hub/src/escrow)
  ESCROW_MIGRATION,
];

export function openSqliteStore(file: string): HubStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    db.close();
    throw new Error(`${file}: database schema version ${version} is newer than this hub understands (${MIGRATIONS.length}); upgrade sosna`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }

  return {
    ...createSqliteFleetStore(db),
    ...createSqliteOperatorStore(db),
    jobs: createSqliteJobStore(db),
    payouts: createSqlitePayoutStore(db),
    escrow: createSqliteEscrowStore(db),
    updates: createSqliteUpdateStore(db),
    sessions: createSqliteSessionStore(db),
    receipts: createSqliteReceiptStore(db),
    alerts: createSqliteAlertStore(db),
    close: () => db.close(),
  };
}
