// The alerts' pure core, no I/O: what each rule sees in a snapshot of the fleet (observe), which alerts
// start pending, fire and resolve (planTransitions), and which transitions go out now as one message per
// rule and direction (planNotifications: grouped within a window, so a farm that drops at once is one
// message listing its devices, not one per device). The executor (service.ts) reads and writes the rest.
import type { AlertMetric, AlertRule } from './config.js';
import { HUB_METRICS } from './config.js';

/** The subject of the hub's own metrics. */
export const HUB_SUBJECT = 'hub';

export interface DeviceSnapshot {
  id: string;
  name: string;
  fleet: string | null;
  tags: string[];
  online: boolean;
  firstSeen: number | null;
  lastSeen: number | null;
  telemetry: Record<string, number> | null;
  /** GPUs the device reported at its birth (inventory.hardware.gpus); null when it said nothing. */
  inventoryGpus: number | null;
}

export interface HubSnapshot {
  /** Jobs finished lately (succeeded or failed), with when. */
  finishedJobs: { at: number; failed: boolean }[];
  /** The hub wallet's funds against what is owed (wei); null without a chain or when it could not be read. */
  wallet: { owed: bigint; available: bigint } | null;
}

export interface Snapshot {
  now: number;
  /** When this hub process started: nobody is seen offline for longer than the hub has been up. */
  hubStartedAt: number;
  devices: DeviceSnapshot[];
  hub: HubSnapshot;
}

/** What a rule sees of one subject: whether its condition holds, the value, and since when it holds (if known). */
export interface Observation {
  active: boolean;
  value: string | null;
  since?: number;
}

const GPU_TEMP = /^gpu\.\d+\.tempC$/;
const GPU_OK = /^gpu\.\d+\.ok$/;
const ASIC_HASHRATE = /^asic\..+\.hashrate5s$/;
/** Rig mode: a mining program's total (not its per-GPU or CPU parts, which it includes). */
const MINER_HASHRATE = /^miner\.[a-z0-9_-]+\.hashrate10s$/;

const round = (n: number) => String(Math.round(n * 100) / 100);

