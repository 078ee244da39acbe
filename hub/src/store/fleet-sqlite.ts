// The fleet's tables in the hub's SQLite file (migrations 1 and 4 in sqlite.ts): devices and their
// credentials, provisioning keys, desired config and the hub's own settings (fleet/store.ts).
import type Database from 'better-sqlite3';
import type { BirthUpdate, DesiredConfigRow, DesiredConfigStore, DeviceRow, DeviceStore, KeyRow, MetaStore, ProvisioningKeyStore } from '../fleet/store.js';

export type SqliteFleetStore = MetaStore & DeviceStore & DesiredConfigStore & ProvisioningKeyStore;

type Raw = Record<string, unknown>;

const json = <T>(v: unknown, fallback: T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : fallback);

function toDevice(r: Raw): DeviceRow {
  return {
    id: r.id as string,
    name: r.name as string,
    fleet: (r.fleet as string | null) ?? null,
    tags: json<string[]>(r.tags, []),
    secretHash: r.secret_hash as string,
    keyId: (r.key_id as string | null) ?? null,
    provisionNonce: (r.provision_nonce as string | null) ?? null,
    createdAt: r.created_at as number,
    firstSeen: (r.first_seen as number | null) ?? null,
    lastSeen: (r.last_seen as number | null) ?? null,
    online: r.online === 1,
    agentVersion: (r.agent_version as string | null) ?? null,
    inventory: json<Record<string, unknown> | null>(r.inventory, null),
    telemetry: json<Record<string, number> | null>(r.telemetry, null),
    telemetryAt: (r.telemetry_at as number | null) ?? null,
  };
}

function toKey(r: Raw): KeyRow {
  return {
    id: r.id as string,
    fleet: r.fleet as string,
    secretHash: r.secret_hash as string,
    maxUses: (r.max_uses as number | null) ?? null,
    uses: r.uses as number,
    expiresAt: (r.expires_at as number | null) ?? null,
    revokedAt: (r.revoked_at as number | null) ?? null,
    createdAt: r.created_at as number,
  };
}

