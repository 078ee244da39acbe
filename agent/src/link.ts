// The device's connection to its hub: connect with a retained `offline` Will, publish the retained
// `online` birth, serve RPC on rpc/in, reconnect with exponential backoff and jitter, and say `offline`
// on a clean shutdown (the broker only sends the Will when the connection dies).
import { backoffDelay, connectOnce, endClient, publishAsync, RpcPeer, SosnaError, subscribeAsync, tlsSessions, topics } from '@sosna/protocol';
import type { CallOptions, Codec, DeviceConfig, DeviceOnline, Logger, MqttClient, Params, Result, RpcEndpoint, ServiceSpec, Telemetry } from '@sosna/protocol';
import type { Credentials } from './credentials.js';
import type { CardSeen, HubGate, HubTrust } from './trust/gate.js';
import { tlsFor } from './tls.js';

export interface LinkEvents {
  onConnected?(): void;
  onDisconnected?(): void;
  /** The hub refused our credentials (revoked, or the hub lost them); `attempts` in a row. */
  onRefused?(attempts: number): void;
  /** The trust check of this connection (see trust/gate.ts): trusted, or refused with its reason. */
  onTrust?(trust: HubTrust): void;
  /** The hub's retained desired config for this device (on every connect, and when an operator changes it). */
  onDesiredConfig?(payload: Buffer): void;
  /** The hub's retained mining revenue rates (rig mode; on every connect and when an admin changes them). */
  onMiningRates?(payload: Buffer): void;
}

export class HubLink {
  private client: MqttClient | null = null;
  private attempt = 0;
  private refusals = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  private sessionAt = 0;
  /** TLS sessions kept between reconnects: after a hub restart the device resumes instead of a full handshake. */
  private readonly tlsSessions = tlsSessions();
  private readonly peer: RpcPeer;

  constructor(
    private readonly o: {
      config: DeviceConfig;
      creds: Credentials;
      codec: Codec;
      endpoint: RpcEndpoint;
      log: Logger;
      birth: () => Omit<DeviceOnline, 'at'>;
      events?: LinkEvents;
      /** Checks the hub on every connection; a refused hub gets the reason and nothing else (see trust/gate.ts). */
      gate?: HubGate | null;
    },
  ) {
    const out = topics.device(o.creds.hubId, o.creds.deviceId, 'rpc/out');
    this.peer = new RpcPeer({
      role: 'owner',
      codec: o.codec,
      endpoint: o.endpoint,
      peer: `hub ${o.creds.hubId}`,
      log: o.log,
      send: (bytes) => {
        if (this.client?.connected) this.client.publish(out, Buffer.from(bytes), { qos: 1 });
      },
    });
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): void {
    void this.connect();
  }

  private topic(channel: 'state' | 'telemetry' | 'rpc/in' | 'rpc/out' | 'config'): string {
    return topics.device(this.o.creds.hubId, this.o.creds.deviceId, channel);
  }

  private schedule(): void {
    if (this.stopping || this.timer) return;
    const delay = backoffDelay(this.attempt++, this.o.config.mqtt.reconnectMinMs, this.o.config.mqtt.reconnectMaxMs);
    this.o.log.info('reconnecting', { inMs: delay, attempt: this.attempt });
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }

  private async connect(): Promise<void> {
    if (this.stopping) return;
    const { creds, codec, config, log } = this.o;
    const sessionAt = Date.now();
    let client: MqttClient;
    try {
      client = await connectOnce({
        url: creds.url,
        clientId: creds.deviceId,
        username: creds.username,
        password: creds.password,
        keepaliveSec: config.mqtt.keepaliveSec,
        tls: tlsFor(config, creds.url),
        tlsSessions: this.tlsSessions,
        will: { topic: this.topic('state'), payload: codec.encode({ v: 1, status: 'offline', at: sessionAt, reason: 'will' }), retain: true, qos: 1 },
      });
    } catch (err) {
      const e = err as { code?: string; message: string };
      if (e.code === 'E_UNAUTHORIZED') {
        this.refusals++;
        log.error('the hub refused this device', { reason: e.message, attempts: this.refusals });
        this.o.events?.onRefused?.(this.refusals);
      } else if ((e as { details?: { tls?: boolean } }).details?.tls) log.error(e.message, { url: creds.url });
      else log.warn('cannot connect to the hub', { reason: e.message });
      return this.schedule();
    }
    if (this.stopping) {
      client.end(true);
      return;
    }
    if (this.o.gate && !(await this.vetHub(client, this.o.gate))) return;
    this.client = client;
    this.sessionAt = sessionAt;
    this.peer.invalidate(); // the hub may have restarted with other dispatch maps
    this.attempt = 0;
    this.refusals = 0;
    const configTopic = this.topic('config');
    const ratesTopic = topics.miningRates(creds.hubId);
    client.on('message', (topic, payload) =>
      topic === configTopic ? this.o.events?.onDesiredConfig?.(payload) : topic === ratesTopic ? this.o.events?.onMiningRates?.(payload) : this.peer.receive(payload));
    client.on('close', () => {
      if (this.client !== client) return;
      this.client = null;
      this.peer.failPending('connection to the hub lost');
      client.removeAllListeners('message');
      client.end(true);
      log.warn('connection to the hub lost');
      this.o.events?.onDisconnected?.();
      this.schedule();
    });
    client.on('error', (err) => log.warn('mqtt error', { error: err.message }));
    try {
      await subscribeAsync(client, this.topic('rpc/in'));
      const birth: DeviceOnline = { ...this.o.birth(), at: sessionAt };
      await publishAsync(client, this.topic('state'), codec.encode(birth), { retain: true, qos: 1 });
      if (this.o.events?.onDesiredConfig) await subscribeAsync(client, configTopic);
      if (this.o.events?.onMiningRates) await subscribeAsync(client, ratesTopic);
      log.info('online', { hubId: creds.hubId, deviceId: creds.deviceId });
      this.o.events?.onConnected?.();
    } catch (err) {
      log.warn('could not register with the hub', { error: (err as Error).message });
      client.end(true);
    }
  }

