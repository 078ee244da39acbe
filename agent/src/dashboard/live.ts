// Live updates for open dashboards: one WebSocket per browser on /api/live carrying the MQTT shapes,
// `{"topic": ".../dev/{id}/telemetry", "payload": Telemetry}` and `{"topic": ".../state", "payload": DeviceState}`.
// Nothing runs while no browser is connected: the watch timer (link state, expired sessions, pings)
// starts with the first client and stops with the last.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

interface Client {
  token: string;
  alive: boolean;
}

export class LiveHub {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 4096, clientTracking: false });
  private readonly clients = new Map<WebSocket, Client>();
  private timer: NodeJS.Timeout | null = null;
  private ticks = 0;

  constructor(
    private readonly o: {
      /** Whether a session token is still valid (logged-out or expired sessions are closed). */
      sessionValid: (token: string) => boolean;
      /** Called every `watchMs` while a client is connected; returns messages to send to everyone. */
      watch: () => { topic: string; payload: unknown }[];
      /** Messages a new client gets first (current state, newest sample). */
      greeting: () => { topic: string; payload: unknown }[];
      watchMs?: number;
      maxClients?: number;
    },
  ) {}

  get size(): number {
    return this.clients.size;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, token: string): void {
    if (this.clients.size >= (this.o.maxClients ?? 16)) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = { token, alive: true };
      this.clients.set(ws, client);
      ws.on('pong', () => (client.alive = true));
      ws.on('message', () => ws.close(1003, 'this socket only sends'));
      ws.on('close', () => this.drop(ws));
      ws.on('error', () => this.drop(ws));
      for (const m of this.o.greeting()) this.sendTo(ws, JSON.stringify(m));
      this.ensureTimer();
    });
  }

  publish(topic: string, payload: unknown): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify({ topic, payload });
    for (const ws of this.clients.keys()) this.sendTo(ws, text);
  }

  private sendTo(ws: WebSocket, text: string): void {
    // A browser that stopped reading is dropped rather than buffered for.
    if (ws.bufferedAmount > 1024 * 1024) return void ws.terminate();
    if (ws.readyState === ws.OPEN) ws.send(text);
  }

  private drop(ws: WebSocket): void {
    this.clients.delete(ws);
    if (this.clients.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.onTick(), this.o.watchMs ?? 1000);
    this.timer.unref();
  }

  private onTick(): void {
    this.ticks++;
    for (const [ws, c] of this.clients) {
      if (!this.o.sessionValid(c.token)) {
        ws.close(4001, 'session ended');
        this.drop(ws);
      } else if (this.ticks % 30 === 0) {
        if (!c.alive) {
          ws.terminate();
          this.drop(ws);
          continue;
        }
        c.alive = false;
        ws.ping();
      }
    }
    for (const m of this.o.watch()) this.publish(m.topic, m.payload);
  }

  /** Closes the sessions of one token (logout) or of all. */
  closeSessions(token?: string): void {
    for (const [ws, c] of this.clients) {
      if (token !== undefined && c.token !== token) continue;
      ws.close(4001, 'session ended');
      this.drop(ws);
    }
  }

  close(): void {
    for (const ws of this.clients.keys()) ws.terminate();
    this.clients.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.wss.close();
  }
}
