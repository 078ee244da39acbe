// The executor with the hub's own figures: the job failure rate from the real store's jobs table and the
// wallet (a function the hub gives it, here returning fixed funds), delivered to a real local HTTP server.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@sosna/protocol';
import { openSqliteStore } from '../store/sqlite.js';
import type { JobRow } from '../jobs/store.js';
import { AlertsConfig } from './config.js';
import { startAlerts } from './service.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('alerts on the hub itself', () => {
  it('job failure rate and wallet shortfall fire, reach the webhook, and resolve', async () => {
    const bodies: Record<string, unknown>[] = [];
    const srv = createServer((req, res) => {
      let data = '';
      req.on('data', (d: Buffer) => (data += d));
      req.on('end', () => {
        bodies.push(JSON.parse(data) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => srv.close(r)));
    const dir = mkdtempSync(join(tmpdir(), 'sosna-alerts-svc-'));
    const store = openSqliteStore(join(dir, 'hub.db'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanups.push(() => store.close());
    const config = AlertsConfig.parse({
      evalInterval: '1h', groupWindow: '0s',
      webhooks: [{ name: 'ops', url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook` }],
      rules: [{ name: 'jobs', metric: 'jobs.failureRate', above: 0.5, minJobs: 2 }, { name: 'money', metric: 'wallet.shortfall' }],
    });
    let funds = { owed: 5n * 10n ** 18n, available: 10n ** 18n };
    const alerts = startAlerts({ config, hubId: 'hub-1', store, isOnline: () => false, wallet: async () => funds, log: createLogger({ level: 'error', write: () => {} }) });
    cleanups.push(() => alerts.stop());
    const now = Date.now();
    const job = (id: string, state: JobRow['state']): JobRow => ({
      id, spec: { image: 'x' } as unknown as JobRow['spec'], state, reason: null, replicas: 1, retries: 0, digest: null, exitCode: null,
      submittedBy: 'op', key: null, createdAt: now, updatedAt: now, finishedAt: now,
    });
    store.jobs.insertJob(job('j1', 'failed'));
    store.jobs.insertJob(job('j2', 'failed'));
    store.jobs.insertJob(job('j3', 'succeeded'));
    await alerts.tick();
    await alerts.idle();
    expect(bodies.map((b) => [b.status, b.rule, (b.devices as { id: string; value: string }[])[0]])).toEqual([
      ['firing', 'jobs', { id: 'hub', value: '0.67 (2/3 jobs)', name: 'hub', startsAt: expect.any(String), endsAt: null, alertId: expect.any(Number) }],
      ['firing', 'money', { id: 'hub', value: (4n * 10n ** 18n).toString(), name: 'hub', startsAt: expect.any(String), endsAt: null, alertId: expect.any(Number) }],
    ]);
    const ls = await alerts.handlers.ls({}, { meta: { operator: 'vic', role: 'viewer' } } as never);
    expect(ls.alerts.map((a) => [a.rule, a.status])).toEqual([['money', 'firing'], ['jobs', 'firing']]);

    // more jobs succeed: the rate falls under the threshold; the wallet is read again only after a minute
    for (const id of ['j4', 'j5', 'j6']) store.jobs.insertJob(job(id, 'succeeded'));
    funds = { owed: 0n, available: 10n ** 18n };
    await alerts.tick();
    await alerts.idle();
    expect(bodies.slice(2).map((b) => [b.status, b.rule])).toEqual([['resolved', 'jobs']]);
  });
});
