// The dashboard's JSON API: one handler per route, each producing a result from the agent's state.
// Authentication, body parsing and error replies live in server.ts.
import { applyEnv, DeviceConfig } from '@sosna/protocol';
import type { Logger } from '@sosna/protocol';
import { sessionCookie } from './auth.js';
import type { LoginLimiter, LoginSecret, Sessions } from './auth.js';
import { assessHealth } from './health.js';
import type { LiveHub } from './live.js';
import type { LogTail } from './logtail.js';
import type { TelemetryRing } from './ring.js';
import { HttpError } from './server.js';
import type { ApiRoute } from './server.js';
import { CLEARABLE_FIELDS, EDITABLE_FIELDS } from './settings.js';
import type { SettingsStore } from './settings.js';
import type { DashboardSources, DeviceStatus } from './sources.js';
import { readUpdateView } from './update-view.js';
import type { RefusedOffer } from './update-view.js';

export interface ApiDeps {
  log: Logger;
  agentVersion: string;
  startedAt: number;
  /** The config the agent runs with now. */
  config: DeviceConfig;
  env: Record<string, string | undefined>;
  status: () => DeviceStatus;
  sources: DashboardSources;
  secret: LoginSecret;
  sessions: Sessions;
  limiter: LoginLimiter;
  settings: SettingsStore;
  ring: TelemetryRing;
  logs: LogTail | null;
  live: LiveHub;
  sessionTtlMs: number;
  /** The dashboard is served over HTTPS: the session cookie is `Secure` (never sent in clear). */
  secureCookie?: boolean;
  /** The update manager's last refused offer since the agent started. */
  updateRefused: () => RefusedOffer | null;
}

const CGMINER_PORT = 4028;

/** The prefix of an ASIC's telemetry keys (see hardware/metrics.ts). */
export const asicKey = (a: { host: string; port: number }) => (a.port === CGMINER_PORT ? `asic.${a.host}` : `asic.${a.host}:${a.port}`);

type Obj = Record<string, unknown>;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);

