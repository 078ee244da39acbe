// The hub's alerts on the console (console/{operator}/rpc/in): what is firing (and what resolved lately),
// acknowledging one, and a test message through each configured webhook. Rules and webhooks live in the
// hub's config (hub/src/alerts/config.ts); webhook URLs never cross this service (they hold secrets).
import { z } from 'zod';
import { defineService } from './rpc/service.js';

export const AlertStatus = z.enum(['firing', 'resolved']);
export type AlertStatus = z.infer<typeof AlertStatus>;

export const AlertSummary = z.object({
  id: z.number().int().positive(),
  rule: z.string(),
  metric: z.string(),
  /** A device id, or `hub` for the hub's own metrics (job failure rate, wallet). */
  subject: z.string(),
  status: AlertStatus,
  /** The value that made it fire (a number as text, e.g. a temperature; wei for the wallet). */
  value: z.string().nullable(),
  startsAt: z.number(),
  endsAt: z.number().nullable(),
  ackedBy: z.string().nullable(),
  ackedAt: z.number().nullable(),
});
export type AlertSummary = z.infer<typeof AlertSummary>;

export const WebhookTestResult = z.object({
  webhook: z.string(),
  kind: z.string(),
  ok: z.boolean(),
  /** HTTP status, when the receiver answered. */
  status: z.number().int().nullable(),
  error: z.string().nullable(),
});
export type WebhookTestResult = z.infer<typeof WebhookTestResult>;

export const alertsService = defineService('alerts', {
  /** Firing alerts, and those resolved in the last `resolvedSec` seconds (default a day). */
  ls: {
    params: z.object({ resolvedSec: z.number().int().min(0).max(365 * 86_400).optional() }),
    result: z.object({ alerts: z.array(AlertSummary), rules: z.number().int(), webhooks: z.number().int() }),
  },
  /** Marks a firing alert acknowledged by the calling operator (kept with the time). */
  ack: {
    params: z.object({ id: z.number().int().positive() }),
    result: z.object({ alert: AlertSummary }),
  },
  /** Sends one test message through each configured webhook (one attempt each) and says how each went. */
  test: {
    params: z.object({}),
    result: z.object({ results: z.array(WebhookTestResult) }),
  },
});
