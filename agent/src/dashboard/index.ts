// The device's local dashboard: an HTTP server in the agent with a small embedded UI (Preact + uPlot),
// a JSON API and a live WebSocket in the MQTT `{topic, payload}` shapes. Started by app.ts when
// `dashboard.enabled`; costs one listening socket and a bounded telemetry ring while nobody looks.
import type { Server as NetServer } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { topics } from '@sosna/protocol';
import type { DeviceConfig, DeviceState, Logger, Telemetry } from '@sosna/protocol';
import { apiRoutes } from './api.js';
import { UI_ASSETS } from './assets.js';
import type { UiAsset } from './assets.js';
import { LoginLimiter, LoginSecret, Sessions } from './auth.js';
import { LiveHub } from './live.js';
import type { LogTail } from './logtail.js';
import type { ScryptParams } from './password.js';
import { TelemetryRing } from './ring.js';
import { createDashboardServer } from './server.js';
import { httpsPort } from './https-port.js';
import { fingerprintOf, loadOrCreateCertificate } from './tls-cert.js';
import type { CertStore } from './tls-cert.js';
import { StateStore } from '../state.js';
import { SettingsStore } from './settings.js';
import type { DashboardSources, DeviceStatus } from './sources.js';
import type { JobsFeed } from './jobs-feed.js';

import type { RefusedOffer } from './update-view.js';
export type { DashboardSources, DeviceStatus, EarningsSummary, HubEarnings, JobSummary } from './sources.js';
export { LogTail } from './logtail.js';

export interface DashboardOptions {
  /** The config the agent runs with. */
  config: DeviceConfig;
  /** The config file that settings are written to; null when the config came from the environment. */
  configPath: string | null;
  log: Logger;
  agentVersion: string;
  status: () => DeviceStatus;
  sources?: DashboardSources;
  logs?: LogTail | null;
  /** The job manager's runs: listed on the Jobs page (unless `sources.jobs` says otherwise) and streamed live. */
  jobsFeed?: JobsFeed | null;
  env?: Record<string, string | undefined>;
  /** The update manager's last refused offer (agent/src/update/manager.ts), for the System page. */
  updateRefused?: () => RefusedOffer | null;
  /** Tests: the UI to serve (default: the one built into the bundle) and a cheaper scrypt. */
  assets?: Record<string, UiAsset>;
  scrypt?: ScryptParams;
  sessionTtlMs?: number;
  /** Tests: where the one-time code goes (default: the log). */
  showCode?: (code: string) => void;
  /** Tests: the clock of the login limiter and the sessions. */
  now?: () => number;
  /** Where the HTTPS certificate is kept (default: the config's stateDir). */
  certStore?: CertStore;
}

export interface Dashboard {
  /** Where it listens, e.g. http://0.0.0.0:8480 (https:// with `dashboard.https`). */
  readonly url: string;
  readonly port: number;
  /** With `dashboard.https`: the SHA-256 fingerprint of its certificate (AB:CD:...), else null. */
  readonly certSha256: string | null;
  /** A telemetry sample (every metric, every interval): kept for the charts and sent to open dashboards. */
  telemetry(metrics: Record<string, number>, at?: number): void;
  stop(): Promise<void>;
}

const listen = (server: NetServer, port: number, host: string) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

/** The names the certificate is made for: the host name, its mDNS name, loopback, the LAN addresses now. */
function deviceNames(host: string): string[] {
  const h = hostname();
  const lan = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal && (a.family === 'IPv4' || !a.address.startsWith('fe80'))).map((a) => a!.address);
  return [h, `${h}.local`, 'localhost', '127.0.0.1', '::1', ...(host === '0.0.0.0' || host === '::' ? [] : [host]), ...lan];
}

