// Alerts and their deliveries in the hub's SQLite file (migration 7 in store/sqlite.ts; alerts/store.ts
// declares the store).
import type Database from 'better-sqlite3';
import type { DeviceSnapshot, Notification, NewAlert, UnsentTransition } from '../alerts/planner.js';
import type { AlertRow, AlertStore, DeliveryRow } from '../alerts/store.js';

export const ALERTS_MIGRATION = `
  CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rule TEXT NOT NULL, metric TEXT NOT NULL, subject TEXT NOT NULL,
    status TEXT NOT NULL, value TEXT, starts_at INTEGER NOT NULL, ends_at INTEGER,
    acked_by TEXT, acked_at INTEGER, fired_sent INTEGER NOT NULL DEFAULT 0, resolved_sent INTEGER NOT NULL DEFAULT 0);
  CREATE UNIQUE INDEX alerts_firing ON alerts(rule, subject) WHERE status = 'firing';
  CREATE INDEX alerts_unsent ON alerts(status, fired_sent, resolved_sent);
  CREATE TABLE alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, webhook TEXT NOT NULL, notification TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, last_error TEXT, created_at INTEGER NOT NULL, sent_at INTEGER);
  CREATE INDEX alert_deliveries_due ON alert_deliveries(status, next_at);`;

type Raw = Record<string, unknown>;

const toAlert = (r: Raw): AlertRow => ({
  id: r.id as number, rule: r.rule as string, metric: r.metric as string, subject: r.subject as string,
  status: r.status as AlertRow['status'], value: (r.value as string | null) ?? null,
  startsAt: r.starts_at as number, endsAt: (r.ends_at as number | null) ?? null,
  ackedBy: (r.acked_by as string | null) ?? null, ackedAt: (r.acked_at as number | null) ?? null,
  firedSent: r.fired_sent === 1, resolvedSent: r.resolved_sent === 1,
});

const toDelivery = (r: Raw): DeliveryRow => ({
  id: r.id as number, webhook: r.webhook as string, notification: JSON.parse(r.notification as string) as Notification,
  status: r.status as DeliveryRow['status'], attempts: r.attempts as number, nextAt: r.next_at as number,
  lastError: (r.last_error as string | null) ?? null, createdAt: r.created_at as number, sentAt: (r.sent_at as number | null) ?? null,
});

