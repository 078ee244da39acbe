// The alerts' reads and writes in the real SQLite store: the light device snapshot, finished jobs, the
// firing/unsent bookkeeping across a reopen (a hub restart), acknowledging.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../store/sqlite.js';
import type { JobRow } from '../jobs/store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sosna-alerts-store-'));
  dirs.push(d);
  return d;
};

describe('alert store', () => {
  it('reads devices with their GPU count from the birth inventory, and finished jobs since a time', () => {
    const st = openSqliteStore(join(newDir(), 'hub.db'));
    st.createDevice({ id: 'a', name: 'rig-a', fleet: 'rigs', tags: ['x'], secretHash: 'h', createdAt: 1 });
    st.createDevice({ id: 'b', name: 'rig-b', fleet: null, tags: [], secretHash: 'h', createdAt: 1 });
    st.recordBirth('a', { at: 10, name: 'rig-a', agentVersion: '1', inventory: { hardware: { gpus: [{}, {}, {}] } } });
    st.recordTelemetry([{ id: 'a', at: 20, metrics: { 'gpu.count': 2 }, full: true }]);
    expect(st.alerts.deviceSnapshot()).toEqual([
      { id: 'a', name: 'rig-a', fleet: 'rigs', tags: ['x'], online: true, firstSeen: 10, lastSeen: 20, telemetry: { 'gpu.count': 2 }, inventoryGpus: 3 },
      { id: 'b', name: 'rig-b', fleet: null, tags: [], online: false, firstSeen: null, lastSeen: null, telemetry: null, inventoryGpus: null },
    ]);
    const job = (id: string, state: JobRow['state'], finishedAt: number | null): JobRow => ({
      id, spec: { image: 'x' } as unknown as JobRow['spec'], state, reason: null, replicas: 1, retries: 0, digest: null, exitCode: null,
      submittedBy: 'op', key: null, createdAt: 1, updatedAt: 1, finishedAt,
    });
    st.jobs.insertJob(job('j1', 'failed', 100));
    st.jobs.insertJob(job('j2', 'succeeded', 200));
    st.jobs.insertJob(job('j3', 'failed', 50));
    st.jobs.insertJob(job('j4', 'running', null));
    expect(st.alerts.finishedJobsSince(100).sort((x, y) => x.at - y.at)).toEqual([{ at: 100, failed: true }, { at: 200, failed: false }]);
    st.close();
  });

  it('a firing alert and what is unsent survive a reopen; ack records who and when, only while firing', () => {
    const file = join(newDir(), 'hub.db');
    let st = openSqliteStore(file);
    st.alerts.apply([{ rule: 'off', metric: 'device.offline', subject: 'a', value: null, startsAt: 5 }], []);
    st.close();
    st = openSqliteStore(file);
    const [a] = st.alerts.firing();
    expect(a).toMatchObject({ rule: 'off', subject: 'a', status: 'firing', firedSent: false });
    expect(st.alerts.unsent()).toEqual([{ id: a!.id, rule: 'off', metric: 'device.offline', subject: 'a', value: null, startsAt: 5, status: 'firing', endsAt: null }]);
    st.alerts.recordNotifications([{ notification: { status: 'firing', rule: 'off', metric: 'device.offline', alerts: [{ id: a!.id, subject: 'a', name: 'a', value: null, startsAt: 5, endsAt: null }] }, webhooks: ['w1', 'w2'] }], 7);
    expect(st.alerts.unsent()).toEqual([]);
    expect(st.alerts.listDeliveries(10).map((d) => [d.webhook, d.status])).toEqual([['w2', 'pending'], ['w1', 'pending']]);
    expect(st.alerts.ack(a!.id, 'olga', 8)).toBe(true);
    st.alerts.apply([], [{ id: a!.id, endsAt: 9 }]);
    expect(st.alerts.ack(a!.id, 'vic', 10)).toBe(false);
    expect(st.alerts.get(a!.id)).toMatchObject({ status: 'resolved', endsAt: 9, ackedBy: 'olga', ackedAt: 8 });
    expect(st.alerts.unsent()).toEqual([expect.objectContaining({ status: 'resolved', endsAt: 9 })]);
    expect(st.alerts.list(9).map((x) => x.id)).toEqual([a!.id]);
    expect(st.alerts.list(10)).toEqual([]);
    st.close();
  });
});
