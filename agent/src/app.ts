// The agent's boot order, in one place:
//   config -> state directory -> inventory -> credentials (provision with the fleet key if needed)
//   -> container engine and jobs (runs of an earlier process resume) -> RPC services
//   -> hub link (Will, birth, reconnects) -> local dashboard -> telemetry loop.
import { hostname } from 'node:os';
import { createCodec, deviceJobsService, RpcEndpoint, systemService } from '@sosna/protocol';
import type { BasicInventory, DeviceConfig, Logger } from '@sosna/protocol';
import { backoffDelay } from '@sosna/protocol';
import { Credentials, CREDENTIALS_FILE } from './credentials.js';
import { basicInventory } from './inventory.js';
import { HubLink } from './link.js';
import { provision } from './provision.js';
import { systemHandlers } from './services/system.js';
import { StateStore } from './state.js';
import { createSystemSampler, planTelemetry } from './telemetry.js';
import type { PlanState } from './telemetry.js';
import { AGENT_VERSION } from './version.js';
import type { DetectedHardware } from './detect-child.js';
import { BENCHMARK_FILE, BenchmarkCache, cachedResults, hardwareFingerprint } from './benchmarks/cache.js';
import { connectEngine, JobManager } from './jobs/index.js';
import type { DashboardSources, LogTail } from './dashboard/index.js';

/** Live GPU/ASIC metrics, only for devices that have GPUs or ASICs (no child process otherwise). */
function hardwareSampler(detected: DetectedHardware, asicHosts: string[]): (() => Promise<Record<string, number>>) | null {
  const inv = detected.inventory as { gpus?: unknown[]; asics?: unknown[] };
  if (!inv.gpus?.length && !inv.asics?.length) return null;
  return async () => {
    const { detectHardware, inventoryMetrics } = await import('./hardware/index.js');
    return inventoryMetrics((await detectHardware({ only: ['gpu', 'asic'], asicHosts, probeLocalAsic: asicHosts.length === 0 })).inventory);
  };
}

export interface Agent {
  readonly deviceId: string;
  stop(): Promise<void>;
}

/** Runs provisioning once; resolves when credentials are saved in the state directory, throws otherwise. */
export type Provisioner = () => Promise<void>;

