// The outbox sender against a real local HTTP server and the real SQLite store: retries until the
// webhook's maxAttempts, then the delivery is recorded as failed; no log line carries the URL's secret path.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@sosna/protocol';
import { openSqliteStore } from '../store/sqlite.js';
import type { HubStore } from '../store/types.js';
import { WebhookConfig } from './config.js';
import { sendOnce, startDeliverer } from './deliver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(answer: (path: string) => number): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      paths.push(req.url ?? '');
      res.writeHead(answer(req.url ?? '')).end();
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, paths };
}

function store(): HubStore {
  const dir = mkdtempSync(join(tmpdir(), 'sosna-alerts-deliver-'));
  const st = openSqliteStore(join(dir, 'hub.db'));
  cleanups.push(() => {
    st.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return st;
}

describe('alert delivery', () => {
  it('gives a message up after maxAttempts, records why, and never logs the secret part of the URL', async () => {
    const { url, paths } = await server(() => 503);
    const st = store();
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    const w = WebhookConfig.parse({ name: 'slack', kind: 'slack', url: `${url}/services/T0/B0/VERYSECRET`, backoff: '20ms', maxAttempts: 3 });
    st.alerts.apply([{ rule: 'off', metric: 'device.offline', subject: 'd1', value: null, startsAt: 1 }], []);
    const [alert] = st.alerts.firing();
    st.alerts.recordNotifications([{ notification: { status: 'firing', rule: 'off', metric: 'device.offline', alerts: [{ id: alert!.id, subject: 'd1', name: 'rig', value: null, startsAt: 1, endsAt: null }] }, webhooks: ['slack'] }], Date.now());
    expect(st.alerts.unsent()).toEqual([]); // in the outbox now, not sent again by the planner
    const d = startDeliverer({ store: st.alerts, webhooks: [w], hubId: 'hub-1', log, fetch });
    cleanups.push(() => d.stop());
    d.kick();
    for (let i = 0; i < 400 && st.alerts.listDeliveries(10)[0]!.status === 'pending'; i++) await new Promise((r) => setTimeout(r, 25));
    expect(st.alerts.listDeliveries(10)[0]).toMatchObject({ status: 'failed', attempts: 3, lastError: 'HTTP 503' });
    expect(paths).toEqual(Array(3).fill('/services/T0/B0/VERYSECRET'));
    expect(lines.some((l) => l.includes('given up'))).toBe(true);
    expect(lines.join('\n')).not.toContain('VERYSECRET');
    expect(lines.join('\n')).toContain(`${url}/…`);
  });

  it('a receiver that is not there: the error names the cause, not the URL path', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const closed = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    await new Promise<void>((r) => s.close(() => r())); // nothing listens there now
    const r = await sendOnce(WebhookConfig.parse({ name: 'tg', kind: 'telegram', url: `${closed}/bot42:SECRET`, chatId: 1 }), { status: 'test', rule: 'test', metric: 'test', alerts: [] }, 'hub-1', fetch);
    expect(r).toMatchObject({ ok: false, status: null });
    expect(r.error).toMatch(/ECONNREFUSED/);
    expect(r.error).not.toContain('SECRET');
  });
});
