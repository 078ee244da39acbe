// The `alerts` section of the hub's config: rules over what devices report (and the hub's own job and
// wallet figures), and the webhooks that carry their firing/resolved messages. Validated at start:
// a bad rule or webhook is refused with its field and the reason (never the URL itself: it holds secrets).
import { z } from 'zod';

/** What a rule can watch; see README "Alerts" for where each value comes from. */
export const ALERT_METRICS = ['device.offline', 'cpu.tempC', 'gpu.tempC', 'gpu.lost', 'hashrate', 'jobs.failureRate', 'wallet.shortfall'] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];

/** Metrics of the hub itself (subject `hub`), not of a device. */
export const HUB_METRICS: ReadonlySet<AlertMetric> = new Set(['jobs.failureRate', 'wallet.shortfall']);

/** Which threshold a metric takes: fires above it, below it, or takes none (the condition is built in). */
export const METRIC_THRESHOLD: Readonly<Record<AlertMetric, 'above' | 'below' | null>> = {
  'device.offline': null,
  'cpu.tempC': 'above',
  'gpu.tempC': 'above',
  'gpu.lost': null,
  hashrate: 'below',
  'jobs.failureRate': 'above',
  'wallet.shortfall': null,
};

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `5m`, `1h`, `1d` (or a decimal: `1.5s`) -> milliseconds; null when it is not one. Pure. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return null;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

const DURATION_FORM = 'must be a duration such as 500ms, 30s, 5m, 1h or 1d';
const Duration = z
  .string()
  .refine((s) => parseDuration(s) !== null, { message: DURATION_FORM })
  .transform((s) => parseDuration(s)!);

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be a name of letters, digits, "_", "." and "-" (up to 64)');

/** An http(s) URL; the message never repeats the value (a webhook URL is a secret). Pure. */
export function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  } catch {
    return false;
  }
}

export const WebhookConfig = z
  .object({
    name: Name,
    /** json: {status, rule, devices, startsAt, endsAt, ...}; slack: {text}; telegram: POST {url}/sendMessage {chat_id, text}. */
    kind: z.enum(['json', 'slack', 'telegram'], { error: 'must be json, slack or telegram' }).default('json'),
    url: z.string().refine(isHttpUrl, { message: 'must be an http:// or https:// URL (the value is not shown: webhook URLs hold secrets)' }),
    /** Telegram's chat id (a number or @channelname). */
    chatId: z.union([z.string().min(1).max(128), z.number().int()]).optional(),
    /** Tries per message before it is given up (recorded as failed). */
    maxAttempts: z.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100').default(8),
    /** Wait before the first retry; doubles on each further one, up to maxBackoff. */
    backoff: Duration.prefault('1s'),
    maxBackoff: Duration.prefault('5m'),
    timeout: Duration.prefault('10s'),
  })
  .strict()
  .refine((w) => w.kind !== 'telegram' || w.chatId !== undefined, { message: 'a telegram webhook needs chatId (the chat the bot writes to)', path: ['chatId'] });
export type WebhookConfig = z.infer<typeof WebhookConfig>;

export const AlertRule = z
  .object({
    name: Name,
    metric: z.string().refine((m): m is AlertMetric => (ALERT_METRICS as readonly string[]).includes(m), {
      error: (iss) => `unknown metric ${JSON.stringify(iss.input)}: use one of ${ALERT_METRICS.join(', ')}`,
    }),
    /** Fires when the value is above this (temperatures in °C, a failure rate 0..1). */
    above: z.number().optional(),
    /** Fires when the value is below this (hashrate in H/s). */
    below: z.number().optional(),
    /** How long the condition holds before the alert fires (`for` in Prometheus' sense). */
    for: Duration.prefault('0s'),
    /** Only devices of this fleet / with this tag (device metrics). */
    fleet: z.string().min(1).optional(),
    tag: z.string().min(1).optional(),
    /** Webhooks (by name) this rule notifies; default all. */
    webhooks: z.array(Name).optional(),
    /** jobs.failureRate: jobs finished within this window count, and at least minJobs of them. */
    window: Duration.prefault('1h'),
    minJobs: z.number().int().min(1).default(5),
  })
  .strict()
  .superRefine((r, ctx) => {
    const metric = r.metric as AlertMetric;
    if (!(ALERT_METRICS as readonly string[]).includes(metric)) return;
    const wants = METRIC_THRESHOLD[metric];
    for (const side of ['above', 'below'] as const) {
      if (r[side] !== undefined && wants !== side) {
        ctx.addIssue({ code: 'custom', path: [side], message: wants ? `${metric} takes "${wants}", not "${side}"` : `${metric} takes no threshold (its condition is built in)` });
      }
    }
    if (wants && r[wants] === undefined) ctx.addIssue({ code: 'custom', path: [wants], message: `${metric} needs "${wants}" (the threshold)` });
    if (HUB_METRICS.has(metric) && (r.fleet !== undefined || r.tag !== undefined)) {
      ctx.addIssue({ code: 'custom', path: [r.fleet !== undefined ? 'fleet' : 'tag'], message: `${metric} is the hub's own figure: it takes no fleet or tag` });
    }
  })
  .transform((r) => ({ ...r, metric: r.metric as AlertMetric }));
export type AlertRule = z.infer<typeof AlertRule>;

export const AlertsConfig = z
  .object({
    rules: z.array(AlertRule).max(1000).default([]),
    webhooks: z.array(WebhookConfig).max(100).default([]),
    /** How often rules are evaluated. */
    evalInterval: Duration.prefault('5s'),
    /** Transitions of one rule within this window go out as one message listing the devices. */
    groupWindow: Duration.prefault('30s'),
  })
  .strict()
  .superRefine((a, ctx) => {
    const names = new Set<string>();
    a.webhooks.forEach((w, i) => {
      if (names.has(w.name)) ctx.addIssue({ code: 'custom', path: ['webhooks', i, 'name'], message: `webhook ${w.name} is named twice` });
      names.add(w.name);
    });
    const rules = new Set<string>();
    a.rules.forEach((r, i) => {
      if (rules.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `rule ${r.name} is named twice` });
      rules.add(r.name);
      r.webhooks?.forEach((w, j) => {
        if (!names.has(w)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'webhooks', j], message: `no webhook named ${w} (configured: ${[...names].join(', ') || 'none'})` });
      });
    });
  });
export type AlertsConfig = z.infer<typeof AlertsConfig>;
