// The hub's figures for Prometheus (`/metrics`, served by ./server.ts). Gauges are computed when scraped,
// from the registry's online set, the store and the broker's counts; only what must be seen as it happens
// (RPC round trips, scheduling latency) is recorded per event. Labels take bounded values only: no device
// id, job id or operator name (per-device figures are on the agent's own /metrics and in the database).
import { agentSystemService, deviceJobsService, deviceUpdateService, JOB_STATES, locatorService } from '@sosna/protocol';
import type { JobState } from '@sosna/protocol';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BrokerStats } from '../broker/embedded.js';
import type { HubEventBus } from '../events.js';
import type { JobRow } from '../jobs/store.js';
import type { PayoutStatus } from '../payouts/types.js';
import { matchesHardware } from '../fleet/device-filter.js';
import type { DeviceStore } from '../fleet/store.js';
import type { JobStore } from '../jobs/store.js';
import type { PayoutStore } from '../payouts/types.js';

/** The classes of `sosna console devices --class` (every device has a cpu). */
export const DEVICE_CLASSES = ['cpu', 'gpu', 'asic', 'board'] as const;
export type DeviceClass = (typeof DEVICE_CLASSES)[number];
const PAYOUT_STATUSES: PayoutStatus[] = ['planned', 'signed', 'paid', 'failed', 'unknown'];

/** The methods the hub calls on devices; anything else (a forwarded `devices.call`) is labelled `other`. */
const KNOWN_DEVICE_METHODS = new Set(
  [agentSystemService, deviceJobsService, deviceUpdateService, locatorService].flatMap((s) => Object.keys(s.methods).map((m) => `${s.name}.${m}`)),
);

/** Pure: the classes of a stored inventory, as the console's `--class` filter sees them. */
export function deviceClasses(inventory: Record<string, unknown> | null): DeviceClass[] {
  return DEVICE_CLASSES.filter((c) => matchesHardware(inventory, { class: c }));
}

/** Pure: the labels of a device RPC, bounded (an operator may forward any name through `devices.call`). */
export function rpcLabels(service: string, method: string): { service: string; method: string } {
  return KNOWN_DEVICE_METHODS.has(`${service}.${method}`) ? { service, method } : { service: 'other', method: 'other' };
}

export interface HubMetricsDeps {
  version: string;
  store: Pick<DeviceStore, 'getDevice' | 'countDevices'> & { readonly jobs: Pick<JobStore, 'countByState' | 'liveJobs'>; readonly payouts: Pick<PayoutStore, 'stats'> };
  events: HubEventBus;
  broker: { stats(): BrokerStats };
  /** Whether payouts run at all (chain mode not off): without them the payout figures are left out. */
  payouts: boolean;
}

export interface HubMetrics {
  readonly registry: Registry;
  /** A hub -> device call ended (device-links' `observe`). */
  observeRpc(service: string, method: string, outcome: string, seconds: number): void;
  /** Follows the scheduler's job feed: the time from queued to the first run assigned. */
  observeJob(job: JobRow): void;
  /** The Prometheus text exposition. */
  scrape(): Promise<string>;
  stop(): void;
}

