// Sends the alert outbox: each pending delivery POSTed to its webhook with fetch; a failure (no answer,
// a time-out, a status other than 2xx) is retried with doubling backoff up to the webhook's maxAttempts,
// then recorded as failed. Logs name the webhook and its origin, never the URL's path (the secret).
import type { Logger } from '@sosna/protocol';
import type { WebhookConfig } from './config.js';
import { redactUrl, renderRequest, scrub } from './format.js';
import type { Outgoing } from './format.js';
import { retryDelay } from './planner.js';
import type { AlertStore } from './store.js';

export type Fetch = typeof fetch;

export interface SendResult {
  ok: boolean;
  status: number | null;
  error: string | null;
}

/** One POST of a message to a webhook (one attempt). Never throws; errors carry no URL path. */
export async function sendOnce(w: WebhookConfig, n: Outgoing, hubId: string, fetchFn: Fetch): Promise<SendResult> {
  const req = renderRequest(w, n, hubId);
  try {
    const res = await fetchFn(req.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(req.body),
      signal: AbortSignal.timeout(w.timeout),
    });
    await res.arrayBuffer().catch(() => undefined); // read the answer so the connection is reused
    return res.ok ? { ok: true, status: res.status, error: null } : { ok: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${w.timeout} ms` : [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ');
    return { ok: false, status: null, error: scrub(why, w.url) };
  }
}

export interface Deliverer {
  /** Sends what is due now; schedules itself for the next retry. */
  kick(): void;
  /** Resolves when nothing is being sent. */
  idle(): Promise<void>;
  stop(): void;
}

export function startDeliverer(deps: { store: AlertStore; webhooks: readonly WebhookConfig[]; hubId: string; log: Logger; fetch: Fetch; now?: () => number }): Deliverer {
  const { store, log } = deps;
  const now = deps.now ?? Date.now;
  const byName = new Map(deps.webhooks.map((w) => [w.name, w]));
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;

  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (stopped) return;
    const at = store.nextDeliveryAt();
    if (at === null) return;
    timer = setTimeout(kick, Math.max(0, at - now()));
    timer.unref();
  };

  const one = async (d: ReturnType<AlertStore['dueDeliveries']>[number]) => {
    const w = byName.get(d.webhook);
    if (!w) {
      store.deliveryFailed(d.id, d.attempts, `webhook ${d.webhook} is no longer configured`);
      return log.warn('alert message dropped: its webhook is no longer configured', { webhook: d.webhook, delivery: d.id });
    }
    const attempts = d.attempts + 1;
    const r = await sendOnce(w, d.notification, deps.hubId, deps.fetch);
    const ctx = { webhook: w.name, target: redactUrl(w.url), rule: d.notification.rule, status: d.notification.status, attempt: attempts };
    if (r.ok) {
      store.deliverySent(d.id, attempts, now());
      log.info('alert message delivered', ctx);
    } else if (attempts >= w.maxAttempts) {
      store.deliveryFailed(d.id, attempts, r.error ?? 'failed');
      log.error('alert message given up', { ...ctx, error: r.error });
    } else {
      const wait = retryDelay(attempts, w.backoff, w.maxBackoff);
      store.deliveryRetry(d.id, attempts, now() + wait, r.error ?? 'failed');
      log.warn('alert message not delivered; will retry', { ...ctx, error: r.error, retryInMs: wait });
    }
  };

  const run = async () => {
    do {
      again = false;
      const due = store.dueDeliveries(now(), 100);
      await Promise.all(due.map((d) => one(d).catch((err: unknown) => log.error('alert delivery failed', { delivery: d.id, error: String(err) }))));
      if (due.length === 100) again = true;
    } while (again && !stopped);
    schedule();
  };

  function kick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = run().finally(() => {
      running = null;
    });
  }

  return {
    kick,
    idle: async () => {
      while (running) await running;
    },
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
