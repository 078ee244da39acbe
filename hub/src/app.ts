// The hub's composition root: the boot order in one place, each service built from explicit dependencies.
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createCodec, credentialsService, parseUsername, createLogger, hubConfigService, isLoopbackHost, parseOrThrow, payoutsService, RpcEndpoint, startMetricsServer } from '@sosna/protocol';
import type { Logger } from '@sosna/protocol';
import { HubConfig } from './config.js';
import type { HubConfigInput } from './config.js';
import { HubEventBus } from './events.js';
import { defaultHubId, loadOrCreateKeyFile, loadOrCreateOwnerKey } from './identity.js';
import { EscrowService } from './escrow/service.js';
import { openSqliteStore } from './store/sqlite.js';
import type { HubStore } from './store/types.js';
import { Authenticator } from './auth/authenticator.js';
import type { SecretVerifier } from './auth/password.js';
import { LoginThrottle } from './auth/throttle.js';
import type { ThrottlePolicy } from './auth/throttle.js';
import { mayPublish, maySubscribe } from './auth/policy.js';
import { startEmbeddedBroker } from './broker/embedded.js';
import type { BrokerHooks, EmbeddedBroker } from './broker/embedded.js';
import { startExternalBroker } from './broker/mosquitto.js';
import type { ExternalBroker } from './broker/mosquitto.js';
import { credentialsHandlers, deviceCredentials } from './provisioning/credentials.js';
import type { DeviceCredentials } from './provisioning/credentials.js';
import { readFileSync } from 'node:fs';
import type { Bus } from './broker/bus.js';
import { startRegistry } from './fleet/registry.js';
import { startDeviceLinks } from './fleet/device-links.js';
import type { DeviceLinks } from './fleet/device-links.js';
import { startProvisioning } from './provisioning/service.js';
import { startConsole } from './console/service.js';
import { requireRole } from './auth/roles.js';
import { startDesiredConfig } from './fleet/desired-config.js';
import { startMiningRates } from './money/mining-rates.js';
import { announce } from './broker/announcer.js';
import { loadOrCreateUpdateKey, startUpdates } from './updates/service.js';
import { startMoney } from './money/service.js';
import { testPauseHooks, testPauseSettlementHooks } from './payouts/test-pause.js';
import { adminServices } from './console/admin-console.js';
import { remoteServices } from './console/remote.js';
import { startJobs } from './jobs/index.js';
import { InputSeeds } from './jobs/input-seeds.js';
import { startReceipts } from './receipts/service.js';
import { checkRingers } from './jobs/trust.js';
import { ChainStakes } from './chain/stakes.js';
import type { DeviceMeta, Scheduler } from './jobs/index.js';
import { VERSION } from './version.js';
import { startAlerts } from './alerts/service.js';
import { createHubMetrics } from './metrics/hub-metrics.js';
import { externalDecisions } from './auth/external.js';
import { startAuthHttpServer } from './broker/http-auth.js';

export interface Hub {
  readonly hubId: string;
  readonly owner: string;
  /** Plain MQTT; null when the hub serves only TLS. */
  readonly mqttPort: number | null;
  readonly wsPort: number | null;
  /** MQTT over TLS and WSS; null when off. */
  readonly mqttsPort: number | null;
  readonly wssPort: number | null;
  /** Prometheus' /metrics listener (hub/src/metrics/); null when off (metrics.port null). */
  readonly metrics: { url: string; port: number } | null;
  /** The HTTP auth endpoint for an external broker (hub/src/broker/http-auth.ts); null when off (authHttp.port null). */
  readonly authHttp: { url: string; port: number } | null;
  /** The CA devices and consoles trust for this hub (PEM and file) and its fingerprint; null without TLS or with a public CA. */
  readonly tls: {
    ca: string | null;
    caFile: string | null;
    fingerprint: string;
    requireClientCert: boolean;
    /** The names the server certificate is valid for (a client must connect by one of them). */
    names: string[];
    /** A client certificate of the hub's own CA (mutual TLS); null with a given certificate. */
    clientCertificate(name: string, existing?: { cert: string; key: string } | null): Promise<{ cert: string; key: string } | null>;
  } | null;
  readonly dataDir: string;
  readonly store: HubStore;
  readonly events: HubEventBus;
  readonly links: DeviceLinks;
  /** The job scheduler (queue, dispatch, verdicts, ledger). */
  readonly jobs: Scheduler;
  /** In-process access to the broker (the hub's own identity: no ACL). */
  readonly bus: Bus;
  /** Device logins issued and revoked while the hub runs, pushed to an external broker (provisioning/credentials.ts). */
  readonly credentials: DeviceCredentials;
  /** The external broker's URL; null with the embedded broker. */
  readonly brokerUrl: string | null;
  connectedClients(): number;
  stop(): Promise<void>;
}