function stateMessage(s: DeviceStatus, agentVersion: string, at: number): DeviceState {
  return s.connected
    ? { v: 1, status: 'online', at, agentVersion, name: s.name, inventory: s.inventory }
    : { v: 1, status: 'offline', at, reason: 'will' };
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const { config, log } = o;
  const env = o.env ?? process.env;
  const startedAt = Date.now();
  const settings = new SettingsStore({ path: o.configPath, env, ...(o.scrypt ? { scrypt: o.scrypt } : {}) });
  // A plain password (file or environment) is hashed now and, in the file, replaced by its hash.
  const plain = config.dashboard.password;
  const passwordHash = plain
    ? await settings.hashPlainPassword(plain, (why) => log.warn('could not replace the plain dashboard password in the config file by its hash', { why }))
    : config.dashboard.passwordHash ?? null;
  const sessionTtlMs = o.sessionTtlMs ?? 12 * 3_600_000;
  const clock = o.now ? { now: o.now } : {};
  const sessions = new Sessions({ ttlMs: sessionTtlMs, ...clock });
  const limiter = new LoginLimiter(clock);
  const ring = TelemetryRing.forInterval(config.telemetry.intervalSec);
  const topicOf = (channel: 'state' | 'telemetry') => {
    const s = o.status();
    return topics.device(s.hubId, s.deviceId, channel);
  };

  let seq = 0;
  let lastConnected: boolean | null = null;
  const live = new LiveHub({
    sessionValid: (t) => sessions.valid(t),
    greeting: () => {
      const s = o.status();
      lastConnected = s.connected;
      const latest = ring.latest();
      return [
        { topic: topicOf('state'), payload: stateMessage(s, o.agentVersion, Date.now()) },
        ...(latest ? [{ topic: topicOf('telemetry'), payload: { v: 1, at: latest.at, seq, full: true, metrics: latest.metrics } satisfies Telemetry }] : []),
      ];
    },
    watch: () => {
      const s = o.status();
      if (s.connected === lastConnected) return [];
      lastConnected = s.connected;
      return [{ topic: topicOf('state'), payload: stateMessage(s, o.agentVersion, Date.now()) }];
    },
  });
  const secret = new LoginSecret({ passwordHash, log, ...(o.showCode ? { showCode: o.showCode } : {}) });
  const feed = o.jobsFeed ?? null;
  // Job events go out as they happen, in the payload shapes of the jobs.update / jobs.log calls to the hub.
  const unsubscribe = feed?.subscribe((e) => {
    if (live.size === 0) return;
    const s = o.status();
    live.publish(topics.deviceJobs(s.hubId, s.deviceId, e.kind), e.payload);
  });
  const sources = { ...(feed ? { jobs: () => feed.list() } : {}), ...o.sources };
  const routes = apiRoutes({
    log, agentVersion: o.agentVersion, startedAt, config, env, status: o.status, sources,
    secret, sessions, limiter, settings, ring, logs: o.logs ?? null, live, sessionTtlMs, secureCookie: config.dashboard.https, updateRefused: o.updateRefused ?? (() => null),
  });
  const host = config.dashboard.host;
  // HTTPS: the certificate made on the device once and kept in its state directory; the port answers
  // plain HTTP only with a redirect to https:// (https-port.ts).
  const tls = config.dashboard.https
    ? loadOrCreateCertificate(o.certStore ?? new StateStore(config.stateDir), { names: () => deviceNames(host), warn: (msg, why) => log.warn(msg, { why }) })
    : null;
  const certSha256 = tls ? fingerprintOf(tls.cert) : null;
  if (tls?.created) log.info('made a self-signed certificate for the dashboard', { sha256: certSha256 });
  const deps = { log, sessions, routes, live, assets: o.assets ?? UI_ASSETS };
  const secure = tls ? createDashboardServer({ ...deps, tls }) : null;
  const server = secure ?? createDashboardServer(deps);
  const front = secure ? httpsPort(secure) : null;
  await listen(front ?? server, config.dashboard.port, host);
  const port = ((front ?? server).address() as { port: number }).port;
  const scheme = tls ? 'https' : 'http';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // On all addresses: say where a browser on the LAN finds it.
  const lan = host === '0.0.0.0' || host === '::'
    ? Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal).slice(0, 4).map((a) => `${scheme}://${a!.address}:${port}`)
    : [];
  log.info('dashboard listening', { url, ...(lan.length ? { open: lan.join(' ') } : {}), login: secret.mode });
  // The line to compare with what the browser shows before trusting the self-signed certificate.
  if (certSha256) log.info(`dashboard certificate SHA-256 fingerprint: ${certSha256}`);
  secret.announce();

  return {
    url,
    port,
    certSha256,
    telemetry(metrics, at = Date.now()) {
      ring.push(at, metrics);
      seq++;
      if (live.size > 0) live.publish(topicOf('telemetry'), { v: 1, at, seq, full: true, metrics } satisfies Telemetry);
    },
    async stop() {
      unsubscribe?.();
      live.close();
      if (front) {
        const closed = new Promise<void>((r) => front.close(() => r()));
        server.closeAllConnections();
        front.destroyAll();
        await closed;
      } else {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    },
  };
}
