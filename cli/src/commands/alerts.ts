// `sosna console alerts ls|ack|test`: what is firing (and what resolved lately), acknowledging an alert,
// and a test message through each webhook the hub's config names (results per webhook).
import type { Command } from 'commander';
import { alertsService } from '@sosna/protocol';
import type { AlertSummary, WebhookTestResult } from '@sosna/protocol';
import { ago, table } from '../table.js';
import { connOptions } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';

const json = (value: unknown) => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/** One row per alert: firing first (the store lists newest first). Pure. */
export function alertRows(alerts: AlertSummary[], now = Date.now()): string[][] {
  const order = [...alerts].sort((a, b) => (a.status === b.status ? b.id - a.id : a.status === 'firing' ? -1 : 1));
  return order.map((a) => [
    String(a.id), a.status, a.rule, a.subject, a.value ?? '-', ago(a.startsAt, now),
    a.endsAt === null ? '-' : ago(a.endsAt, now),
    a.ackedBy ? `${a.ackedBy} ${ago(a.ackedAt, now)}` : '-',
  ]);
}

/** One line per webhook. Pure. */
export function testLines(results: WebhookTestResult[]): string {
  if (!results.length) return 'no webhooks configured (alerts.webhooks in the hub config)\n';
  return results.map((r) => `${r.webhook} (${r.kind}): ${r.ok ? `ok, HTTP ${r.status}` : `FAILED: ${r.error}`}`).join('\n') + '\n';
}

/** `--resolved 1h`: seconds of resolved alerts to show. */
export function parseSince(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`--resolved ${JSON.stringify(text)}: a duration such as 30m, 12h or 7d`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's']!;
}

export function registerAlerts(consoleCmd: Command, session: ConsoleSession): void {
  const alerts = consoleCmd.command('alerts').description('alerts from the rules in the hub config: firing, acknowledge, test the webhooks');
  connOptions(alerts.command('ls').description('firing alerts and those resolved lately'))
    .option('--resolved <duration>', 'how far back resolved alerts are shown', '24h')
    .option('--json', 'machine-readable output')
    .action(async (o: ConnFlags & { resolved: string; json?: boolean }) => {
      const resolvedSec = parseSince(o.resolved);
      const r = await session.withConsole(o, (c) => c.call(alertsService, 'ls', { resolvedSec }));
      if (o.json) return json(r.alerts);
      if (!r.alerts.length) {
        const why = r.rules ? `${r.rules} rule(s), ${r.webhooks} webhook(s) configured` : 'no rules configured (alerts.rules in the hub config)';
        return void process.stdout.write(`no alerts firing or resolved in the last ${o.resolved}; ${why}\n`);
      }
      process.stdout.write(`${table(['ID', 'STATUS', 'RULE', 'SUBJECT', 'VALUE', 'STARTED', 'ENDED', 'ACKED'], alertRows(r.alerts))}\n`);
    });
  connOptions(alerts.command('ack <id>').description('acknowledge a firing alert (recorded with your name and the time)'))
    .option('--json', 'machine-readable output')
    .action(async (idText: string, o: ConnFlags & { json?: boolean }) => {
      const id = Number(idText);
      if (!Number.isInteger(id) || id < 1) throw new Error(`alert id ${JSON.stringify(idText)}: a positive whole number, as alerts ls shows it`);
      const { alert } = await session.withConsole(o, (c) => c.call(alertsService, 'ack', { id }));
      if (o.json) return json(alert);
      process.stdout.write(`acknowledged alert ${alert.id} (${alert.rule} on ${alert.subject}) as ${alert.ackedBy}\n`);
    });
  connOptions(alerts.command('test').description('send a test message through each configured webhook and print how each went'))
    .option('--json', 'machine-readable output')
    .action(async (o: ConnFlags & { json?: boolean }) => {
      const { results } = await session.withConsole(o, (c) => c.call(alertsService, 'test', {}), { timeoutMs: 120_000 });
      if (o.json) return json(results);
      process.stdout.write(testLines(results));
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });
}