export function createSqliteAlertStore(db: Database.Database): AlertStore {
  const q = {
    devices: db.prepare(
      `SELECT id, name, fleet, tags, online, first_seen, last_seen, telemetry,
         json_array_length(inventory, '$.hardware.gpus') AS gpus FROM devices ORDER BY id`,
    ),
    finishedJobs: db.prepare("SELECT finished_at, state FROM jobs WHERE state IN ('failed', 'succeeded') AND finished_at >= ?"),
    firing: db.prepare("SELECT * FROM alerts WHERE status = 'firing' ORDER BY id"),
    get: db.prepare('SELECT * FROM alerts WHERE id = ?'),
    list: db.prepare("SELECT * FROM alerts WHERE status = 'firing' OR ends_at >= ? ORDER BY id DESC"),
    insert: db.prepare("INSERT INTO alerts (rule, metric, subject, status, value, starts_at) VALUES (@rule, @metric, @subject, 'firing', @value, @startsAt)"),
    resolve: db.prepare("UPDATE alerts SET status = 'resolved', ends_at = ? WHERE id = ? AND status = 'firing'"),
    unsent: db.prepare("SELECT * FROM alerts WHERE fired_sent = 0 OR (status = 'resolved' AND resolved_sent = 0) ORDER BY id"),
    firedSent: db.prepare('UPDATE alerts SET fired_sent = 1 WHERE id = ?'),
    resolvedSent: db.prepare('UPDATE alerts SET resolved_sent = 1 WHERE id = ?'),
    insertDelivery: db.prepare("INSERT INTO alert_deliveries (webhook, notification, status, next_at, created_at) VALUES (?, ?, 'pending', ?, ?)"),
    ack: db.prepare("UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ? AND status = 'firing'"),
    due: db.prepare("SELECT * FROM alert_deliveries WHERE status = 'pending' AND next_at <= ? ORDER BY id LIMIT ?"),
    nextAt: db.prepare("SELECT MIN(next_at) AS at FROM alert_deliveries WHERE status = 'pending'"),
    sent: db.prepare("UPDATE alert_deliveries SET status = 'sent', attempts = ?, sent_at = ?, last_error = NULL WHERE id = ?"),
    retry: db.prepare('UPDATE alert_deliveries SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?'),
    failed: db.prepare("UPDATE alert_deliveries SET status = 'failed', attempts = ?, last_error = ? WHERE id = ?"),
    listDeliveries: db.prepare('SELECT * FROM alert_deliveries ORDER BY id DESC LIMIT ?'),
  };
  const apply = db.transaction((fire: NewAlert[], resolve: { id: number; endsAt: number }[]) => {
    for (const r of resolve) q.resolve.run(r.endsAt, r.id);
    for (const f of fire) q.insert.run(f);
  });
  const record = db.transaction((planned: { notification: Notification; webhooks: string[] }[], at: number) => {
    for (const p of planned) {
      for (const w of p.webhooks) q.insertDelivery.run(w, JSON.stringify(p.notification), at, at);
      for (const a of p.notification.alerts) (p.notification.status === 'firing' ? q.firedSent : q.resolvedSent).run(a.id);
    }
  });
  return {
    deviceSnapshot: () =>
      (q.devices.all() as Raw[]).map((r) => ({
        id: r.id as string, name: r.name as string, fleet: (r.fleet as string | null) ?? null, tags: JSON.parse((r.tags as string) || '[]') as string[],
        online: r.online === 1, firstSeen: (r.first_seen as number | null) ?? null, lastSeen: (r.last_seen as number | null) ?? null,
        telemetry: typeof r.telemetry === 'string' ? (JSON.parse(r.telemetry) as Record<string, number>) : null,
        inventoryGpus: (r.gpus as number | null) ?? null,
      })),
    finishedJobsSince: (since) => (q.finishedJobs.all(since) as Raw[]).map((r) => ({ at: r.finished_at as number, failed: r.state === 'failed' })),
    firing: () => (q.firing.all() as Raw[]).map(toAlert),
    get: (id) => {
      const r = q.get.get(id) as Raw | undefined;
      return r ? toAlert(r) : undefined;
    },
    list: (since) => (q.list.all(since) as Raw[]).map(toAlert),
    apply: (fire, resolve) => apply(fire, resolve),
    unsent: () =>
      (q.unsent.all() as Raw[]).map(toAlert).flatMap((a) => {
        const out: UnsentTransition[] = [];
        const base = { id: a.id, rule: a.rule, metric: a.metric, subject: a.subject, value: a.value, startsAt: a.startsAt };
        if (!a.firedSent) out.push({ ...base, status: 'firing', endsAt: null });
        if (a.status === 'resolved' && !a.resolvedSent) out.push({ ...base, status: 'resolved', endsAt: a.endsAt });
        return out;
      }),
    recordNotifications: (planned, at) => record(planned, at),
    ack: (id, by, at) => q.ack.run(by, at, id).changes === 1,
    dueDeliveries: (now, limit) => (q.due.all(now, limit) as Raw[]).map(toDelivery),
    nextDeliveryAt: () => ((q.nextAt.get() as Raw).at as number | null) ?? null,
    deliverySent: (id, attempts, at) => void q.sent.run(attempts, at, id),
    deliveryRetry: (id, attempts, nextAt, error) => void q.retry.run(attempts, nextAt, error, id),
    deliveryFailed: (id, attempts, error) => void q.failed.run(attempts, error, id),
    listDeliveries: (limit) => (q.listDeliveries.all(limit) as Raw[]).map(toDelivery),
  };
}
