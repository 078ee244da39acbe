// docs/grafana/sosna-fleet.json: every query parses as PromQL (promtool check rules) and names only metrics
// the hub or the agent exposes, so the dashboard does not rot silently when a name changes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAgentMetrics } from '../agent/src/metrics.js';
import { createHubMetrics } from '../hub/src/metrics/hub-metrics.js';
import { HubEventBus } from '../hub/src/events.js';
import { openSqliteStore } from '../hub/src/store/sqlite.js';

const dashboard = JSON.parse(readFileSync(new URL('../docs/grafana/sosna-fleet.json', import.meta.url), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr.replaceAll('$hub_job', 'sosna-hub').replaceAll('$agent_job', 'sosna-agents') })));

describe('the Grafana dashboard', () => {
  it('every query is valid PromQL (promtool check rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sosna-grafana-'));
    try {
      const rules = `groups:\n  - name: dashboard\n    rules:\n${exprs.map((e, i) => `      - record: sosna:dashboard_query_${i}\n        expr: ${JSON.stringify(e.expr)}\n`).join('')}`;
      writeFileSync(join(dir, 'rules.yml'), rules);
      const r = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
      if (r.error) throw new Error(`promtool: ${r.error.message}: install it with bash scripts/test-deps/prometheus.sh`);
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(exprs.length).toBeGreaterThan(20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names only metrics that the hub or the agent exposes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sosna-grafana-'));
    const store = openSqliteStore(join(dir, 'hub.db'));
    const hub = createHubMetrics({ version: 't', store, events: new HubEventBus(), payouts: true, broker: { stats: () => ({ connections: { device: 0, operator: 0, provision: 0 }, pending: 0, received: 0, receivedBytes: 0, published: 0, refusedPublishes: {}, refusedConnections: {} }) } });
    const agent = createAgentMetrics({ version: 't', sample: () => null, connected: () => true, connects: () => 0, runs: () => [], maxJobs: 0 });
    try {
      const exposed = new Set(
        [...(await hub.registry.getMetricsAsJSON()), ...(await agent.registry.getMetricsAsJSON())].flatMap((m) => (String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_count`, `${m.name}_sum`] : [m.name])),
      );
      const used = new Set(exprs.flatMap((e) => e.expr.match(/\bsosna_[a-z0-9_]+/g) ?? []));
      expect([...used].filter((n) => !exposed.has(n))).toEqual([]);
    } finally {
      hub.stop();
      agent.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
