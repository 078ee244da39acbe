// The embedded broker: aedes over TCP (and WebSocket), and over TLS (MQTT on 8883, WSS), TCP_NODELAY on
// every socket, and the hub's authentication and ACL hooks. Every listener hands its connections to the
// same handler. The hub itself publishes and subscribes in-process (no client, no ACL).
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { Aedes } from 'aedes';
import type { Client } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Logger } from '@sosna/protocol';
import type { Bus, MessageHandler } from './bus.js';
import type { Session } from './session.js';
import { createConnectionGuard } from './limits.js';
import { indexedMemoryPersistence } from './retained-index.js';
import type { ConnectionLimits } from './limits.js';

export interface BrokerHooks {
  /**
   * Resolves a session for valid credentials, null to refuse (CONNACK 5), 'throttled' to refuse as
   * "server unavailable" (CONNACK 3: try later). `address` is the client's remote address.
   */
  authenticate(clientId: string, username: string | undefined, password: Buffer | undefined, address: string): Promise<Session | 'throttled' | null>;
  mayPublish(session: Session, topic: string): boolean;
  maySubscribe(session: Session, filter: string): boolean;
  onDisconnect?(session: Session): void;
}

export interface BrokerTls {
  port: number;
  /** WSS listener; null for none. */
  wsPort: number | null;
  /** Certificate chain and key (PEM). */
  cert: string;
  key: string;
  /** Mutual TLS: clients must present a certificate that this CA signed. */
  clientCa: string | null;
  /**
   * The 48-byte key of the session tickets (kept in the data dir, so that tickets survive a restart and a
   * reconnecting fleet resumes its sessions); omitted: a random key per process.
   */
  ticketKeys?: Buffer;
}

/** How long a TLS session (ticket) stays resumable: a day, the ticket key's lifetime (hub/src/tls/hub-tls.ts). */
export const TLS_SESSION_SEC = 86_400;

export interface EmbeddedBrokerOptions {
  host: string;
  /** Plain MQTT; null for none (TLS only). */
  port: number | null;
  /** WebSocket listener for browsers and firewalled devices; omit or null for none. */
  wsPort?: number | null;
  /** MQTT over TLS and WSS; omit for none. */
  tls?: BrokerTls;
  /**
   * Hold accepted connections until open(): the hub's services subscribe in-process, and aedes gives
   * in-process subscribers no retained messages, so a device that reconnects (after a hub restart) before
   * the registry subscribed would publish its birth unseen and stay offline in the registry.
   */
  holdUntilOpen?: boolean;
  maxPayload: number;
  /** Packet sizes, connect time-out, connections not yet authenticated (limits.ts). */
  limits: ConnectionLimits;
  hooks: BrokerHooks;
  log: Logger;
}

/** Counts for /metrics, read when scraped (hub/src/metrics/): plain numbers, no metrics library here. */
export interface BrokerStats {
  /** Connected clients by the kind of their login. */
  connections: Record<Session['principal']['kind'], number>;
  /** Connections not yet authenticated. */
  pending: number;
  /** PUBLISH packets from clients that the ACL and the size cap let through, and their payload bytes. */
  received: number;
  receivedBytes: number;
  /** Messages the hub itself published in-process. */
  published: number;
  /** Refused PUBLISH packets by reason (acl, too_large). */
  refusedPublishes: Record<string, number>;
  /** Refused logins (not_authorized, throttled, error) and connections the guard refused or closed (limits.ts kinds). */
  refusedConnections: Record<string, number>;
}

