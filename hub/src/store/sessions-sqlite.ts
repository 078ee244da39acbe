// Remote shell and exec sessions in the hub's SQLite file (migration 6 in sqlite.ts): who opened what on
// which device, when, for how long, and how it ended. A row is written when a session starts, so a session
// of a hub that crashed is still on record (closed as "hub restarted" at the next start).
import type Database from 'better-sqlite3';
import type { ShellSessionRecord } from '@sosna/protocol';
import type { SessionStore } from '../console/store.js';

export type { SessionStore };

export const SESSIONS_MIGRATION = `
  CREATE TABLE remote_sessions (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, operator TEXT NOT NULL, device_id TEXT NOT NULL, job_id TEXT, command TEXT,
    started_at INTEGER NOT NULL, ended_at INTEGER, exit_code INTEGER, reason TEXT,
    bytes_in INTEGER NOT NULL DEFAULT 0, bytes_out INTEGER NOT NULL DEFAULT 0);
  CREATE INDEX remote_sessions_started ON remote_sessions(started_at);`;

type Raw = Record<string, unknown>;
const toRecord = (r: Raw): ShellSessionRecord => ({
  id: r.id as string, kind: r.kind as 'shell' | 'exec', operator: r.operator as string, deviceId: r.device_id as string,
  jobId: (r.job_id as string | null) ?? null, command: (r.command as string | null) ?? null,
  startedAt: r.started_at as number, endedAt: (r.ended_at as number | null) ?? null, exitCode: (r.exit_code as number | null) ?? null,
  reason: (r.reason as string | null) ?? null, bytesIn: r.bytes_in as number, bytesOut: r.bytes_out as number,
});

export function createSqliteSessionStore(db: Database.Database): SessionStore {
  const q = {
    start: db.prepare(
      `INSERT INTO remote_sessions (id, kind, operator, device_id, job_id, command, started_at)
       VALUES (@id, @kind, @operator, @deviceId, @jobId, @command, @startedAt)`,
    ),
    end: db.prepare(
      `UPDATE remote_sessions SET ended_at = @endedAt, exit_code = @exitCode, reason = @reason, bytes_in = @bytesIn, bytes_out = @bytesOut
       WHERE id = @id AND ended_at IS NULL`,
    ),
    closeOpen: db.prepare('UPDATE remote_sessions SET ended_at = ?, reason = ? WHERE ended_at IS NULL'),
    get: db.prepare('SELECT * FROM remote_sessions WHERE id = ?'),
    list: db.prepare('SELECT * FROM remote_sessions WHERE (@deviceId IS NULL OR device_id = @deviceId) ORDER BY started_at DESC, id LIMIT @limit'),
  };
  return {
    start: (row) => void q.start.run(row),
    end: (id, e) => void q.end.run({ id, ...e }),
    closeOpen: (at, reason) => q.closeOpen.run(at, reason).changes,
    get: (id) => {
      const r = q.get.get(id) as Raw | undefined;
      return r ? toRecord(r) : undefined;
    },
    list: ({ deviceId, limit }) => (q.list.all({ deviceId: deviceId ?? null, limit }) as Raw[]).map(toRecord),
  };
}