export function apiRoutes(d: ApiDeps): Record<string, ApiRoute> {
  const device = () => {
    const s = d.status();
    const inv = s.inventory;
    return {
      deviceId: s.deviceId, hubId: s.hubId, name: s.name, hubUrl: s.hubUrl, agentVersion: d.agentVersion,
      uptimeSec: Math.round((Date.now() - d.startedAt) / 1000), hostname: inv.hostname, platform: inv.platform, arch: inv.arch,
      os: inv.os, cpu: inv.cpu, memoryTotalBytes: inv.memory.totalBytes, connected: s.connected, hubTrust: s.hubTrust ?? null, hubChoice: s.hubChoice ?? null,
    };
  };

  return {
    'GET /api/login': { public: true, handler: ({ token }) => ({ body: { mode: d.secret.mode, authenticated: token !== undefined } }) },

    'POST /api/login': {
      public: true,
      handler: async ({ body, client }) => {
        // The slot is taken before the hash is computed: parallel attempts cannot all be checked.
        const attempt = d.limiter.begin(client);
        if (!attempt.ok) {
          const sec = Math.ceil(attempt.retryAfterMs / 1000);
          const why = attempt.reason === 'busy' ? `another login is being checked: try again in ${sec} s` : `too many failed logins: try again in ${sec} s`;
          throw new HttpError(429, 'too_many_attempts', why, { retryAfterSec: sec }, { 'Retry-After': String(sec) });
        }
        const secret = (body as { password?: unknown } | null)?.password;
        let ok = false;
        try {
          ok = typeof secret === 'string' && (await d.secret.check(secret));
        } finally {
          attempt.end(ok);
        }
        if (!ok) {
          d.log.warn('dashboard login refused', { client });
          throw new HttpError(401, 'bad_password', d.secret.mode === 'code' ? 'wrong code (a new one is printed on the agent console after each use)' : 'wrong password');
        }
        const s = d.sessions.create();
        d.log.info('dashboard login', { client });
        return { body: { ok: true }, headers: { 'Set-Cookie': sessionCookie(s.token, Math.floor(d.sessionTtlMs / 1000), d.secureCookie) } };
      },
    },

    'POST /api/logout': {
      handler: ({ token }) => {
        d.sessions.revoke(token);
        d.live.closeSessions(token);
        return { body: { ok: true }, headers: { 'Set-Cookie': sessionCookie('', 0, d.secureCookie) } };
      },
    },

    'GET /api/overview': {
      handler: () => {
        const dev = device();
        const latest = d.ring.latest();
        const health = assessHealth({
          connected: dev.connected, trust: dev.hubTrust, metrics: latest?.metrics ?? {}, sampleAgeMs: latest ? Date.now() - latest.at : null,
          intervalSec: d.config.telemetry.intervalSec, memoryTotalBytes: dev.memoryTotalBytes,
        });
        return { body: { device: dev, health, latest } };
      },
    },

    'GET /api/hardware': {
      handler: () => {
        const s = d.status();
        const hw = s.hardware ?? {};
        const gpus = arr(hw.gpus).map((g) => ({
          key: `gpu.${String(g.index)}`, index: g.index, vendor: g.vendor, name: g.name, vramBytes: g.vramBytes, driver: g.driver ?? null, pciBusId: g.pciBusId,
        }));
        const asics = arr(hw.asics).map((a) => ({
          key: asicKey(a as { host: string; port: number }), host: a.host, port: a.port, maker: a.maker, model: a.model, state: a.state,
        }));
        return { body: { cpu: s.inventory.cpu, memory: s.inventory.memory, board: hw.board ?? null, gpus, asics, benchmarks: s.benchmarks, latest: d.ring.latest() } };
      },
    },

    'GET /api/telemetry': {
      handler: ({ url }) => {
        const q = url.searchParams;
        const list = (name: string) => q.get(name)?.split(',').filter(Boolean).slice(0, 512);
        const since = Number(q.get('since'));
        const points = Number(q.get('points'));
        const prefixes = list('prefix');
        const metrics = list('metrics');
        const snap = d.ring.snapshot({
          ...(since > 0 ? { sinceMs: since } : {}),
          ...(prefixes?.length ? { prefixes } : {}),
          ...(metrics?.length ? { metrics } : {}),
          ...(points >= 10 ? { maxPoints: Math.floor(points) } : {}),
        });
        return { body: { intervalSec: d.config.telemetry.intervalSec, ...snap } };
      },
    },

    'GET /api/jobs': {
      handler: async () => {
        const unavailable = d.sources.jobsUnavailable?.() ?? null;
        return d.sources.jobs ? { body: { available: true, unavailable, jobs: await d.sources.jobs() } } : { body: { available: false, unavailable, jobs: [] } };
      },
    },

    'GET /api/rig/earnings': {
      handler: () => (d.sources.rigEarnings ? { body: { available: true, earnings: d.sources.rigEarnings() } } : { body: { available: false, earnings: null } }),
    },

    'GET /api/earnings': {
      handler: async () => (d.sources.earnings ? { body: { available: true, earnings: await d.sources.earnings() } } : { body: { available: false, earnings: null } }),
    },

    'GET /api/settings': {
      handler: () => {
        // What the file says now (it may differ from what runs, until the agent restarts).
        let saved: DeviceConfig | null = null;
        try {
          const r = DeviceConfig.safeParse(applyEnv(DeviceConfig, d.settings.read(), d.env).value);
          saved = r.success ? r.data : null;
        } catch {
          saved = null;
        }
        const c = saved ?? d.config;
        const values = (x: DeviceConfig) => ({ owner: x.owner ?? '', 'jobs.askPerSec': x.jobs.askPerSec, hubPreference: x.hubPreference ?? 'best', 'telemetry.intervalSec': x.telemetry.intervalSec });
        return {
          body: {
            file: d.settings.path,
            editable: EDITABLE_FIELDS,
            values: { name: c.name ?? '', ...values(c) },
            running: { name: d.status().name, ...values(d.config) },
            /** The hubs the preference may name (`hub` first, then `hubs`), as the saved file lists them. */
            hubs: [c.hub.url, ...c.hubs.map((h) => h.url)],
            login: d.secret.mode,
          },
        };
      },
    },

    'PUT /api/settings': {
      handler: async ({ body, token }) => {
        // An empty value means "back to the default" (the host name, no owner, an ask of 0, the ranking).
        const patch = body && typeof body === 'object' && !Array.isArray(body) ? { ...(body as Obj) } : body;
        if (patch && typeof patch === 'object') for (const f of CLEARABLE_FIELDS) if ((patch as Obj)[f] === '') (patch as Obj)[f] = null;
        const r = await d.settings.apply(patch);
        if (!r.ok) throw new HttpError(r.status, 'invalid', r.errors.map((e) => `${e.field}: ${e.reason}`).join('; '), { errors: r.errors });
        if (r.passwordHash) {
          d.secret.setPasswordHash(r.passwordHash);
          d.sessions.revokeAllExcept(token);
        }
        d.log.info('settings changed from the dashboard', { fields: r.changed });
        return { body: { ok: true, changed: r.changed, restartRequired: r.restartRequired, overriddenByEnv: r.overriddenByEnv } };
      },
    },

    'GET /api/system': {
      handler: ({ url }) => {
        const mem = process.memoryUsage();
        const lines = Math.min(300, Math.max(1, Number(url.searchParams.get('lines') ?? 200) || 200));
        return {
          body: {
            agentVersion: d.agentVersion, node: process.version, pid: process.pid, uptimeSec: Math.round((Date.now() - d.startedAt) / 1000),
            rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, configFile: d.settings.path, stateDir: d.config.stateDir,
            update: readUpdateView(d.config.stateDir, d.agentVersion, d.updateRefused()),
            logs: d.logs?.tail(lines) ?? [],
          },
        };
      },
    },
  };
}