export function createHubMetrics(deps: HubMetricsDeps): HubMetrics {
  const { store, events } = deps;
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'sosna_hub_' });
  // Node's active handles, requests and resources walk every socket at each scrape (with 5,000 devices a
  // few ms each, npm run bench metrics) and say less than sosna_hub_connections; their *_total forms also
  // break Prometheus' naming rule (only counters end in _total). process_open_fds stays: it reads
  // /proc/self/fd (O(connections) as well), but it is what runs into the file descriptor limit.
  for (const n of ['active_handles', 'active_requests', 'active_resources']) for (const m of [n, `${n}_total`]) registry.removeSingleMetric(`sosna_hub_nodejs_${m}`);

  new Gauge({ name: 'sosna_build_info', help: 'sosna build: 1, with the version in labels', labelNames: ['component', 'version', 'node_version'], registers })
    .set({ component: 'hub', version: deps.version, node_version: process.versions.node }, 1);

  // Devices online, by class: the online set follows the registry's events; a device's classes are read
  // from its stored inventory at the first scrape after each birth (a birth may bring new hardware).
  const online = new Map<string, DeviceClass[] | null>();
  const onOnline = (id: string) => online.set(id, null);
  const onOffline = (id: string) => online.delete(id);
  events.on('online', onOnline);
  events.on('offline', onOffline);
  new Gauge({
    name: 'sosna_hub_devices_online', help: 'Devices online with a component of this class (as `sosna console devices --online --class`; every device has a cpu)', labelNames: ['class'], registers,
    collect() {
      const counts: Record<DeviceClass, number> = { cpu: 0, gpu: 0, asic: 0, board: 0 };
      for (const [id, known] of online) {
        let classes = known;
        if (!classes) online.set(id, (classes = deviceClasses(store.getDevice(id)?.inventory ?? null)));
        for (const c of classes) counts[c]++;
      }
      for (const c of DEVICE_CLASSES) this.set({ class: c }, counts[c]);
    },
  });
  new Gauge({
    name: 'sosna_hub_devices', help: 'Devices registered with this hub, online or offline', labelNames: ['state'], registers,
    collect() {
      const { total, online: on } = store.countDevices();
      this.set({ state: 'online' }, on);
      this.set({ state: 'offline' }, total - on);
    },
  });

  // Connections and the broker
  const broker = oncePerScrape(() => deps.broker.stats());
  new Gauge({
    name: 'sosna_hub_connections', help: 'MQTT connections logged in, by the kind of login', labelNames: ['kind'], registers,
    collect() {
      for (const [kind, n] of Object.entries(broker().connections)) this.set({ kind }, n);
    },
  });
  new Gauge({ name: 'sosna_hub_connections_pending', help: 'MQTT connections not yet logged in', registers, collect() { this.set(broker().pending); } });
  /** A counter read from its source (the broker's or the store's count): set by reset + inc when scraped. */
  const setCounter = (c: Counter<string>, values: [Record<string, string> | null, number][]) => {
    c.reset();
    for (const [labels, n] of values) labels ? c.inc(labels, n) : c.inc(n);
  };
  new Counter({
    name: 'sosna_hub_connections_refused_total', help: 'Connections refused: failed logins (not_authorized, throttled, error) and the limits on connections not yet logged in (address-full, all-full, timeout, too-large-*, not-connect, malformed)', labelNames: ['reason'], registers,
    collect() {
      setCounter(this, Object.entries(broker().refusedConnections).map(([reason, n]) => [{ reason }, n]));
    },
  });
  new Counter({ name: 'sosna_hub_broker_received_messages_total', help: 'PUBLISH packets from clients that the ACL and the size cap let through', registers, collect() { setCounter(this, [[null, broker().received]]); } });
  new Counter({ name: 'sosna_hub_broker_received_bytes_total', help: 'Payload bytes of the PUBLISH packets let through', registers, collect() { setCounter(this, [[null, broker().receivedBytes]]); } });
  new Counter({ name: 'sosna_hub_broker_published_messages_total', help: 'Messages the hub published itself (RPC frames, desired config, announcements)', registers, collect() { setCounter(this, [[null, broker().published]]); } });
  new Counter({
    name: 'sosna_hub_broker_refused_publishes_total', help: 'PUBLISH packets refused: acl (topic not allowed for the login) or too_large', labelNames: ['reason'], registers,
    collect() {
      setCounter(this, Object.entries(broker().refusedPublishes).map(([reason, n]) => [{ reason }, n]));
    },
  });

  // RPC from the hub to devices
  const rpc = new Histogram({
    name: 'sosna_hub_device_rpc_duration_seconds', help: 'Calls from the hub to devices, from sending to the answer: known service and method (else other), outcome ok or the error code',
    labelNames: ['service', 'method', 'outcome'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
  });

  // Jobs
  new Gauge({
    name: 'sosna_hub_jobs', help: 'Jobs by state (all the hub ever had: final states grow)', labelNames: ['state'], registers,
    collect() {
      const counts = store.jobs.countByState();
      for (const s of JOB_STATES) this.set({ state: s }, counts[s] ?? 0);
    },
  });
  const scheduling = new Histogram({
    name: 'sosna_hub_job_scheduling_latency_seconds', help: 'From a job entering the queue (submitted or requeued) to its first run assigned to a device',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600], registers,
  });
  const queuedSince = new Map<string, number>();
  for (const job of store.jobs.liveJobs()) if (job.state === 'queued') queuedSince.set(job.id, job.updatedAt);
  const PLACED: ReadonlySet<JobState> = new Set(['assigned', 'pulling', 'running', 'succeeded']);

  // Payouts
  if (deps.payouts) {
    const payouts = oncePerScrape(() => store.payouts.stats());
    new Gauge({
      name: 'sosna_hub_payout_batches', help: 'Payout batches by status (planned, signed: being settled; paid; failed; unknown: needs a person)', labelNames: ['status'], registers,
      collect() {
        const by = payouts().byStatus;
        for (const s of PAYOUT_STATUSES) this.set({ status: s }, by[s] ?? 0);
      },
    });
    new Counter({
      name: 'sosna_hub_payout_failures_total', help: 'Payout batches that failed on chain or whose outcome is unknown (their earnings are owed again, or wait for a person)', registers,
      collect() {
        const by = payouts().byStatus;
        setCounter(this, [[null, (by.failed ?? 0) + (by.unknown ?? 0)]]);
      },
    });
    new Counter({
      name: 'sosna_hub_paid_wei_total', help: 'Tokens paid out in mined payout batches, in wei (the token\'s base unit; a float: exact amounts are in `sosna console payouts ls`)', registers,
      collect() {
        setCounter(this, [[null, Number(payouts().paidWei)]]);
      },
    });
  }

  return {
    registry,
    observeRpc(service, method, outcome, seconds) {
      rpc.observe({ ...rpcLabels(service, method), outcome }, seconds);
    },
    observeJob(job) {
      if (job.state === 'queued') {
        if (!queuedSince.has(job.id)) queuedSince.set(job.id, job.updatedAt);
        return;
      }
      const since = queuedSince.get(job.id);
      if (since === undefined) return;
      queuedSince.delete(job.id);
      if (PLACED.has(job.state)) scheduling.observe(Math.max(0, job.updatedAt - since) / 1000);
    },
    scrape: () => registry.metrics(),
    stop() {
      events.off('online', onOnline);
      events.off('offline', onOffline);
      registry.clear();
    },
  };
}


/** One read of a source shared by the metrics of one scrape (they collect in the same turn of the event loop). */
function oncePerScrape<T>(read: () => T): () => T {
  let value: { v: T } | null = null;
  return () => {
    if (!value) {
      value = { v: read() };
      setImmediate(() => (value = null));
    }
    return value.v;
  };
}