function readSecretFile(file: string, field: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n')[0]!.trim();
  } catch (err) {
    throw new Error(`${field} ${file}: ${(err as Error).message}`);
  }
}

/**
 * An external broker in the embedded broker's shape, so the services and the hub's handle need no branch:
 * no listeners of the hub's own (ports null), nothing to open, and no counts (the broker keeps them: $SYS).
 */
function externalAsEmbedded(ext: ExternalBroker): EmbeddedBroker {
  const zero = { device: 0, operator: 0, provision: 0 };
  return {
    publish: (t, p, o) => ext.publish(t, p, o), subscribe: (f, h) => ext.subscribe(f, h), close: () => ext.close(),
    stats: () => ({ connections: zero, pending: 0, received: 0, receivedBytes: 0, published: 0, refusedPublishes: {}, refusedConnections: {} }),
    mqttPort: null, wsPort: null, mqttsPort: null, wssPort: null,
    connectedClients: () => ext.connectedClients(), open: () => {}, setTicketKeys: () => {},
    disconnect: () => false, // Mosquitto disconnects a deleted login itself
  };
}

/** Plain listeners on a non-loopback address carry passwords and messages in clear: say so loudly. */
function warnPlain(config: HubConfig, log: Logger): void {
  const listens = [config.mqtt.port !== null ? 'MQTT' : null, config.mqtt.wsPort !== null ? 'WebSocket' : null].filter(Boolean);
  if (!listens.length || isLoopbackHost(config.mqtt.host)) return;
  log.warn(
    `PLAIN ${listens.join(' and ')} on ${config.mqtt.host}: device and operator passwords and every message cross the network unencrypted. ` +
      (config.tls.enabled ? 'TLS is on as well: give devices mqtts:// and turn the plain listeners off (--tls-only).' : 'Turn TLS on (--tls) and give devices mqtts://.'),
    { host: config.mqtt.host },
  );
}

export function resolveHubId(store: HubStore, configured: string | undefined, owner: string): string {
  const stored = store.getMeta('hubId');
  if (stored && configured && stored !== configured) {
    throw new Error(`hub id is ${stored} in this data directory; it cannot change to ${configured} (devices address it in their topics)`);
  }
  const id = stored ?? configured ?? defaultHubId(owner);
  if (!stored) store.setMeta('hubId', id);
  return id;
}

/**
 * Starts the hub. `opts.signal` aborted before it is ready (SIGTERM during start-up) stops what was started,
 * the embedded chain (an anvil child process) included, and rejects with the signal's reason.
 */
