// Agent releases and their per-device rollout records in the hub's SQLite file (migration 4 in sqlite.ts).
import type Database from 'better-sqlite3';
import type { RolloutState } from '@sosna/protocol';
import type { ReleaseRow, RolloutRecord, UpdateStore } from '../updates/store.js';

export type { ReleaseRow, RolloutRecord, UpdateStore };

export const UPDATES_MIGRATION = `
  CREATE TABLE update_releases (
    version TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, signature TEXT NOT NULL, signer TEXT NOT NULL,
    file TEXT NOT NULL, health_deadline_sec INTEGER NOT NULL, created_at INTEGER NOT NULL);
  CREATE TABLE update_rollouts (
    version TEXT NOT NULL REFERENCES update_releases(version), device_id TEXT NOT NULL, state TEXT NOT NULL, reason TEXT,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (version, device_id));
  CREATE INDEX update_rollouts_device ON update_rollouts(device_id, state);`;

type Raw = Record<string, unknown>;

const toRelease = (r: Raw): ReleaseRow => ({
  version: r.version as string,
  sha256: r.sha256 as string,
  size: r.size as number,
  signature: r.signature as string,
  signer: r.signer as string,
  file: r.file as string,
  healthDeadlineSec: r.health_deadline_sec as number,
  createdAt: r.created_at as number,
});

const toRollout = (r: Raw): RolloutRecord => ({
  version: r.version as string,
  deviceId: r.device_id as string,
  state: r.state as RolloutState,
  reason: (r.reason as string | null) ?? null,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

export function createSqliteUpdateStore(db: Database.Database): UpdateStore {
  const q = {
    putRelease: db.prepare(
      `INSERT INTO update_releases (version, sha256, size, signature, signer, file, health_deadline_sec, created_at)
       VALUES (@version, @sha256, @size, @signature, @signer, @file, @healthDeadlineSec, @createdAt)`,
    ),
    getRelease: db.prepare('SELECT * FROM update_releases WHERE version = ?'),
    listReleases: db.prepare('SELECT * FROM update_releases ORDER BY created_at, version'),
    addTarget: db.prepare(
      `INSERT INTO update_rollouts (version, device_id, state, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)
       ON CONFLICT(version, device_id) DO NOTHING`,
    ),
    getRollout: db.prepare('SELECT * FROM update_rollouts WHERE version = ? AND device_id = ?'),
    setRollout: db.prepare('UPDATE update_rollouts SET state = ?, reason = ?, updated_at = ? WHERE version = ? AND device_id = ?'),
    listAll: db.prepare('SELECT * FROM update_rollouts ORDER BY version, device_id'),
    listVersion: db.prepare('SELECT * FROM update_rollouts WHERE version = ? ORDER BY device_id'),
    ofDevice: db.prepare('SELECT * FROM update_rollouts WHERE device_id = ? ORDER BY created_at DESC'),
  };
  const addTx = db.transaction((version: string, ids: string[], at: number) => {
    let added = 0;
    for (const id of ids) added += q.addTarget.run(version, id, at, at).changes;
    return added;
  });
  return {
    putRelease: (row) => void q.putRelease.run(row),
    getRelease: (version) => {
      const r = q.getRelease.get(version) as Raw | undefined;
      return r ? toRelease(r) : undefined;
    },
    listReleases: () => (q.listReleases.all() as Raw[]).map(toRelease),
    addTargets: (version, ids, at) => addTx(version, ids, at),
    getRollout: (version, deviceId) => {
      const r = q.getRollout.get(version, deviceId) as Raw | undefined;
      return r ? toRollout(r) : undefined;
    },
    setRollout: (version, deviceId, state, reason, at) => void q.setRollout.run(state, reason, at, version, deviceId),
    listRollouts: (version) => ((version === undefined ? q.listAll.all() : q.listVersion.all(version)) as Raw[]).map(toRollout),
    rolloutsOf: (deviceId, states) => (q.ofDevice.all(deviceId) as Raw[]).map(toRollout).filter((r) => states.includes(r.state)),
  };
}
