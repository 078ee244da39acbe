// The agent's boot order, in one place:
//   config -> state directory -> inventory -> credentials (provision with the fleet key if needed)
//   -> container engine and jobs (runs of an earlier process resume) -> RPC services
//   -> hub link (Will, birth, reconnects) -> local dashboard -> telemetry loop.
import { hostname } from 'node:os';
import { agentSystemService, createCodec, deviceEarningsService, deviceJobsService, RpcEndpoint, startMetricsServer } from '@sosna/protocol';
import type { BasicInventory, DashboardInfo, DeviceConfig, Logger } from '@sosna/protocol';
import { backoffDelay, deviceRigService, MiningRates } from '@sosna/protocol';
import { adoptCredentialsBesideConfig, Credentials, CREDENTIALS_FILE } from './credentials.js';
import { basicInventory } from './inventory.js';
import { HubLink } from './link.js';
import { loadOrCreateDeviceKey } from './device-key.js';
import { checkTlsConfig } from './tls.js';
import { hubGateFor, trustView } from './trust/gate.js';
import { chooseAndRecord, configForHub, hubOptions, optionAt, recordedChoice } from './trust/choose.js';
import type { HubChoiceRecord } from './trust/choose.js';
import { jsonRpcReader } from './trust/rpc.js';
import type { HubTrust } from './trust/gate.js';
import { provision } from './provision.js';
import { systemHandlers } from './services/system.js';
import { StateStore } from './state.js';
import { createSystemSampler, planTelemetry } from './telemetry.js';
import type { PlanState } from './telemetry.js';
import { AGENT_VERSION } from './version.js';
import type { DetectedHardware } from './detect-child.js';
import { BENCHMARK_FILE, BenchmarkCache, cachedResults, hardwareFingerprint } from './benchmarks/cache.js';
import { connectEngine, JobManager, noEngineReason } from './jobs/index.js';
import { deviceUpdateService, hubDeviceKeyService } from '@sosna/protocol';
import { Updater } from './update/manager.js';
import type { DashboardSources, LogTail } from './dashboard/index.js';
import { hubConfigService } from '@sosna/protocol';
import { DesiredConfigApplier } from './desired-config.js';
import { journalSource, remoteHandlers } from './remote/service.js';
import { deviceRemoteService } from '@sosna/protocol';
import { dashboardFeeds } from './dashboard/feeds.js';
import { rebootCommand, runLater, systemdRuns } from './reboot.js';
import { z } from 'zod';
import type { MiningRig, ProfitSwitch, RigLedger } from './mining/index.js';
import type { RigGpu } from './mining/index.js';
import { RunGpus } from './mining/run-gpus.js';

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
  /** Ends the process so that the service manager starts it again (into an updated bundle); without it updates are refused. */
  restart?: (reason: string) => void;
}