export interface EmbeddedBroker extends Bus {
  stats(): BrokerStats;
  readonly mqttPort: number | null;
  readonly wsPort: number | null;
  readonly mqttsPort: number | null;
  readonly wssPort: number | null;
  connectedClients(): number;
  /** Starts handing held and new connections to the broker (with holdUntilOpen). */
  open(): void;
  /** Replaces the TLS session ticket key (rotation); tickets of the old key get a full handshake. */
  setTicketKeys(keys: Buffer): void;
  /** Closes the connection of a client id (a revoked device); false when none is connected. */
  disconnect(clientId: string): boolean;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is already in use (another hub or MQTT broker?); pick another (--port, --ws-port, --tls-port, --wss-port)`) : err);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

/** The remote address of a client: its socket's (TCP, TLS), or its HTTP upgrade request's (WebSocket). */
function remoteAddress(client: Client): string {
  return (client.conn as Partial<Socket>).remoteAddress ?? client.req?.socket.remoteAddress ?? 'unknown';
}

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { hooks, log } = opts;
  const sessions = new WeakMap<Client, Session>();
  // every listener's sockets go through the guard before aedes reads a byte (see accept below)
  const guard = createConnectionGuard({ limits: opts.limits, log });
  const counts = { received: 0, receivedBytes: 0, published: 0, refusedPublishes: { acl: 0, too_large: 0 }, refusedLogins: { not_authorized: 0, throttled: 0, error: 0 } };
  const broker = await Aedes.createBroker({
    persistence: indexedMemoryPersistence(),
    connectTimeout: opts.limits.connectTimeoutMs,
    authenticate(client, username, password, done) {
      hooks.authenticate(client.id, username, password, remoteAddress(client)).then(
        (session) => {
          if (session === 'throttled') {
            counts.refusedLogins.throttled++;
            return done(Object.assign(new Error('server unavailable'), { returnCode: 3 }) as never, null);
          }
          if (!session) {
            counts.refusedLogins.not_authorized++;
            log.info('connection refused', { clientId: client.id, username });
            return done(Object.assign(new Error('not authorized'), { returnCode: 5 }) as never, null);
          }
          sessions.set(client, session);
          guard.authenticated(client.conn as Duplex);
          done(null, true);
        },
        (err: unknown) => {
          counts.refusedLogins.error++;
          log.error('authentication failed', { clientId: client.id, error: String(err) });
          done(Object.assign(new Error('server unavailable'), { returnCode: 3 }) as never, null);
        },
      );
    },
    authorizePublish(client, packet, callback) {
      if (!client) return callback(null); // the hub's own in-process publish
      const session = sessions.get(client);
      const size = packet.payload?.length ?? 0;
      if (!session || !hooks.mayPublish(session, packet.topic)) {
        counts.refusedPublishes.acl++;
        log.warn('publish refused', { clientId: client.id, topic: packet.topic });
        return callback(new Error('publish not authorized'));
      }
      if (size > opts.maxPayload) {
        counts.refusedPublishes.too_large++;
        log.warn('oversized publish refused', { clientId: client.id, topic: packet.topic, bytes: size });
        return callback(new Error('payload too large'));
      }
      counts.received++;
      counts.receivedBytes += size;
      callback(null);
    },
    authorizeSubscribe(client, sub, callback) {
      const session = sessions.get(client);
      if (!session || !hooks.maySubscribe(session, sub.topic)) {
        log.warn('subscription refused', { clientId: client.id, filter: sub.topic });
        return callback(null, null);
      }
      callback(null, sub);
    },
  });
  broker.on('clientDisconnect', (client) => {
    const session = sessions.get(client);
    if (session) hooks.onDisconnect?.(session);
  });

  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  /** A TCP connection from any listener: tracked for close(), then admitted by the guard or closed at once. */
  const admit = (socket: Socket): void => {
    track(socket);
    guard.admit(socket);
  };
  /**
   * The one way in for every connection, whatever its listener (TCP, TLS, WebSocket, WSS): `stream` is what
   * carries MQTT (the socket itself, a TLS socket, a WebSocket stream), `req` the upgrade request of a
   * WebSocket. The guard checks every packet's size from the moment aedes reads the stream; until open()
   * (holdUntilOpen) connections wait, still counted and timed by the guard.
   */
  type Way = { socket: Socket; stream: Duplex; req?: IncomingMessage };
  const serve = ({ socket, stream, req }: Way) => {
    const toBroker = (s: Duplex) => broker.handle(s as never, req as never);
    if (req) guard.handleWebSocket(socket, stream, toBroker);
    else guard.handle(socket, stream, toBroker);
  };
  let held: Way[] | null = opts.holdUntilOpen ? [] : null;
  const handle = (way: Way) => {
    if (way.socket.destroyed) return; // refused by the guard (or gone) before it got here
    if (!held) return serve(way);
    held.push(way);
    way.stream.once('close', () => held && (held = held.filter((w) => w !== way)));
  };
  const open = () => {
    const waiting = held ?? [];
    held = null;
    for (const way of waiting) if (!way.stream.destroyed) serve(way);
  };
  const closers: (() => Promise<void>)[] = [];
  const closeServer = (server: Server) => closers.push(() => new Promise<void>((r) => server.close(() => r())));

  let mqttPort: number | null = null;
  if (opts.port !== null) {
    const tcp = createServer({ noDelay: true }, (socket) => {
      admit(socket);
      handle({ socket, stream: socket });
    });
    mqttPort = await listen(tcp, opts.port, opts.host);
    closeServer(tcp);
  }

  /** MQTT over WebSocket on an http(s) server (subprotocol `mqtt`); other requests get 426. */
  const serveWebSocket = (http: import('node:http').Server) => {
    http.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('sosna hub: MQTT over WebSocket only\n');
    });
    // counted and timed from the TCP connection on, upgraded or not (for https: before the handshake)
    http.on('connection', admit);
    // ws holds a whole message before it hands it on: none may exceed the packet cap (before login, the guard's)
    const wss = new WebSocketServer({
      server: http, maxPayload: opts.limits.maxPacketBytes, perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
    });
    wss.on('connection', (ws, req) => handle({ socket: req.socket as Socket, stream: createWebSocketStream(ws), req }));
    closers.push(() => new Promise<void>((r) => wss.close(() => http.close(() => r()))));
  };

  let wsPort: number | null = null;
  if (opts.wsPort !== undefined && opts.wsPort !== null) {
    const { createServer: createHttpServer } = await import('node:http');
    const http = createHttpServer();
    serveWebSocket(http);
    wsPort = await listen(http as unknown as Server, opts.wsPort, opts.host);
  }

  let mqttsPort: number | null = null;
  let wssPort: number | null = null;
  const tlsServers: { setTicketKeys(keys: Buffer): void }[] = [];
  if (opts.tls) {
    const t = opts.tls;
    const secure = {
      cert: t.cert,
      key: t.key,
      minVersion: 'TLSv1.2' as const,
      handshakeTimeout: 15_000,
      sessionTimeout: TLS_SESSION_SEC,
      ...(t.ticketKeys ? { ticketKeys: t.ticketKeys } : {}),
      ...(t.clientCa ? { requestCert: true, rejectUnauthorized: true, ca: t.clientCa } : {}),
    };
    // a failed handshake (wrong CA, plain MQTT on the TLS port, a scanner) never reaches aedes
    const onTlsError = (err: Error, socket: TLSSocket) => log.debug('TLS handshake failed', { from: socket.remoteAddress, error: err.message });
    const tlsServer = createTlsServer({ ...secure, noDelay: true } as never, (socket: TLSSocket) => handle({ socket, stream: socket }));
    tlsServer.on('connection', admit); // the TCP socket, from the start: close() also ends handshakes under way
    tlsServer.on('tlsClientError', onTlsError);
    tlsServers.push(tlsServer);
    mqttsPort = await listen(tlsServer, t.port, opts.host);
    closeServer(tlsServer);
    if (t.wsPort !== null) {
      const { createServer: createHttpsServer } = await import('node:https');
      const https = createHttpsServer(secure);
      https.on('tlsClientError', onTlsError);
      tlsServers.push(https);
      serveWebSocket(https);
      wssPort = await listen(https as unknown as Server, t.wsPort, opts.host);
    }
  }

  return {
    mqttPort,
    wsPort,
    mqttsPort,
    wssPort,
    connectedClients: () => broker.connectedClients,
    stats: () => {
      const connections = { device: 0, operator: 0, provision: 0 };
      // aedes' table of connected clients, walked when scraped rather than counted per connection
      const clients = (broker as unknown as { clients: Record<string, Client> }).clients;
      for (const id in clients) {
        const kind = sessions.get(clients[id]!)?.principal.kind;
        if (kind) connections[kind]++;
      }
      return {
        connections, pending: guard.pending(), received: counts.received, receivedBytes: counts.receivedBytes, published: counts.published,
        refusedPublishes: { ...counts.refusedPublishes }, refusedConnections: { ...counts.refusedLogins, ...guard.refusals() },
      };
    },
    open,
    disconnect: (clientId) => {
      const client = (broker as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
      client?.close();
      return Boolean(client);
    },
    setTicketKeys: (keys) => tlsServers.forEach((s) => s.setTicketKeys(keys)),
    publish: (topic, payload, o = {}) =>
      (counts.published++, new Promise<void>((resolve, reject) =>
        broker.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), qos: o.qos ?? 1, retain: o.retain ?? false, dup: false },
          (err) => (err ? reject(err) : resolve()),
        ),
      )),
    subscribe: (filter, handler: MessageHandler) =>
      new Promise((resolve) => {
        const deliver = (packet: { topic: string; payload: Buffer | string }, cb: () => void) => {
          try {
            handler(packet.topic, typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload);
          } catch (err) {
            log.error('message handler failed', { topic: packet.topic, error: String(err) });
          }
          cb();
        };
        broker.subscribe(filter, deliver as never, () =>
          resolve(() => new Promise<void>((r) => broker.unsubscribe(filter, deliver as never, () => r()))),
        );
      }),
    close: async () => {
      // Stop accepting, then drop every connection (no Will is lost: aedes publishes them on close).
      const closed = Promise.all(closers.map((c) => c()));
      await new Promise<void>((r) => broker.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
