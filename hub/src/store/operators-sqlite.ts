// Operators (console logins and roles) in the hub's SQLite file (migration 1, address added later; auth/store.ts).
import type Database from 'better-sqlite3';
import type { OperatorRow, OperatorStore, Role } from '../auth/store.js';

type Raw = Record<string, unknown>;

export function createSqliteOperatorStore(db: Database.Database): OperatorStore {
  const q = {
    putOperator: db.prepare(
      `INSERT INTO operators (name, secret_hash, role, created_at, address) VALUES (@name, @secretHash, @role, @createdAt, @address)
       ON CONFLICT(name) DO UPDATE SET secret_hash = excluded.secret_hash, role = excluded.role, address = excluded.address`,
    ),
    getOperator: db.prepare('SELECT * FROM operators WHERE name = ?'),
    listOperators: db.prepare('SELECT * FROM operators ORDER BY name'),
    removeOperator: db.prepare('DELETE FROM operators WHERE name = ?'),
  };

  const toOperator = (r: Raw): OperatorRow => ({
    name: r.name as string, secretHash: r.secret_hash as string, role: r.role as Role, createdAt: r.created_at as number, address: (r.address as string | null) ?? null,
  });

  return {
    putOperator: (row) => void q.putOperator.run({ ...row, address: row.address ?? null }),
    getOperator: (name) => {
      const r = q.getOperator.get(name) as Raw | undefined;
      return r ? toOperator(r) : undefined;
    },
    listOperators: () => (q.listOperators.all() as Raw[]).map(toOperator),
    removeOperator: (name) => q.removeOperator.run(name).changes === 1,
  };
}