export function createSqliteFleetStore(db: Database.Database): SqliteFleetStore {
  const q = {
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    getDevice: db.prepare('SELECT * FROM devices WHERE id = ?'),
    deviceSecret: db.prepare('SELECT secret_hash FROM devices WHERE id = ?').pluck(),
    byNonce: db.prepare('SELECT * FROM devices WHERE key_id = ? AND provision_nonce = ?'),
    count: db.prepare('SELECT COUNT(*) AS total, COALESCE(SUM(online), 0) AS online FROM devices'),
    insertDevice: db.prepare(
      `INSERT INTO devices (id, name, fleet, tags, secret_hash, key_id, provision_nonce, created_at)
       VALUES (@id, @name, @fleet, @tags, @secretHash, @keyId, @nonce, @createdAt)`,
    ),
    setSecret: db.prepare('UPDATE devices SET secret_hash = ? WHERE id = ?'),
    birth: db.prepare(
      `UPDATE devices SET online = 1, last_seen = @at, first_seen = COALESCE(first_seen, @at), name = @name,
       agent_version = @agentVersion, inventory = @inventory WHERE id = @id`,
    ),
    death: db.prepare('UPDATE devices SET online = 0, last_seen = ? WHERE id = ?'),
    allOffline: db.prepare('UPDATE devices SET online = 0 WHERE online = 1'),
    getTelemetry: db.prepare('SELECT telemetry FROM devices WHERE id = ?'),
    setTelemetry: db.prepare('UPDATE devices SET telemetry = ?, telemetry_at = ?, last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE id = ?'),
    useKey: db.prepare('UPDATE provisioning_keys SET uses = uses + 1 WHERE id = ? AND (max_uses IS NULL OR uses < max_uses)'),
    insertKey: db.prepare(
      'INSERT INTO provisioning_keys (id, fleet, secret_hash, max_uses, expires_at, created_at) VALUES (@id, @fleet, @secretHash, @maxUses, @expiresAt, @createdAt)',
    ),
    getKey: db.prepare('SELECT * FROM provisioning_keys WHERE id = ?'),
    listKeys: db.prepare('SELECT * FROM provisioning_keys ORDER BY created_at'),
    revokeKey: db.prepare('UPDATE provisioning_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    setTags: db.prepare('UPDATE devices SET tags = ? WHERE id = ?'),
    getDesired: db.prepare('SELECT * FROM desired_config WHERE device_id = ?'),
    listDesired: db.prepare('SELECT * FROM desired_config ORDER BY device_id'),
    putDesired: db.prepare(
      `INSERT INTO desired_config (device_id, version, config, status, reason, updated_at) VALUES (@id, @version, @config, 'pending', NULL, @at)
       ON CONFLICT(device_id) DO UPDATE SET version = excluded.version, config = excluded.config, status = 'pending', reason = NULL, updated_at = excluded.updated_at, reported_at = NULL`,
    ),
    reportDesired: db.prepare('UPDATE desired_config SET status = @status, reason = @reason, reported_at = @at WHERE device_id = @id AND version = @version'),
  };

  const toDesired = (r: Raw): DesiredConfigRow => ({
    deviceId: r.device_id as string, version: r.version as number, values: json<Record<string, unknown>>(r.config, {}),
    status: r.status as DesiredConfigRow['status'], reason: (r.reason as string | null) ?? null,
    updatedAt: r.updated_at as number, reportedAt: (r.reported_at as number | null) ?? null,
  });
  const putDesired = db.transaction((id: string, values: Record<string, unknown>, at: number): DesiredConfigRow => {
    const prev = q.getDesired.get(id) as Raw | undefined;
    const merged = { ...(prev ? json<Record<string, unknown>>(prev.config, {}) : {}), ...values };
    const version = prev ? (prev.version as number) + 1 : 1;
    q.putDesired.run({ id, version, config: JSON.stringify(merged), at });
    return { deviceId: id, version, values: merged, status: 'pending', reason: null, updatedAt: at, reportedAt: null };
  });

  const createProvisioned = db.transaction(
    (row: { id: string; name: string; fleet: string; tags?: string[]; secretHash: string; keyId: string; nonce: string; createdAt: number }) => {
      if (q.useKey.run(row.keyId).changes !== 1) return 'exhausted' as const;
      q.insertDevice.run({ ...row, tags: JSON.stringify(row.tags ?? []) });
      return 'created' as const;
    },
  );

  const telemetryTx = db.transaction((updates: { id: string; at: number; metrics: Record<string, number>; full: boolean }[]) => {
    for (const u of updates) {
      let merged = u.metrics;
      if (!u.full) {
        const prev = q.getTelemetry.get(u.id) as Raw | undefined;
        if (!prev) continue;
        merged = { ...json<Record<string, number>>(prev.telemetry, {}), ...u.metrics };
      }
      q.setTelemetry.run(JSON.stringify(merged), u.at, u.at, u.id);
    }
  });

  return {
    getMeta: (key) => (q.getMeta.get(key) as Raw | undefined)?.value as string | undefined,
    setMeta: (key, value) => void q.setMeta.run(key, value),
    getDevice: (id) => {
      const r = q.getDevice.get(id) as Raw | undefined;
      return r ? toDevice(r) : undefined;
    },
    getDeviceSecretHash: (id) => q.deviceSecret.get(id) as string | undefined,
    hasDevice: (id) => q.deviceSecret.get(id) !== undefined,
    listDevices: (filter = {}) => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.fleet !== undefined) { where.push('fleet = ?'); args.push(filter.fleet); }
      if (filter.online !== undefined) { where.push('online = ?'); args.push(filter.online ? 1 : 0); }
      if (filter.tag !== undefined) { where.push('EXISTS (SELECT 1 FROM json_each(devices.tags) WHERE value = ?)'); args.push(filter.tag); }
      const sql = `SELECT * FROM devices${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
      return (db.prepare(sql).all(...args) as Raw[]).map(toDevice);
    },
    countDevices: () => {
      const r = q.count.get() as Raw;
      return { total: Number(r.total), online: Number(r.online) };
    },
    findDeviceByNonce: (keyId, nonce) => {
      const r = q.byNonce.get(keyId, nonce) as Raw | undefined;
      return r ? toDevice(r) : undefined;
    },
    createProvisionedDevice: (row) => createProvisioned(row),
    createDevice: (row) => void q.insertDevice.run({ ...row, tags: JSON.stringify(row.tags), keyId: null, nonce: null }),
    setDeviceSecret: (id, hash) => void q.setSecret.run(hash, id),
    recordBirth: (id, b: BirthUpdate) =>
      void q.birth.run({ id, at: b.at, name: b.name, agentVersion: b.agentVersion, inventory: JSON.stringify(b.inventory) }),
    recordDeath: (id, at) => void q.death.run(at, id),
    markAllOffline: () => void q.allOffline.run(),
    recordTelemetry: (updates) => telemetryTx(updates),
    setTags: (id, tags) => void q.setTags.run(JSON.stringify(tags), id),
    putDesiredConfig: (id, values, at) => putDesired(id, values, at),
    getDesiredConfig: (id) => {
      const r = q.getDesired.get(id) as Raw | undefined;
      return r ? toDesired(r) : undefined;
    },
    listDesiredConfigs: () => (q.listDesired.all() as Raw[]).map(toDesired),
    reportDesiredConfig: (id, r) => q.reportDesired.run({ id, version: r.version, status: r.status, reason: r.reason, at: r.at }).changes === 1,
    createKey: (row) => void q.insertKey.run(row),
    getKey: (id) => {
      const r = q.getKey.get(id) as Raw | undefined;
      return r ? toKey(r) : undefined;
    },
    listKeys: () => (q.listKeys.all() as Raw[]).map(toKey),
    revokeKey: (id, at) => q.revokeKey.run(at, id).changes === 1,
  };
}