  /**
   * The trust check of a fresh connection, before anything else is sent or received: reads the hub's
   * retained card and asks the gate. Refused: says why on the state topic (retained), disconnects without
   * the Will and reconnects later with backoff (each reconnect checks again). Returns whether to go on.
   */
  private async vetHub(client: MqttClient, gate: HubGate): Promise<boolean> {
    const { creds, codec, log } = this.o;
    const onError = (err: Error) => log.warn('mqtt error', { error: err.message });
    client.on('error', onError);
    try {
      const trust = await gate.vet(creds.hubId, await this.readCard(client, gate.cardTimeoutMs));
      this.o.events?.onTrust?.(trust);
      if (this.stopping || !client.connected) {
        client.end(true);
        if (!this.stopping) this.schedule();
        return false;
      }
      if (trust.state !== 'refused') {
        log.info('hub checked', { hubId: creds.hubId, trust: trust.state, ...(trust.state === 'trusted' && trust.claimable !== null ? { claimable: trust.claimable.toString() } : {}) });
        return true;
      }
      log.error(`refusing hub ${creds.hubId}: ${trust.reason}`);
      const refused = { v: 1, status: 'refused', at: trust.at, reason: trust.reason.slice(0, 2000) };
      await publishAsync(client, this.topic('state'), codec.encode(refused), { retain: true, qos: 1 }).catch(() => {});
      await endClient(client);
      this.schedule();
      return false;
    } finally {
      client.off('error', onError);
    }
  }

  /** The hub's retained card, read on this connection; null when none arrives within `timeoutMs`. */
  private readCard(client: MqttClient, timeoutMs: number): Promise<CardSeen> {
    const topic = topics.announce(this.o.creds.hubId);
    return new Promise((resolve) => {
      const done = (seen: CardSeen) => {
        clearTimeout(timer);
        client.off('message', onMessage);
        client.off('close', onClose);
        if (client.connected) client.unsubscribe(topic);
        resolve(seen);
      };
      const onMessage = (t: string, payload: Buffer) => {
        if (t !== topic) return;
        let value: unknown;
        try {
          value = this.o.codec.decode(payload);
        } catch (err) {
          value = { undecodable: (err as Error).message };
        }
        done({ value });
      };
      const onClose = () => done(null);
      const timer = setTimeout(() => done(null), timeoutMs);
      client.on('message', onMessage);
      client.on('close', onClose);
      subscribeAsync(client, topic).catch(() => done(null));
    });
  }

  /** Calls one of the hub's services for devices (e.g. jobs.update); fails at once while disconnected. */
  call<S extends ServiceSpec, K extends keyof S['methods'] & string>(spec: S, method: K, params: Params<S, K>, opts?: CallOptions): Promise<Result<S, K>> {
    if (!this.client?.connected) return Promise.reject(new SosnaError('E_UNAVAILABLE', 'not connected to the hub'));
    return this.peer.call(spec, method, params, opts);
  }

  /** Sends the birth again (its content changed, e.g. benchmark results arrived). */
  async republish(): Promise<void> {
    const client = this.client;
    if (!client?.connected) return; // the next connection sends the new birth anyway
    const birth: DeviceOnline = { ...this.o.birth(), at: this.sessionAt };
    await publishAsync(client, this.topic('state'), this.o.codec.encode(birth), { retain: true, qos: 1 }).catch(() => {});
  }

  publishTelemetry(t: Telemetry): boolean {
    if (!this.client?.connected) return false;
    this.client.publish(this.topic('telemetry'), Buffer.from(this.o.codec.encode(t)), { qos: 0 });
    return true;
  }

  /** Says `offline` (retained) and disconnects; bounded in time. */
  async stop(timeoutMs = 3000): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    this.peer.close('agent stopping');
    if (!client?.connected) {
      client?.end(true);
      return;
    }
    const bye = publishAsync(client, this.topic('state'), this.o.codec.encode({ v: 1, status: 'offline', at: Date.now(), reason: 'shutdown' }), { retain: true, qos: 1 });
    await Promise.race([bye.catch(() => {}), new Promise((r) => setTimeout(r, timeoutMs))]);
    await endClient(client);
  }
}