/** One device's value of a telemetry metric; undefined when it reports nothing for it. Pure. */
export function deviceValue(metric: AlertMetric, d: DeviceSnapshot): number | undefined {
  const t = d.telemetry ?? {};
  const keys = Object.keys(t);
  switch (metric) {
    case 'cpu.tempC':
      return t['cpu.tempC'];
    case 'gpu.tempC': {
      const temps = keys.filter((k) => GPU_TEMP.test(k)).map((k) => t[k]!);
      return temps.length ? Math.max(...temps) : undefined;
    }
    case 'gpu.lost': {
      // GPUs gone since birth (the driver no longer lists them) plus those listed but not ok
      const count = t['gpu.count'];
      if (count === undefined && d.inventoryGpus === null) return undefined;
      const gone = d.inventoryGpus !== null && count !== undefined ? Math.max(0, d.inventoryGpus - count) : 0;
      return gone + keys.filter((k) => GPU_OK.test(k) && t[k] === 0).length;
    }
    case 'hashrate': {
      const rates = keys.filter((k) => ASIC_HASHRATE.test(k) || MINER_HASHRATE.test(k)).map((k) => t[k]!);
      return rates.length ? rates.reduce((a, b) => a + b, 0) : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * What `rule` sees: subject -> observation. A subject missing from the map has no data now (an offline
 * device's stale telemetry, a wallet that could not be read): its alert stays as it is. Pure.
 */
export function observe(rule: AlertRule, snap: Snapshot): Map<string, Observation> {
  const out = new Map<string, Observation>();
  if (HUB_METRICS.has(rule.metric)) {
    if (rule.metric === 'jobs.failureRate') {
      const recent = snap.hub.finishedJobs.filter((j) => j.at >= snap.now - rule.window);
      const failed = recent.filter((j) => j.failed).length;
      const rate = recent.length ? failed / recent.length : 0;
      out.set(HUB_SUBJECT, { active: recent.length >= rule.minJobs && rate > rule.above!, value: `${round(rate)} (${failed}/${recent.length} jobs)` });
    } else if (snap.hub.wallet) {
      const { owed, available } = snap.hub.wallet;
      out.set(HUB_SUBJECT, { active: owed > available, value: owed > available ? (owed - available).toString() : '0' });
    }
    return out;
  }
  for (const d of snap.devices) {
    if (rule.fleet !== undefined && d.fleet !== rule.fleet) continue;
    if (rule.tag !== undefined && !d.tags.includes(rule.tag)) continue;
    if (rule.metric === 'device.offline') {
      if (d.firstSeen === null) continue; // never came: not "offline", just not there yet
      out.set(d.id, { active: !d.online, value: null, since: d.online ? undefined : Math.max(d.lastSeen ?? 0, snap.hubStartedAt) });
      continue;
    }
    if (!d.online) continue; // its telemetry is stale
    const v = deviceValue(rule.metric, d);
    if (v === undefined) continue;
    const active = rule.metric === 'gpu.lost' ? v > 0 : rule.below !== undefined ? v < rule.below : v > rule.above!;
    out.set(d.id, { active, value: round(v) });
  }
  return out;
}

export const alertKey = (rule: string, subject: string) => `${rule}\u0000${subject}`;

export interface FiringAlert {
  id: number;
  rule: string;
  subject: string;
}

export interface NewAlert {
  rule: string;
  metric: AlertMetric;
  subject: string;
  value: string | null;
  startsAt: number;
}

export interface Transitions {
  /** Conditions that hold but not yet `for` long: key -> since (kept in memory only). */
  pending: Map<string, number>;
  fire: NewAlert[];
  resolve: { id: number; endsAt: number }[];
}

/**
 * Pending -> firing after `for`; firing -> resolved when the condition no longer holds (or its rule is
 * gone from the config). A subject without data keeps its state. Pure.
 */
export function planTransitions(input: {
  rules: readonly AlertRule[];
  now: number;
  observations: ReadonlyMap<string, ReadonlyMap<string, Observation>>;
  pending: ReadonlyMap<string, number>;
  firing: readonly FiringAlert[];
}): Transitions {
  const { now } = input;
  const pending = new Map<string, number>();
  const fire: NewAlert[] = [];
  const resolve: { id: number; endsAt: number }[] = [];
  const firingByKey = new Map(input.firing.map((f) => [alertKey(f.rule, f.subject), f]));
  const ruleNames = new Set(input.rules.map((r) => r.name));

  for (const rule of input.rules) {
    const seen = input.observations.get(rule.name) ?? new Map<string, Observation>();
    for (const [subject, obs] of seen) {
      const key = alertKey(rule.name, subject);
      const firing = firingByKey.get(key);
      if (obs.active) {
        if (firing) continue;
        const since = input.pending.get(key) ?? obs.since ?? now;
        if (now - since >= rule.for) fire.push({ rule: rule.name, metric: rule.metric, subject, value: obs.value, startsAt: now });
        else pending.set(key, since);
      } else if (firing) {
        resolve.push({ id: firing.id, endsAt: now });
      }
    }
    // no data now: a pending condition stays pending (its clock keeps running)
    for (const [key, since] of input.pending) {
      if (key.startsWith(`${rule.name}\u0000`) && !seen.has(key.slice(rule.name.length + 1))) pending.set(key, since);
    }
  }
  for (const f of input.firing) if (!ruleNames.has(f.rule)) resolve.push({ id: f.id, endsAt: now });
  return { pending, fire, resolve };
}

/** A transition not yet put into a message (the store keeps these flags: a restart neither loses nor repeats one). */
export interface UnsentTransition {
  id: number;
  rule: string;
  metric: string;
  subject: string;
  status: 'firing' | 'resolved';
  value: string | null;
  startsAt: number;
  endsAt: number | null;
}

export interface NotificationAlert {
  id: number;
  subject: string;
  name: string;
  value: string | null;
  startsAt: number;
  endsAt: number | null;
}

export interface Notification {
  status: 'firing' | 'resolved';
  rule: string;
  metric: string;
  alerts: NotificationAlert[];
}

export interface PlannedNotification {
  notification: Notification;
  /** The webhooks (names) it goes to; none when its rule names none or is gone. */
  webhooks: string[];
}

/**
 * Transitions of one rule and direction go out together once the oldest of them is `groupWindowMs` old;
 * firing before resolved. Pure.
 */
export function planNotifications(input: {
  unsent: readonly UnsentTransition[];
  now: number;
  groupWindowMs: number;
  rules: readonly AlertRule[];
  webhooks: readonly string[];
  names: ReadonlyMap<string, string>;
}): PlannedNotification[] {
  const groups = new Map<string, UnsentTransition[]>();
  for (const t of input.unsent) {
    const key = `${t.status}\u0000${t.rule}`;
    const g = groups.get(key) ?? [];
    g.push(t);
    groups.set(key, g);
  }
  const at = (t: UnsentTransition) => (t.status === 'firing' ? t.startsAt : (t.endsAt ?? t.startsAt));
  const out: PlannedNotification[] = [];
  for (const g of groups.values()) {
    const first = Math.min(...g.map(at));
    if (input.now - first < input.groupWindowMs) continue;
    const head = g[0]!;
    const rule = input.rules.find((r) => r.name === head.rule);
    const alerts = [...g]
      .sort((a, b) => a.subject.localeCompare(b.subject))
      .map((t) => ({ id: t.id, subject: t.subject, name: input.names.get(t.subject) ?? t.subject, value: t.value, startsAt: t.startsAt, endsAt: t.status === 'resolved' ? t.endsAt : null }));
    out.push({ notification: { status: head.status, rule: head.rule, metric: head.metric, alerts }, webhooks: rule ? [...(rule.webhooks ?? input.webhooks)] : [] });
  }
  return out.sort((a, b) => (a.notification.status === b.notification.status ? a.notification.rule.localeCompare(b.notification.rule) : a.notification.status === 'firing' ? -1 : 1));
}

/** The wait before retry `attempt` (1 = the first retry): backoff doubled each time, at most maxMs. Pure. */
export function retryDelay(attempt: number, backoffMs: number, maxMs: number): number {
  return Math.min(backoffMs * 2 ** Math.max(0, attempt - 1), maxMs);
}