export async function startAgent(config: DeviceConfig, log: Logger, opts: AgentOptions = {}): Promise<Agent> {
  const state = new StateStore(config.stateDir);
  checkTlsConfig(config, log); // a CA or client certificate that cannot be read fails now, with the field
  adoptCredentialsBesideConfig(opts.configPath, state, log); // pre-issued by `sosna provision fleet --credentials`
  const name = config.name ?? hostname();
  // The device key (device-key.ts): signs run receipts; its public half is registered with the hub.
  const deviceKey = loadOrCreateDeviceKey(state, log);
  let stopped = false;
  let inventory: BasicInventory = basicInventory();
  const detecting = opts.detect ? opts.detect().catch(() => null) : Promise.resolve(null);

  const runProvision: Provisioner = opts.provision ?? (async () => void (await provision({ config, state, name, log, publicKey: deviceKey.publicKey })));
  // Several hubs configured (trust/choose.ts): before provisioning, survey and rank them and join the best;
  // move to another acceptable one when the current hub fails the trust check on a reconnect.
  const options = hubOptions(config);
  const survey = config.hubs.length ? { config, state, log: log.child('hubs'), reader: config.chain.rpcUrl && config.chain.whitelist ? jsonRpcReader(config.chain.rpcUrl) : null } : null;
  let hubChoice: HubChoiceRecord | null = survey ? (recordedChoice(config, state)?.record ?? null) : null;
  const provisionBest: Provisioner = survey
    ? async () => {
        const record = await chooseAndRecord(options, 'first provisioning', survey);
        if (!record) throw new Error(`none of the ${options.length} configured hubs is acceptable`);
        hubChoice = record;
        await runProvision();
      }
    : runProvision;
  let creds = await obtainCredentials(config, state, provisionBest, log, () => stopped);
  if (!creds) throw new Error('stopped before provisioning finished');
  // The identity belongs to the hub id; the config's URL says where that hub is now (it may have moved).
  if (!optionAt(config, creds.url)) {
    log.info('hub URL changed since provisioning; using the configured one', { provisioned: creds.url, config: config.hub.url });
    creds = { ...creds, url: config.hub.url };
  }

  // The owner prefers another configured hub (config `hubPreference`, e.g. set on the dashboard; it takes
  // effect at start): survey them and move there when that hub passes the checks; else stay where it is.
  const preferred = config.hubPreference;
  if (survey && preferred && preferred !== 'best' && preferred !== creds.url && optionAt(config, preferred)) {
    const record = await chooseAndRecord(options, `hub preference ${preferred}`, survey);
    if (record) hubChoice = record;
    if (record?.url === preferred) {
      log.warn(`moving to the preferred hub ${record.hubId}`, { from: creds.url, url: preferred });
      state.remove(CREDENTIALS_FILE);
      creds = await obtainCredentials(config, state, runProvision, log, () => stopped);
      if (!creds) throw new Error('stopped before provisioning finished');
    } else log.warn(`staying on hub ${creds.hubId}: the preferred hub ${preferred} is not acceptable`, { reasons: record?.preferred?.reasons ?? [] });
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
  // Why the device runs no jobs (null: it can), for the dashboard's Jobs page.
  let jobsUnavailable: string | null = config.jobs.enabled ? null : "jobs are off in this device's config (jobs.enabled)";
  const engine = config.jobs.enabled
    ? await connectEngine(config.jobs.dockerHost).catch((err: Error) => {
        jobsUnavailable = noEngineReason(config.jobs.dockerHost, process.env, err.message);
        log.warn('no container engine: this device runs no jobs', { reason: jobsUnavailable });
        return null;
      })
    : null;
  if (engine) log.info('container engine', { engine: engine.name, version: engine.version, api: engine.apiVersion, at: engine.endpoint });
  let link: HubLink;
  // What the dashboard's Jobs and Earnings pages show (runs as the manager reports them, the hub's ledger, the chain).
  const feeds = config.dashboard.enabled
    ? dashboardFeeds({ config, state, log: log.child('dashboard'), hubId: () => creds!.hubId, connected: () => link?.connected ?? false, mine: () => link.call(deviceEarningsService, 'mine', {}, { timeoutMs: 5000 }) })
    : null;
  // Rig mode (mining/, loaded only with a flight sheet): the owner's miner runs on the GPUs that jobs do not
  // have. A flight sheet that does not fit this device (no such program, GPU, power limit) is refused with
  // the field and the reason, and the agent runs on without mining.
  const detectedGpus = ((detected?.inventory.gpus as RigGpu[] | undefined) ?? []);
  let rig: MiningRig | null = null;
  if (config.mining?.enabled) {
    const { MiningRig: Rig, FlightSheetError } = await import('./mining/index.js');
    try {
      rig = new Rig({ sheet: config.mining, gpus: detectedGpus, log: log.child('mining'), worker: name.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'rig' });
      rig.start();
    } catch (err) {
      if (!(err instanceof FlightSheetError)) throw err;
      for (const e of err.errors) log.error(`flight sheet refused: ${e}`);
    }
  }
  // GPUs jobs hold: the ones the rig placed the run on (ProfitSwitch.place: the engine gets those driver ids),
  // else the engine's first N (by the driver's index); those stop mining while such a run is assigned,
  // pulling or running, and mine again after.
  let jobsRef: { gpusOf(id: string): number[] | undefined } | null = null;
  const runGpus = new RunGpus({ gpus: detectedGpus, gpusOf: (id) => jobsRef?.gpusOf(id), onChange: (held) => void rig?.setJobGpus(held) });
  const jobGpus = () => runGpus.jobGpus();
  const rigEvents = { update: (job: Parameters<RunGpus['update']>[0], report: { state: string }) => runGpus.update(job, report) };
  // Rig watchdog (mining/watchdog.ts): low hashrate restarts the miner, then reboots (rate-limited across
  // reboots: the times are kept in the state directory); a faulty GPU leaves mining (the job manager already
  // reports the device unhealthy for it, and the hub's gpu.lost alert rule fires).
  let gpusOut: number[] = []; // mining GPUs the watchdog took out (faulty): no mining, no offer to jobs
  const watchdogStep = rig && config.mining ? await import('./mining/index.js').then(({ planWatchdog, initialWatchdog }) => {
    const w = config.mining!.watchdog;
    const Reboots = z.object({ reboots: z.array(z.number()).max(100) });
    let wd = initialWatchdog(state.read('watchdog.json', Reboots)?.reboots ?? []);
    const r = rig!;
    return (metrics: Record<string, number>) => {
      const stats = r.latest();
      const plan = planWatchdog(wd, {
        now: Date.now(), sheetGpus: config.mining!.gpus, metrics, minerWanted: r.wanted, jobGpus: jobGpus(),
        hashrate: stats && Date.now() - stats.at < 3 * config.mining!.statsIntervalSec * 1000 ? (stats.stats.hashrate['10s'] ?? stats.stats.hashrate['60s'] ?? null) : null,
      }, { ...(w.minHashrateHs !== undefined ? { minHashrateHs: w.minHashrateHs } : {}), lowForMs: w.lowForSec * 1000, restartsBeforeReboot: w.restartsBeforeReboot, reboot: w.reboot && !config.system.rebootDisabled, rebootMinIntervalMs: w.rebootMinIntervalSec * 1000, maxRebootsPerDay: w.maxRebootsPerDay });
      const before = wd.out.join(',');
      wd = plan.state;
      for (const a of plan.actions) {
        if (a.kind === 'gpu-out') log.error(`mining watchdog: ${a.reason}; taken out of mining`, { gpu: a.gpu });
        else if (a.kind === 'gpu-back') log.info('mining watchdog: GPU is fine again; back to mining', { gpu: a.gpu });
        else if (a.kind === 'restart-miner') (log.warn(`mining watchdog: restarting the miner: ${a.reason}`), void r.restartMiner());
        else if (a.kind === 'reboot-refused') log.error(`mining watchdog: ${a.reason}`);
        else {
          state.write('watchdog.json', { reboots: wd.reboots }); // before the reboot: the limit holds across it
          const argv = rebootCommand(config.system.rebootCommand, { systemd: systemdRuns() });
          log.error(`mining watchdog: rebooting the rig: ${a.reason}`, { command: argv.join(' ') });
          runLater(argv, 1000, (msg) => log.error('reboot command failed', { reason: msg }));
        }
      }
      gpusOut = wd.out;
      if (wd.out.join(',') !== before) void r.setFaultyGpus(wd.out);
    };
  }) : null;
  // Profit switching (mining/profit.ts): mining's worth per GPU against the runs that want GPUs; with
  // profit.askAtLeastMining the ask follows mining and a run that pays less is refused.
  let profit: ProfitSwitch | null = null;
  let ledger: RigLedger | null = null;
  if (rig && config.mining) {
    const { ProfitSwitch: Profit, RigLedger } = await import('./mining/index.js');
    const r = rig;
    profit = new Profit({ sheet: config.mining, askPerSec: BigInt(config.jobs.askPerSec), gpus: detectedGpus, hashrate: (i) => r.gpuHashrate(i), jobGpus, faulty: () => gpusOut });
    ledger = new RigLedger({ stateDir: config.stateDir }); // earnings over time, durable in the state directory
  }
  const admitRun = (job: Parameters<ProfitSwitch['admit']>[0]) => {
    const why = profit!.admit(job);
    if (why) ledger?.refused(job, why);
    return why;
  };
  const jobs = new JobManager({
    // a getter: after a move to another hub (trust/choose.ts) the device has that hub's id
    config: config.jobs, stateDir: config.stateDir, get deviceId() { return creds!.deviceId; }, engine, log: log.child('jobs'),
    hub: { connected: () => link?.connected ?? false, call: (spec, method, params, o) => link.call(spec, method, params, o) },
    ...(profit ? { admit: admitRun, placeGpus: (job: Parameters<ProfitSwitch['place']>[0]) => profit!.place(job), askPerSec: () => profit!.ask() } : {}),
    sign: (receipt) => deviceKey.sign(receipt),
    events: {
      update: (job, report) => (rigEvents.update(job, report), feeds?.jobs.update(job, report)),
      log: (id, piece) => feeds?.jobs.log(id, piece),
    },
  });
  jobsRef = jobs; // rig mode reads where each run was placed
  // Agent updates over the air (update/): offers, download, switch, health and rollback reports.
  const updater = new Updater({
    stateDir: config.stateDir, hubId: () => creds!.hubId, running: AGENT_VERSION, pinnedOwner: config.hub.owner, maxPayloadBytes: config.rpc.maxPayloadBytes,
    log: log.child('update'), restart: opts.restart, hub: { connected: () => link?.connected ?? false, call: (spec, method, params, o) => link.call(spec, method, params, o) },
  });
  const system = systemHandlers({ get deviceId() { return creds!.deviceId; }, name, inventory: () => inventory, system: config.system, log: log.child('system') });
  const endpoint = new RpcEndpoint()
    .add(agentSystemService, system)
    .add(deviceJobsService, jobs.handlers())
    .add(deviceUpdateService, updater.handlers());
  // Remote shell (off unless the owner turns it on), exec in a job's container, the agent's log (remote/).
  const remote = remoteHandlers({
    deviceId: () => creds!.deviceId, config: config.remoteShell, bytesPerSec: config.jobs.logBytesPerSec, configPath: opts.configPath ?? null, log: log.child('remote'),
    engine, containerOf: (runId) => jobs.containerOf(runId), logTail: opts.logTail ?? null, journal: journalSource(),
  });
  endpoint.add(deviceRemoteService, remote);
  if (ledger) {
    const l = ledger;
    endpoint.add(deviceRigService, { earnings: ({ limit }) => l.report(limit ?? 60) });
  }

  let benchmarks: Record<string, number> | null = null;
  // The hub's retained desired config: written by the dashboard's settings writer (loaded on first use).
  const desired = new DesiredConfigApplier({
    settings: () => import('./dashboard/settings.js').then(({ SettingsStore }) => new SettingsStore({ path: opts.configPath ?? null })),
    state, log: log.child('config'), report: (r) => link.call(hubConfigService, 'report', r),
  });
  // The hub is checked on every connection (trust/gate.ts); the last verdict is on the dashboard.
  // The config as it applies to the hub these credentials belong to (its pinned owner, its key).
  const configFor = (c: Credentials) => (survey ? configForHub(config, optionAt(config, c.url) ?? options[0]!) : config);
  let trust: HubTrust | null = null;
  // The local dashboard's port (and HTTPS certificate fingerprint) for the hub's inventory, once it listens.
  let dashboardInfo: DashboardInfo | null = null;
  let moving = false;
  let surveyedAt = 0;
  /** For /metrics (config `metrics`): connections to the hub so far and the latest telemetry sample. */
  let connects = 0;
  let lastSample: { at: number; values: Record<string, number> } | null = null;
  /** The current hub was refused: survey every configured hub (at most every 15 s) and join the best acceptable other one. */
  const moveFrom = async (refused: Extract<HubTrust, { state: 'refused' }>) => {
    if (!survey || moving || stopped || Date.now() - surveyedAt < 15_000) return;
    moving = true;
    surveyedAt = Date.now();
    try {
      const record = await chooseAndRecord(options, `hub ${refused.hubId} refused: ${refused.reason}`, survey);
      if (!record || stopped) return;
      hubChoice = record;
      if (record.url === creds!.url) return; // acceptable again by now: the link's next reconnect joins it
      log.warn(`moving from hub ${refused.hubId} to hub ${record.hubId}`, { reason: refused.reason, url: record.url });
      await link.stop();
      state.remove(CREDENTIALS_FILE);
      const fresh = await obtainCredentials(config, state, runProvision, log, () => stopped);
      if (fresh && !stopped) {
        creds = fresh;
        link = makeLink(fresh);
        link.start();
      }
    } finally {
      moving = false;
    }
  };
  /** Registers the device key with the hub (idempotent there); the hub refuses a key other than the one it has. */
  const registerKey = async () => {
    try {
      const r = await link.call(hubDeviceKeyService, 'register', { publicKey: deviceKey.publicKey }, { timeoutMs: 10_000 });
      if (r.status === 'registered') log.info('device key registered with the hub', { publicKey: deviceKey.publicKey });
    } catch (err) {
      log.error('the hub did not take the device key: receipts of this device will be refused', { publicKey: deviceKey.publicKey, error: (err as Error).message });
    }
  };
  const makeLink = (c: Credentials) =>
    new HubLink({
      config: configFor(c), creds: c, codec, endpoint, log, gate: hubGateFor(configFor(c)),
      birth: () => ({
        v: 1, status: 'online', agentVersion: AGENT_VERSION, name, inventory,
        ...(detected ? { hardware: detected.inventory, profiles: detected.profiles?.matches.slice(0, 1200) } : {}),
        ...(benchmarks ? { benchmarks } : {}),
        ...(config.owner ? { owner: config.owner } : {}),
        ...(dashboardInfo ? { dashboard: dashboardInfo } : {}),
        jobs: jobs.capability(),
      }),
      events: {
        onTrust: (t) => {
          trust = t;
          if (t.state === 'refused') void moveFrom(t);
        },
        // the key first, so that the hub can check the receipts in the reports that follow
        onConnected: () => (connects++, void registerKey().finally(() => jobs.onConnected()), void updater.onConnected()),
        onDesiredConfig: (payload) => void desired.receive((() => { try { return codec.decode(payload); } catch { return undefined; } })()),
        // rig mode: the hub's revenue rates (retained), checked at the boundary; the owner's own take precedence
        ...(profit ? { onMiningRates: (payload: Buffer) => {
          let value: unknown;
          try { value = codec.decode(payload); } catch (err) { value = { undecodable: (err as Error).message }; }
          const r = MiningRates.safeParse(value);
          if (!r.success) return log.warn('mining: the hub\'s rates refused', { reason: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') });
          profit!.setHubRates(r.data.rates);
          const mine = r.data.rates[config.mining!.algorithm];
          log.info('mining: hub rates received', { algorithm: config.mining!.algorithm, weiPerMh: mine?.weiPerMh ?? 'none', ...(mine ? { setAt: new Date(mine.at).toISOString() } : {}) });
        } } : {}),
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
        config, configPath: opts.configPath ?? null, log: log.child('dashboard'), agentVersion: AGENT_VERSION, logs: opts.logTail ?? null, updateRefused: () => updater.lastRefused, sources: { ...feeds?.sources, jobsUnavailable: () => jobsUnavailable, ...(ledger ? { rigEarnings: () => ledger!.report(60) } : {}), ...opts.dashboardSources }, jobsFeed: feeds?.jobs ?? null,
        status: () => ({ deviceId: creds!.deviceId, hubId: creds!.hubId, name, hubUrl: creds!.url, connected: link.connected, inventory, hardware: detected?.inventory ?? null, benchmarks, hubTrust: trust ? trustView(trust) : null, hubChoice }),
      })).catch((err: Error) => (log.warn('dashboard not started', { reason: err.message }), null))
    : null;
  if (dashboard) {
    dashboardInfo = { port: dashboard.port, https: dashboard.certSha256 !== null, ...(dashboard.certSha256 ? { certSha256: dashboard.certSha256 } : {}) };
    void link.republish(); // a birth sent before the dashboard listened lacked it
  }

  // Prometheus' /metrics (metrics.ts, loaded only when the owner turns it on); like the dashboard, if it cannot
  // listen (port taken) the agent runs on without it and says why.
  const metricsServer = config.metrics.enabled
    ? await import('./metrics.js').then(async ({ createAgentMetrics }) => {
        const m = createAgentMetrics({
          version: AGENT_VERSION, sample: () => lastSample, connected: () => link.connected, connects: () => connects,
          runs: () => jobs.active(), maxJobs: engine ? config.jobs.maxJobs : 0,
        });
        const server = await startMetricsServer({ host: config.metrics.host, port: config.metrics.port, scrape: m.scrape, setting: 'metrics.port', onError: (err) => log.warn('metrics scrape failed', { error: err.message }) });
        log.info(`metrics on ${server.url}`, { url: server.url });
        return { server, stop: async () => (await server.close(), m.stop()) };
      }).catch((err: Error) => (log.warn('metrics not started', { reason: err.message }), null))
    : null;

  const sample = createSystemSampler();
  let plan: PlanState = { last: {}, lastFullAt: null, seq: 0 };
  let ticking = false;
  const tick = async () => {
    if (ticking || (!link.connected && !dashboard && !metricsServer && !rig)) return; // a rig's watchdog runs offline too
    ticking = true;
    try {
      const metrics: Record<string, number> = { ...sample(), ...(hardwareSample ? await hardwareSample().catch(() => ({})) : {}), ...(rig ? rig.metrics() : {}) };
      jobs.observe(metrics);
      watchdogStep?.(metrics);
      if (profit) {
        const prev = profit.latest();
        const plan = profit.observe(metrics);
        ledger?.observe(plan, runGpus.computePerSec());
        if (prev && plan.askPerSec !== prev.askPerSec) void link.republish(); // the hub matches on the birth's ask
        if (plan.stale && !prev?.stale) log.warn(`mining: no fresh revenue rate for ${config.mining!.algorithm} (mining.profit.revenueWeiPerMh, or the hub's older than mining.profit.rateMaxAgeSec): mining keeps no job away`);
        if (!plan.stale && prev?.stale) log.info(`mining: revenue rate for ${config.mining!.algorithm} is fresh again`, { source: profit.rate()?.source });
        // flagged for the hub, the console and the dashboard: 1 = the planner has no fresh rate
        const id = config.mining!.miner.id;
        metrics[`miner.${id}.rateStale`] = plan.stale ? 1 : 0;
        for (const [k, v] of Object.entries(profit.rateMetrics())) metrics[`miner.${id}.${k}`] = v;
      }
      const now = Date.now();
      lastSample = { at: now, values: metrics };
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
      system.stop(); // an LED blinking for identify goes back to how it was
      remote.stop(); // open remote shells end
      await dashboard?.stop();
      await metricsServer?.stop();
      await jobs.stop();
      await rig?.stop(); // the miner is this agent's child: it goes with it
      ledger?.flush(); // the open interval survives the restart
      await link.stop();
    },
  };
}