/** Reads saved credentials, or provisions until it succeeds (with backoff) or the agent stops. */
async function obtainCredentials(config: DeviceConfig, state: StateStore, run: Provisioner, log: Logger, stopped: () => boolean): Promise<Credentials | null> {
  for (let attempt = 0; !stopped(); attempt++) {
    const saved = state.read(CREDENTIALS_FILE, Credentials, (why) => log.warn('ignoring unreadable credentials', { why }));
    if (saved) return saved;
    try {
      await run();
      continue; // read what provisioning saved
    } catch (err) {
      const delay = backoffDelay(attempt, Math.max(1000, config.mqtt.reconnectMinMs), config.mqtt.reconnectMaxMs);
      log.error('provisioning failed', { reason: (err as Error).message, retryInMs: delay });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  return null;
}

export interface AgentOptions {
  /** Full hardware detection (the CLI runs it in a child process); without it the birth has the basic inventory only. */
  detect?: () => Promise<DetectedHardware | null>;
  /** First-boot provisioning (the CLI runs it in a child process); default: in this process. */
  provision?: Provisioner;
  /** Capability benchmarks (the CLI runs them in a child process); cached per hardware fingerprint. */
  benchmark?: () => Promise<Record<string, number> | null>;
  /** The config file, where the dashboard saves settings; absent: the config came from the environment. */
  configPath?: string | null;
  /** The newest log lines, for the dashboard's System page. */
  logTail?: LogTail;
  /** What the dashboard's Jobs and Earnings pages show. */
  dashboardSources?: DashboardSources;
}

export async function startAgent(config: DeviceConfig, log: Logger, opts: AgentOptions = {}): Promise<Agent> {
  const state = new StateStore(config.stateDir);
  const name = config.name ?? hostname();
  let stopped = false;
  let inventory: BasicInventory = basicInventory();
  const detecting = opts.detect ? opts.detect().catch(() => null) : Promise.resolve(null);

  const runProvision: Provisioner = opts.provision ?? (async () => void (await provision({ config, state, name, log })));
  let creds = await obtainCredentials(config, state, runProvision, log, () => stopped);
  if (!creds) throw new Error('stopped before provisioning finished');
  // The identity belongs to the hub id; the config's URL says where that hub is now (it may have moved).
  if (creds.url !== config.hub.url) {
    log.info('hub URL changed since provisioning; using the configured one', { provisioned: creds.url, config: config.hub.url });
    creds = { ...creds, url: config.hub.url };
  }

  const detected = await detecting;
  if (detected) {
    const gpus = (detected.inventory.gpus as unknown[] | undefined)?.length ?? 0;
    const asics = (detected.inventory.asics as unknown[] | undefined)?.length ?? 0;
    log.info('hardware detected', { gpus, asics, warnings: detected.warnings.length, ms: detected.durationMs });
    for (const w of detected.warnings) log.warn('hardware detection', { source: w.source, message: w.message });
  }
  const hardwareSample = detected ? hardwareSampler(detected, config.hardware.asicHosts) : null;
  const codec = createCodec({ maxPayload: config.rpc.maxPayloadBytes });
  // Jobs: the container engine (without one the device offers no jobs) and the runs of an earlier process.
  const engine = config.jobs.enabled
    ? await connectEngine(config.jobs.dockerHost).catch((err: Error) => (log.warn('no container engine: this device runs no jobs', { reason: err.message }), null))
    : null;
  if (engine) log.info('container engine', { engine: engine.name, version: engine.version, api: engine.apiVersion, at: engine.endpoint });
  let link: HubLink;
  const jobs = new JobManager({
    config: config.jobs, stateDir: config.stateDir, deviceId: creds.deviceId, engine, log: log.child('jobs'),
    hub: { connected: () => link?.connected ?? false, call: (spec, method, params, o) => link.call(spec, method, params, o) },
  });
  const endpoint = new RpcEndpoint()
    .add(systemService, systemHandlers({ deviceId: creds.deviceId, name, inventory: () => inventory }))
    .add(deviceJobsService, jobs.handlers());

  let benchmarks: Record<string, number> | null = null;
  const makeLink = (c: Credentials) =>
    new HubLink({
      config, creds: c, codec, endpoint, log,
      birth: () => ({
        v: 1, status: 'online', agentVersion: AGENT_VERSION, name, inventory,
        ...(detected ? { hardware: detected.inventory, profiles: detected.profiles?.matches.slice(0, 1200) } : {}),
        ...(benchmarks ? { benchmarks } : {}),
        ...(config.owner ? { owner: config.owner } : {}),
        jobs: jobs.capability(),
      }),
      events: {
        onConnected: () => jobs.onConnected(),
        // Three refusals in a row with a fleet key at hand: the hub no longer knows these credentials.
        onRefused: (n) => {
          if (n < 3 || !config.provisioningKey) return;
          log.warn('dropping refused credentials and provisioning again');
          state.remove(CREDENTIALS_FILE);
          void link.stop().then(async () => {
            const fresh = await obtainCredentials(config, state, runProvision, log, () => stopped);
            if (fresh && !stopped) {
              creds = fresh;
              link = makeLink(fresh);
              link.start();
            }
          });
        },
      },
    });
  link = makeLink(creds);
  await jobs.start();
  link.start();

  // Benchmarks: from the cache when the hardware is unchanged, else measured now; the birth is re-sent.
  if (detected && opts.benchmark) {
    const fingerprint = hardwareFingerprint(detected.inventory);
    benchmarks = cachedResults(state.read(BENCHMARK_FILE, BenchmarkCache), fingerprint);
    if (!benchmarks) {
      const run = opts.benchmark;
      void (async () => {
        log.info('running capability benchmarks (hardware is new or changed)');
        const results = await run();
        if (!results || stopped) return;
        state.write(BENCHMARK_FILE, { fingerprint, at: Date.now(), results });
        benchmarks = results;
        log.info('capability benchmarks', results);
        await link.republish();
      })();
    }
  }

  // The local dashboard (dashboard/, loaded only when enabled): if it cannot listen (port taken) the agent runs on without it.
  const dashboard = config.dashboard.enabled
    ? await import('./dashboard/index.js').then(({ startDashboard }) => startDashboard({
        config, configPath: opts.configPath ?? null, log: log.child('dashboard'), agentVersion: AGENT_VERSION, logs: opts.logTail ?? null, sources: opts.dashboardSources ?? {},
        status: () => ({ deviceId: creds!.deviceId, hubId: creds!.hubId, name, hubUrl: config.hub.url, connected: link.connected, inventory, hardware: detected?.inventory ?? null, benchmarks }),
      })).catch((err: Error) => (log.warn('dashboard not started', { reason: err.message }), null))
    : null;

  const sample = createSystemSampler();
  let plan: PlanState = { last: {}, lastFullAt: null, seq: 0 };
  let ticking = false;
  const tick = async () => {
    if (ticking || (!link.connected && !dashboard)) return;
    ticking = true;
    try {
      const metrics = { ...sample(), ...(hardwareSample ? await hardwareSample().catch(() => ({})) : {}) };
      jobs.observe(metrics);
      const now = Date.now();
      dashboard?.telemetry(metrics, now); // every sample, for the charts
      if (!link.connected) return;
      const r = planTelemetry(plan, metrics, now, { fullEveryMs: config.telemetry.fullEverySec * 1000 });
      if (r.message && link.publishTelemetry(r.message)) plan = r.state;
    } finally {
      ticking = false;
    }
  };
  const telemetryTimer = setInterval(() => void tick(), config.telemetry.intervalSec * 1000);
  telemetryTimer.unref();
  // Refresh the inventory now and then (disks fill, memory changes); the next birth carries it.
  const inventoryTimer = setInterval(() => (inventory = basicInventory()), 3_600_000);
  inventoryTimer.unref();

  return {
    get deviceId() {
      return creds!.deviceId;
    },
    async stop() {
      stopped = true;
      clearInterval(telemetryTimer);
      clearInterval(inventoryTimer);
      await dashboard?.stop();
      await jobs.stop();
      await link.stop();
    },
  };
}
