// MQTT conventions every sosna client shares: MQTT 3.1.1, clean sessions, TCP_NODELAY (without it a
// QoS 1 round trip waits on Nagle's algorithm, ~90 ms), clear errors for refused connections, and
// reconnect delays with exponential backoff and jitter.
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { SosnaError } from './errors.js';
import { fetchPinnedCa, tlsFailure } from './tls.js';
import type { TlsMaterial, TlsSessions } from './tls.js';

export type { MqttClient } from 'mqtt';

export interface ConnectOptions {
  url: string;
  clientId: string;
  username: string;
  password: string;
  keepaliveSec?: number;
  will?: { topic: string; payload: Uint8Array; retain: boolean; qos: 0 | 1 };
  connectTimeoutMs?: number;
  /** For mqtts:// and wss://: the CA to trust (else the system's) and a client certificate (mutual TLS). */
  tls?: TlsMaterial;
  /** Where the client keeps its TLS sessions between connections (resumed on the next mqtts:// connect). */
  tlsSessions?: TlsSessions;
}

/** Delay before reconnect attempt `attempt` (0-based): exponential up to max, "equal jitter". Pure. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, rand: () => number = Math.random): number {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + (rand() * cap) / 2);
}

export function noDelay(client: MqttClient): void {
  const stream = client.stream as unknown as { setNoDelay?: (v: boolean) => void; socket?: { setNoDelay?: (v: boolean) => void } };
  stream.setNoDelay?.(true);
  stream.socket?.setNoDelay?.(true);
}

const CONNACK: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

/** Maps an mqtt.js connection error to a SosnaError with a message a person can act on. */
export function connectError(err: unknown, url: string): SosnaError {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'number' && CONNACK[code]) {
    return new SosnaError(code === 4 || code === 5 ? 'E_UNAUTHORIZED' : 'E_UNAVAILABLE', `${url} refused the connection: ${CONNACK[code]}`);
  }
  const tls = tlsFailure(err);
  if (tls) return new SosnaError('E_UNAVAILABLE', `refusing the hub at ${url}: TLS: ${tls}`, { tls: true });
  const msg = err instanceof Error ? err.message : String(err);
  return new SosnaError('E_UNAVAILABLE', `cannot reach ${url}: ${msg}`);
}

export function clientOptions(o: ConnectOptions): IClientOptions {
  return {
    clientId: o.clientId,
    username: o.username,
    password: o.password,
    keepalive: o.keepaliveSec ?? 30,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0, // reconnects are ours: backoff with jitter
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    resubscribe: true,
    // mqtt-packet otherwise pre-builds a Buffer for each of the 65,536 packet ids on the first write:
    // ~8 MiB of heap that a device cannot spare, for a speed-up no RPC rate here needs.
    writeCache: false,
    // TLS: the hub's certificate must chain to `ca` (or a public CA) and name the host; never skipped
    rejectUnauthorized: true,
    ...(o.tls?.context ? { secureContext: o.tls.context } : {
      ...(o.tls?.ca ? { ca: o.tls.ca } : {}),
      ...(o.tls?.cert && o.tls.key ? { cert: o.tls.cert, key: o.tls.key } : {}),
    }),
    ...(o.tlsSessions && o.url.startsWith('mqtts:') ? { session: o.tlsSessions.get(o.url, o.tls) } : {}),
    will: o.will ? { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: o.will.qos, retain: o.will.retain } : undefined,
  };
}

/**
 * Connects once; resolves after CONNACK or rejects with a SosnaError. The client does not reconnect. A pinned
 * fingerprint (tls.fingerprint, no tls.ca) first fetches that certificate from the hub (fetchPinnedCa).
 */
export async function connectOnce(o: ConnectOptions): Promise<MqttClient> {
  if (o.tls?.fingerprint && !o.tls.ca) {
    let ca: string;
    try {
      ca = await fetchPinnedCa(o.url, o.tls.fingerprint, o.connectTimeoutMs ?? 10_000);
    } catch (err) {
      throw connectError(err, o.url);
    }
    return connectWith({ ...o, tls: { ...o.tls, ca } });
  }
  return connectWith(o);
}

function connectWith(o: ConnectOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(o.url, clientOptions(o));
    // TLS 1.3 sends its tickets after the handshake; keep the newest for the next connection
    const sessions = o.tlsSessions;
    if (sessions && o.url.startsWith('mqtts:')) (client.stream as unknown as NodeJS.EventEmitter).on?.('session', (s: Buffer) => sessions.set(o.url, o.tls, s));
    const fail = (err: unknown) => {
      cleanup();
      client.end(true);
      reject(connectError(err, o.url));
    };
    const onClose = () => fail(new Error('connection closed before CONNACK'));
    const onConnect = () => {
      cleanup();
      noDelay(client);
      resolve(client);
    };
    const cleanup = () => {
      client.off('error', fail);
      client.off('close', onClose);
      client.off('connect', onConnect);
    };
    client.on('error', fail);
    client.on('close', onClose);
    client.on('connect', onConnect);
  });
}

export function publishAsync(client: MqttClient, topic: string, payload: Uint8Array, opts: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    client.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: opts.qos ?? 1, retain: opts.retain ?? false }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

export function subscribeAsync(client: MqttClient, filter: string | string[], qos: 0 | 1 = 1): Promise<void> {
  return new Promise((resolve, reject) => {
    client.subscribe(filter, { qos }, (err, granted) => {
      // mqtt.js reports a refused subscription (SUBACK 0x80) as an error carrying the packet
      const suback = (err as { packet?: { granted?: number[] } } | null)?.packet?.granted;
      if (err && suback?.includes(128)) return reject(new SosnaError('E_UNAUTHORIZED', `subscription refused: ${[filter].flat().join(', ')}`));
      if (err) return reject(err);
      const refused = (granted ?? []).filter((g) => g.qos === 128);
      if (refused.length) return reject(new SosnaError('E_UNAUTHORIZED', `subscription refused: ${refused.map((g) => g.topic).join(', ')}`));
      resolve();
    });
  });
}

/**
 * Closes a client, letting messages in flight be acknowledged for up to `graceMs`, then saying DISCONNECT
 * (so the broker drops the will). mqtt.js's own `end(false)` waits for them with no bound, and having
 * cancelled reconnecting, a client whose broker is gone never gets them: a stop would hang for good (and a
 * second `end(true)` is then a no-op). Past the grace, or when not connected, the socket is just closed.
 */
export async function endClient(client: MqttClient, graceMs = 2_000): Promise<void> {
  const pending = () => Object.keys((client as unknown as { outgoing: object }).outgoing ?? {}).length > 0;
  if (client.connected && pending()) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, graceMs);
      function done() {
        clearTimeout(t);
        client.off('outgoingEmpty', done);
        resolve();
      }
      client.once('outgoingEmpty', done);
    });
  }
  const force = !client.connected || pending();
  await new Promise<void>((resolve) => client.end(force, {}, () => resolve()));
}
