// The alerts' thin executor: every evalInterval it reads a snapshot (the registry's devices and their
// telemetry from the store, finished jobs, the wallet), lets the planner decide, writes the transitions and
// the grouped messages to the store, and kicks the outbox sender. Also the console's alerts service.
import { alertsService, SosnaError } from '@sosna/protocol';
import type { AlertSummary, Handlers, Logger, RpcEndpoint } from '@sosna/protocol';
import type { OperatorMeta } from '../auth/roles.js';
import type { AlertsConfig } from './config.js';
import { HUB_METRICS } from './config.js';
import { startDeliverer, sendOnce } from './deliver.js';
import type { Deliverer, Fetch } from './deliver.js';
import { observe, planNotifications, planTransitions } from './planner.js';
import type { DeviceSnapshot, HubSnapshot, Observation } from './planner.js';
import type { AlertRow, AlertStore } from './store.js';

export interface AlertsDeps {
  config: AlertsConfig;
  hubId: string;
  store: { readonly alerts: AlertStore };
  /** Whether a device is connected now (the registry's view). */
  isOnline(deviceId: string): boolean;
  /** The hub wallet's funds and what is owed (wei); absent without a chain. */
  wallet?: () => Promise<{ owed: bigint; available: bigint }>;
  log: Logger;
  fetch?: Fetch;
  now?: () => number;
}

export interface Alerts {
  /** One evaluation (the timer calls it; tests may too). */
  tick(): Promise<void>;
  readonly handlers: Handlers<typeof alertsService, OperatorMeta>;
  consoleServices(endpoint: RpcEndpoint<OperatorMeta>): void;
  /** Resolves when the outbox sender is idle. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export const summarizeAlert = (a: AlertRow): AlertSummary => ({
  id: a.id, rule: a.rule, metric: a.metric, subject: a.subject, status: a.status, value: a.value,
  startsAt: a.startsAt, endsAt: a.endsAt, ackedBy: a.ackedBy, ackedAt: a.ackedAt,
});

export function startAlerts(deps: AlertsDeps): Alerts {
  const { config, store, log } = deps;
  const now = deps.now ?? Date.now;
  const fetchFn = deps.fetch ?? fetch;
  const startedAt = now();
  const webhookNames = config.webhooks.map((w) => w.name);
  const deliverer: Deliverer = startDeliverer({ store: store.alerts, webhooks: config.webhooks, hubId: deps.hubId, log, fetch: fetchFn, now });
  const deviceRules = config.rules.some((r) => !HUB_METRICS.has(r.metric));
  const jobsWindow = Math.max(0, ...config.rules.filter((r) => r.metric === 'jobs.failureRate').map((r) => r.window));
  const walletRule = config.rules.some((r) => r.metric === 'wallet.shortfall');
  let pending = new Map<string, number>();
  let busy: Promise<void> | null = null;
  let stopped = false;

  const devices = (): DeviceSnapshot[] => store.alerts.deviceSnapshot().map((d) => ({ ...d, online: deps.isOnline(d.id) }));
  /** The wallet is read from the chain at most this often (two RPC calls), not on every evaluation. */
  const walletEveryMs = Math.max(config.evalInterval, 60_000);
  let walletRead: { at: number; value: HubSnapshot['wallet'] } | null = null;

  const hubSnapshot = async (at: number): Promise<HubSnapshot> => {
    const finishedJobs = jobsWindow > 0 ? store.alerts.finishedJobsSince(at - jobsWindow) : [];
    if (walletRule && deps.wallet && (!walletRead || at - walletRead.at >= walletEveryMs)) {
      let value: HubSnapshot['wallet'] = null;
      try {
        value = await deps.wallet();
      } catch (err) {
        log.warn('could not read the hub wallet for alerts', { error: (err as Error).message });
      }
      walletRead = { at, value };
    }
    return { finishedJobs, wallet: walletRead?.value ?? null };
  };

  const evaluate = async () => {
    const hub = await hubSnapshot(now());
    const at = now();
    const devs = deviceRules ? devices() : [];
    const snap = { now: at, hubStartedAt: startedAt, devices: devs, hub };
    const observations = new Map<string, Map<string, Observation>>(config.rules.map((r) => [r.name, observe(r, snap)]));
    const t = planTransitions({ rules: config.rules, now: at, observations, pending, firing: store.alerts.firing() });
    pending = t.pending;
    if (t.fire.length || t.resolve.length) {
      store.alerts.apply(t.fire, t.resolve);
      for (const f of t.fire) log.info('alert firing', { rule: f.rule, subject: f.subject, value: f.value });
      for (const r of t.resolve) log.info('alert resolved', { id: r.id });
    }
    const unsent = store.alerts.unsent();
    if (!unsent.length) return;
    const names = new Map((devs.length ? devs : store.alerts.deviceSnapshot()).map((d) => [d.id, d.name]));
    const planned = planNotifications({ unsent, now: at, groupWindowMs: config.groupWindow, rules: config.rules, webhooks: webhookNames, names });
    if (!planned.length) return;
    store.alerts.recordNotifications(planned, at); // the outbox first, then the sending
    deliverer.kick();
  };

  const tick = async () => {
    if (stopped) return;
    if (busy) return busy;
    busy = evaluate()
      .catch((err: unknown) => log.error('alert evaluation failed', { error: String(err) }))
      .finally(() => {
        busy = null;
      });
    return busy;
  };

  const active = config.rules.length > 0;
  const timer = active ? setInterval(() => void tick(), config.evalInterval) : null;
  timer?.unref();
  deliverer.kick(); // what a previous run left in the outbox

  const handlers: Handlers<typeof alertsService, OperatorMeta> = {
    ls: ({ resolvedSec }) => ({
      alerts: store.alerts.list(now() - (resolvedSec ?? 86_400) * 1000).map(summarizeAlert),
      rules: config.rules.length,
      webhooks: config.webhooks.length,
    }),
    ack: ({ id }, ctx) => {
      const a = store.alerts.get(id);
      if (!a) throw new SosnaError('E_NOT_FOUND', `no alert ${id} (sosna console alerts ls lists them)`);
      if (a.status !== 'firing') throw new SosnaError('E_CONFLICT', `alert ${id} is resolved already; only a firing alert is acknowledged`);
      store.alerts.ack(id, ctx.meta.operator, now());
      log.info('alert acknowledged', { id, rule: a.rule, subject: a.subject, by: ctx.meta.operator });
      return { alert: summarizeAlert(store.alerts.get(id)!) };
    },
    test: async () => {
      const results = await Promise.all(
        config.webhooks.map(async (w) => {
          const r = await sendOnce(w, { status: 'test', rule: 'test', metric: 'test', alerts: [] }, deps.hubId, fetchFn);
          return { webhook: w.name, kind: w.kind, ...r };
        }),
      );
      return { results };
    },
  };

  return {
    tick,
    handlers,
    consoleServices: (endpoint) => void endpoint.add(alertsService, handlers),
    idle: () => deliverer.idle(),
    stop: async () => {
      stopped = true;
      if (timer) clearInterval(timer);
      await busy;
      deliverer.stop();
      await deliverer.idle();
    },
  };
}
