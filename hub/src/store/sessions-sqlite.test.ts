// The record of remote sessions in the hub's SQLite file: written at the start, completed at the end, and
// sessions a stopped hub left open are closed at the next start (they would otherwise look live forever).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from './sqlite.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('remote session records', () => {
  it('records start and end, lists newest first, and closes what an earlier process left open', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sosna-sessions-'));
    dirs.push(dir);
    const file = join(dir, 'hub.db');
    let store = openSqliteStore(file);
    store.sessions.start({ id: 's-0000000000000001', kind: 'shell', operator: 'root', deviceId: 'rig-1', jobId: null, command: null, startedAt: 1000 });
    store.sessions.start({ id: 's-0000000000000002', kind: 'exec', operator: 'alice', deviceId: 'rig-2', jobId: 'j-1', command: 'ls -la', startedAt: 2000 });
    store.sessions.end('s-0000000000000001', { endedAt: 61_000, exitCode: 3, reason: null, bytesIn: 12, bytesOut: 345 });
    // a second end (a late duplicate) changes nothing
    store.sessions.end('s-0000000000000001', { endedAt: 99_000, exitCode: 0, reason: 'late', bytesIn: 0, bytesOut: 0 });
    expect(store.sessions.get('s-0000000000000001')).toMatchObject({ endedAt: 61_000, exitCode: 3, bytesIn: 12, bytesOut: 345 });
    expect(store.sessions.list({ limit: 10 }).map((s) => s.id)).toEqual(['s-0000000000000002', 's-0000000000000001']);
    expect(store.sessions.list({ deviceId: 'rig-2', limit: 10 }).map((s) => [s.kind, s.jobId, s.command])).toEqual([['exec', 'j-1', 'ls -la']]);
    store.close();

    store = openSqliteStore(file); // the hub restarts
    expect(store.sessions.closeOpen(5000, 'hub restarted')).toBe(1);
    expect(store.sessions.get('s-0000000000000002')).toMatchObject({ endedAt: 5000, reason: 'hub restarted', exitCode: null });
    expect(store.sessions.closeOpen(6000, 'hub restarted')).toBe(0);
    store.close();
  });
});