export async function startHub(
  input: HubConfigInput,
  opts: { log?: Logger; signal?: AbortSignal; verify?: SecretVerifier; loginThrottle?: ThrottlePolicy; configFile?: string } = {},
): Promise<Hub> {
  // opts.configFile: the file the config came from, named in a refusal
  const config = parseOrThrow(HubConfig, input, opts.configFile ? `hub config ${opts.configFile}` : 'hub config'); // names the field, the value's problem and the accepted form
  const log = opts.log ?? createLogger({ level: config.log.level, json: config.log.json, scope: 'hub' });
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const signer = loadOrCreateOwnerKey(dataDir, log);
  const updateKey = loadOrCreateUpdateKey(dataDir, log); // signs agent releases (OTA); its address goes into the card
  const store = openSqliteStore(join(dataDir, 'hub.db'));
  const stops: (() => Promise<void> | void)[] = [() => store.close()];
  const stopAll = async () => {
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch (err) {
        log.error('error while stopping', { error: String(err) });
      }
    }
  };
  const signal = opts.signal;
  /** A start-up step; when the hub was told to stop meanwhile, what is started so far is stopped (below). */
  const step = async <T>(p: Promise<T>, stop?: (v: T) => Promise<void> | void): Promise<T> => {
    const v = await p;
    if (stop) stops.push(() => stop(v));
    signal?.throwIfAborted();
    return v;
  };
  try {
    signal?.throwIfAborted();
    const hubId = resolveHubId(store, config.hubId, signer.address);
    store.markAllOffline(); // nobody is connected before the broker listens
    const codec = createCodec({ maxPayload: config.mqtt.maxPayloadBytes });
    const events = new HubEventBus();
    const scrypt = { N: config.scryptN, r: 8, p: 1 };
    // opts.verify: tests observe the hash work of logins through it; opts.loginThrottle: tests pick the limits
    const auth = new Authenticator(store, {
      scrypt, log: log.child('auth'), verify: opts.verify, throttle: opts.loginThrottle ? new LoginThrottle(opts.loginThrottle) : undefined,
    });
    let dropProvisionSession: (s: string) => void = () => {};

    // TLS material (own CA or given files); the X.509 library loads only when TLS is on
    const hubTls = config.tls.enabled ? await import('./tls/hub-tls.js') : null;
    const tls = hubTls
      ? await hubTls.loadOrCreateHubTls({ dataDir, hubName: config.name, log: log.child('tls'), config: { ...config.tls, names: hubTls.serverNames(config.mqtt.host, config.tls.names) } })
      : null;
    // An external broker (config.broker, --broker): the hub is a privileged client there and opens no
    // listeners; refused at start when the broker cannot be fully used (mosquitto.ts)
    const external = config.broker
      ? await step(startExternalBroker({
          url: config.broker.url, username: config.broker.username,
          password: config.broker.password ?? readSecretFile(config.broker.passwordFile!, 'broker.passwordFile'),
          ca: config.broker.ca ? readSecretFile(config.broker.ca, 'broker.ca') : undefined,
          hubId, log: log.child('broker'),
        }), (b) => b.close())
      : null;
    warnPlain(config, log); // the hub's own listener: the whole broker, or the console's door on an external one
    // The hub's own listeners: the whole broker, or, on an external broker, the console's door only (operators
    // log in here; devices and provisioning go to the external broker, whose logins the hub pushes)
    const listen = (authenticate: BrokerHooks['authenticate']) => step(startEmbeddedBroker({
      host: config.mqtt.host,
      port: config.mqtt.port,
      wsPort: config.mqtt.wsPort,
      ...(tls
        ? { tls: { port: config.tls.port, wsPort: config.tls.wsPort, cert: tls.cert, key: tls.key, clientCa: config.tls.requireClientCert ? tls.ca : null, ticketKeys: tls.ticketKeys } }
        : {}),
      maxPayload: config.mqtt.maxPayloadBytes,
      limits: config.mqtt,
      holdUntilOpen: true, // connections wait (in their sockets) until the services below have subscribed
      log: log.child('broker'),
      hooks: {
        authenticate,
        mayPublish: (session, topic) => mayPublish(session, hubId, topic),
        maySubscribe: (session, filter) => maySubscribe(session, hubId, filter),
        onDisconnect: (session) => {
          if (session.principal.kind === 'provision') dropProvisionSession(session.clientId);
        },
      },
    }), (b) => b.close());
    const operatorsOnly: BrokerHooks['authenticate'] = async (clientId, username, password, address) => {
      if (parseUsername(username)?.kind !== 'operator') {
        log.warn('refused a non-operator login on the console listener: devices connect to the external broker', { clientId, address });
        return null;
      }
      return auth.authenticate(clientId, username, password, address);
    };
    const allLogins: BrokerHooks['authenticate'] = (clientId, username, password, address) => auth.authenticate(clientId, username, password, address);
    const listener: EmbeddedBroker = await listen(external ? operatorsOnly : allLogins);
    const broker: EmbeddedBroker = external ? externalAsEmbedded(external) : listener;
    if (tls && hubTls) {
      // a new session ticket key each day (the old one's tickets then get a full handshake)
      const rotate = setInterval(() => listener.setTicketKeys(tls.renewTicketKeys()), hubTls.TICKET_KEY_MS);
      rotate.unref();
      stops.push(() => clearInterval(rotate));
    }

    // /metrics: built before the registry and the links, which feed it; it listens once the hub is ready (below)
    const metrics = createHubMetrics({ version: VERSION, store, events, broker, payouts: config.chain.mode !== 'off' });
    stops.push(() => metrics.stop());
    const registry = await step(startRegistry({ bus: broker, store, codec, hubId, events, log: log.child('registry'), flushMs: config.devices.telemetryFlushMs }), (r) => r.stop());
    const deviceEndpoint = new RpcEndpoint<DeviceMeta>();
    const links = await step(startDeviceLinks({ bus: broker, codec, hubId, log: log.child('rpc'), registry, store, events, timeoutMs: config.devices.callTimeoutMs, endpoint: deviceEndpoint, observe: (...a) => metrics.observeRpc(...a) }), (l) => l.stop());
    let stakeAddress: string | null = null; // the Stake contract, once the chain is up
    let walletAddress: string | null = null; // set once the chain is up (devices ask for it with their earnings)
    // adaptive verification: ringers checked here (one without a known answer stops the start, named)
    const trustConfig = config.jobs.trust;
    const stakes = new ChainStakes({ jobs: store.jobs, log: log.child('stakes') });
    const trust = trustConfig.enabled
      ? { policy: { ...trustConfig, minStake: BigInt(trustConfig.minStake) }, ringers: checkRingers(trustConfig.ringers, 'jobs.trust.ringers'), stakes }
      : undefined;
    // device keys and run receipts (hub/src/receipts): the hub owner key vouches for each device key
    let getJob: ((jobId: string) => ReturnType<typeof jobs.scheduler.getJob>) | null = null;
    const receipts = startReceipts({ store, hubId, signer, log: log.child('receipts'), deviceEndpoint, getJob: (id) => getJob?.(id) });
    const inputSeeds = new InputSeeds({ dir: join(dataDir, 'input-seeds'), config: config.jobs.inputSeed, log: log.child('input-seeds') });
    const jobs = startJobs({ store, links, registry, events, log: log.child('jobs'), config: config.jobs, deviceEndpoint, wallet: () => walletAddress, holdClocksUntilReady: true, trust, stakeContract: () => stakeAddress, onReceipt: receipts.onReceipt, inputSeeds });
    getJob = (id) => jobs.scheduler.getJob(id);
    stops.push(() => jobs.stop());
    jobs.scheduler.feed.on('job', (job) => metrics.observeJob(job));
    let card: Awaited<ReturnType<typeof announce>> | null = null;
    const updates = startUpdates({ dataDir, store, links, registry, events, log: log.child('updates'), updateKey, card: () => card, deviceEndpoint });
    stops.push(() => updates.stop());
    const desired = await step(startDesiredConfig({ bus: broker, codec, hubId, store, registry, events, log: log.child('config') }));
    deviceEndpoint.add(hubConfigService, desired.deviceHandlers);
    const miningRates = await step(startMiningRates({ bus: broker, codec, hubId, dataDir, log: log.child('mining') })); // rig mode's revenue rates, retained
    const provisioning = await step(startProvisioning({ bus: broker, codec, hubId, log: log.child('provision'), store, auth, events, registerKey: (id, key) => receipts.keys.register(id, key), issued: external ? (id, pw) => external.putDevice(id, pw) : undefined }), (p) => p.stop());
    dropProvisionSession = provisioning.drop;
    const host = config.mqtt.host === '0.0.0.0' || config.mqtt.host === '::' ? hostname() : config.mqtt.host;
    const endpoints = config.publicUrls.length
      ? config.publicUrls
      : external ? [external.url] : [
          ...(broker.mqttsPort !== null ? [`mqtts://${host}:${broker.mqttsPort}`] : []),
          ...(broker.wssPort !== null ? [`wss://${host}:${broker.wssPort}`] : []),
          ...(broker.mqttPort !== null ? [`mqtt://${host}:${broker.mqttPort}`] : []),
          ...(broker.wsPort !== null ? [`ws://${host}:${broker.wsPort}`] : []),
        ];

    // Money: the chain (embedded by default), payouts of the earnings ledger, the operators' payouts service.
    const money =
      config.chain.mode === 'off'
        ? null
        : await step(startMoney({
            dataDir, ownerKey: signer.privateKey, endpoint: endpoints[0] ?? '', payoutIntervalSec: config.chain.payoutIntervalSec,
            rpcUrl: config.chain.mode === 'rpc' ? config.chain.rpcUrl : undefined, contractsFile: config.chain.contractsFile,
            ...(trust ? { devStake: { minStake: trust.policy.minStake, unbondingSec: 7n * 86_400n } } : {}),
            store: store.payouts, log: log.child('money'), hooks: testPauseHooks(process.env, log.child('money')), // test-only fault points
            signal,
          }), (m) => m.stop());
    walletAddress = money?.chain.contracts.wallet ?? null;
    // Buyers' escrow: jobs wait for their deposit (or credit); settlements go through an outbox signed by the
    // hub's settlement key (escrow.key), the payee of this hub's escrows.
    const escrowKey = money?.chain.contracts.escrow ? loadOrCreateKeyFile(dataDir, 'escrow.key', 'escrow settlement key', log).connect(money.chain.provider) : null;
    if (escrowKey && money && config.chain.mode !== 'rpc' && (await money.chain.provider.getBalance(escrowKey.address)) < 10n ** 17n) {
      const dev = await money.chain.provider.getSigner(0); // the embedded chain's dev account pays the settlement key's gas
      await (await dev.sendTransaction({ to: escrowKey.address, value: 10n ** 19n })).wait();
    }
    if (escrowKey && config.chain.mode === 'rpc' && (await money!.chain.provider.getBalance(escrowKey.address)) === 0n) {
      log.warn('the escrow settlement key has no gas: send it some ether or settlements will not be sent', { address: escrowKey.address });
    }
    const escrow = new EscrowService({
      store, scheduler: jobs.scheduler, log: log.child('escrow'), signer: escrowKey,
      chain: money && escrowKey ? { provider: money.chain.provider, rpcUrl: money.chain.rpcUrl, chainId: money.chain.chainId, token: money.chain.contracts.token, escrow: money.chain.contracts.escrow! } : null,
      hooks: testPauseSettlementHooks(process.env, log.child('escrow')), // test-only fault points
      pollMs: config.chain.mode === 'off' ? 3000 : 2000,
    });
    await step(escrow.start());
    stops.push(() => escrow.stop());
    const stakeContract = trustConfig.stakeContract ?? money?.chain.contracts.stake;
    stakeAddress = trust && money ? stakeContract ?? null : null;
    if (trust && stakeContract) {
      if (!money) log.warn('jobs.trust.stakeContract needs the chain (chain.mode is off): no stakes');
      else {
        const owner = money.chain.owner;
        stakes.attach(stakeContract, owner, owner.address);
        const refresh = (id: string) =>
          void stakes.refresh(jobs.scheduler.ownerOf(id)).then(
            () => jobs.scheduler.refreshView(id),
            (err: unknown) => log.warn('stake not read', { deviceId: id, error: (err as Error).message }),
          );
        events.on('online', refresh);
        const timer = setInterval(() => store.listDevices({ online: true }).forEach((d) => refresh(d.id)), 60_000);
        timer.unref();
        stops.push(() => {
          clearInterval(timer);
          events.off('online', refresh);
          return stakes.settled();
        });
        for (const d of store.listDevices({ online: true })) refresh(d.id);
      }
    }

    const alerts = startAlerts({
      config: config.alerts, hubId, store, isOnline: (id) => registry.isOnline(id), log: log.child('alerts'),
      wallet: money ? async () => {
        const c = await money.handlers.chain({}, null as never); // reads the chain; no caller context needed
        return { owed: BigInt(c.owed), available: BigInt(c.available) };
      } : undefined,
    });
    stops.push(() => alerts.stop());

    const credentials = deviceCredentials({ store, external, disconnect: (id) => broker.disconnect(id), log: log.child('credentials') });
    const console = await step(startConsole({
      bus: listener, codec, hubId, name: config.name, owner: signer.address, version: VERSION, connections: () => broker.connectedClients(),
      log: log.child('console'), store, registry, links, desired, events, jobs: jobs.scheduler,
      extend: (endpoint) => {
        jobs.consoleServices(endpoint);
        receipts.consoleServices(endpoint);
        updates.consoleServices(endpoint);
        alerts.consoleServices(endpoint);
        miningRates.consoleServices(endpoint);
        adminServices(endpoint, { store, log: log.child('admin'), scrypt }); // operator passwords at the configured cost
        endpoint.add(credentialsService, credentialsHandlers(credentials, { hubId, brokerUrl: external?.url ?? null, log: log.child('credentials') }));
        remoteServices(endpoint, { store, links, log: log.child('remote') }); // shell, exec, agent logs
        escrow.consoleServices(endpoint); // buyers: where to deposit, a job's funding; admins: credit
        if (money) {
          endpoint.add(payoutsService, {
            ...money.handlers,
            run: (params, ctx) => {
              requireRole(ctx.meta, 'admin', 'sending payouts');
              return money.handlers.run(params, ctx);
            },
          });
        }
      },
    }), (c) => c.stop());

    card = await step(announce({ bus: broker, codec, hubId, name: config.name, endpoints, signer, wallet: money?.chain.contracts.wallet, chainId: money?.chain.chainId, updateKey: updateKey.address, prices: config.prices }));

    const chainInfo = money
      ? { rpcUrl: money.chain.rpcUrl, chainId: money.chain.chainId, wallet: money.chain.contracts.wallet, whitelist: money.chain.contracts.whitelist, token: money.chain.contracts.token, escrow: money.chain.contracts.escrow ?? null, escrowPayee: escrowKey?.address ?? null }
      : null;
    const metricsServer = config.metrics.port === null
      ? null
      : await step(startMetricsServer({ host: config.metrics.host, port: config.metrics.port, scrape: () => metrics.scrape(), setting: 'metrics.port (--metrics-port)', onError: (err) => log.error('metrics scrape failed', { error: err.message }) }), (m) => m.close());
    const authHttp = config.authHttp.port === null
      ? null
      : await step(startAuthHttpServer({
          host: config.authHttp.host, port: config.authHttp.port, token: config.authHttp.token ?? '', setting: 'authHttp.port (--auth-http-port)',
          decisions: externalDecisions({ auth, store, hubId }), log: log.child('auth-http'),
          maxPublishBody: Math.ceil((config.mqtt.maxPayloadBytes * 4) / 3) + 64 * 1024, // VerneMQ's auth_on_publish: the payload, base64
        }), (a) => a.close());
    const runtime = join(dataDir, 'runtime.json');
    writeFileSync(`${runtime}.tmp`, JSON.stringify({ pid: process.pid, hubId, owner: signer.address, mqttPort: listener.mqttPort, wsPort: listener.wsPort, mqttsPort: listener.mqttsPort, wssPort: listener.wssPort, metricsPort: metricsServer?.port ?? null, metricsUrl: metricsServer?.url ?? null, authHttpPort: authHttp?.port ?? null, authHttpUrl: authHttp?.url ?? null, caFile: tls?.caFile ?? null, endpoints, chain: chainInfo }, null, 2));
    renameSync(`${runtime}.tmp`, runtime);
    // devices can reconnect and renew only now (the chain, payout reconciliation and the card took their
    // time): the scheduler's lease and offline-grace clocks start here, not when it was built
    jobs.scheduler.ready();
    listener.open();
    log.info('hub ready', { hubId, mqtt: listener.mqttPort ?? 'off', ws: listener.wsPort ?? 'off', mqtts: listener.mqttsPort ?? 'off', wss: listener.wssPort ?? 'off', ...(external ? { devicesOn: external.url } : {}), metrics: metricsServer?.url ?? 'off', authHttp: authHttp?.url ?? 'off', owner: signer.address, data: dataDir });

    return {
      hubId, owner: signer.address, mqttPort: listener.mqttPort, wsPort: listener.wsPort, mqttsPort: listener.mqttsPort, wssPort: listener.wssPort,
      metrics: metricsServer ? { url: metricsServer.url, port: metricsServer.port } : null,
      authHttp: authHttp ? { url: authHttp.url, port: authHttp.port } : null,
      tls: tls ? { ca: tls.ca, caFile: tls.caFile, fingerprint: tls.fingerprint, requireClientCert: config.tls.requireClientCert, names: tls.names, clientCertificate: tls.clientCertificate } : null, dataDir, store, events, links, jobs: jobs.scheduler, bus: broker,
      credentials, brokerUrl: external?.url ?? null,
      connectedClients: () => broker.connectedClients(),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
