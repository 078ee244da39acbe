// The embedded broker: aedes over TCP (and WebSocket), TCP_NODELAY on every socket, and the hub's
// authentication and ACL hooks. The hub itself publishes and subscribes in-process (no client, no ACL).
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import type { Client } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Logger } from '@sosna/protocol';
import type { Bus, MessageHandler } from './bus.js';
import type { Session } from '../auth/policy.js';
import { createConnectionGuard } from './limits.js';
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

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  /** WebSocket listener for browsers and firewalled devices; omit or null for none. */
  wsPort?: number | null;
  maxPayload: number;
  /** Packet sizes, connect time-out, connections not yet authenticated (limits.ts). */
  limits: ConnectionLimits;
  hooks: BrokerHooks;
  log: Logger;
}

export interface EmbeddedBroker extends Bus {
  readonly mqttPort: number;
  readonly wsPort: number | null;
  connectedClients(): number;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is already in use (another hub or MQTT broker?); pick another with --port`) : err);
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
  const broker = await Aedes.createBroker({
    connectTimeout: opts.limits.connectTimeoutMs,
    authenticate(client, username, password, done) {
      hooks.authenticate(client.id, username, password, remoteAddress(client)).then(
        (session) => {
          if (session === 'throttled') return done(Object.assign(new Error('server unavailable'), { returnCode: 3 }) as never, null);
          if (!session) {
            log.info('connection refused', { clientId: client.id, username });
            return done(Object.assign(new Error('not authorized'), { returnCode: 5 }) as never, null);
          }
          sessions.set(client, session);
          guard.authenticated(client.conn as Duplex);
          done(null, true);
        },
        (err: unknown) => {
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
        log.warn('publish refused', { clientId: client.id, topic: packet.topic });
        return callback(new Error('publish not authorized'));
      }
      if (size > opts.maxPayload) {
        log.warn('oversized publish refused', { clientId: client.id, topic: packet.topic, bytes: size });
        return callback(new Error('payload too large'));
      }
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
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  /**
   * A socket that carries MQTT itself: tracked for close(), then guarded (limits.ts), then aedes'. The one
   * entry for every such listener: a TLS one is `tls.createServer(options, accept)` (the TLS socket once its
   * handshake is done; tls' handshakeTimeout bounds the handshake).
   */
  const accept = (socket: Socket) => {
    track(socket);
    guard.accept(socket, (stream) => broker.handle(stream as Socket));
  };
  const tcp = createServer({ noDelay: true }, accept);
  const mqttPort = await listen(tcp, opts.port, opts.host);

  let wss: WebSocketServer | null = null;
  let wsPort: number | null = null;
  if (opts.wsPort !== undefined && opts.wsPort !== null) {
    const { createServer: createHttpServer } = await import('node:http');
    const http = createHttpServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('sosna hub: MQTT over WebSocket only\n');
    });
    http.on('connection', (socket: Socket) => {
      socket.setNoDelay(true);
      track(socket);
      guard.admit(socket); // counted and timed from the TCP connection on, upgraded or not
    });
    // ws holds a whole message before it hands it on: none may exceed the packet cap (before login, the guard's)
    wss = new WebSocketServer({
      server: http, maxPayload: opts.limits.maxPacketBytes, perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
    });
    wss.on('connection', (ws, req) => guard.handleWebSocket(req.socket as Socket, createWebSocketStream(ws), (stream) => broker.handle(stream as Socket, req)));
    wsPort = await listen(http as unknown as Server, opts.wsPort, opts.host);
    const httpServer = http;
    wss.once('close', () => httpServer.close());
  }

  return {
    mqttPort,
    wsPort,
    connectedClients: () => broker.connectedClients,
    publish: (topic, payload, o = {}) =>
      new Promise<void>((resolve, reject) =>
        broker.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), qos: o.qos ?? 1, retain: o.retain ?? false, dup: false },
          (err) => (err ? reject(err) : resolve()),
        ),
      ),
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
      const tcpClosed = new Promise<void>((r) => tcp.close(() => r()));
      const wssClosed = wss ? new Promise<void>((r) => wss!.close(() => r())) : Promise.resolve();
      await new Promise<void>((r) => broker.close(() => r()));
      for (const s of sockets) s.destroy();
      await Promise.all([tcpClosed, wssClosed]);
    },
  };
}
