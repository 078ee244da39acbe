// The dashboard's HTTP server (node:http, no framework): static UI from the embedded gzipped assets, a
// JSON API under /api, and the live WebSocket on /api/live. Authentication, body parsing and errors are
// handled here once; the handlers in api.ts only produce results. The HTTP API is described in README.md
// beside this file. With `tls` it is an HTTPS server (behind https-port.ts, which owns the listening port).
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { Logger } from '@sosna/protocol';
import { readCookie, SESSION_COOKIE } from './auth.js';
import type { Sessions } from './auth.js';
import type { UiAsset } from './assets.js';
import type { LiveHub } from './live.js';

/** Pages of the UI; without a session they redirect to /login. */
export const PAGES = ['/', '/hardware', '/jobs', '/earnings', '/settings', '/system'];

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface ApiRequest {
  req: IncomingMessage;
  url: URL;
  /** The session token (authenticated routes only). */
  token: string | undefined;
  client: string;
  body: unknown;
}
export interface ApiReply {
  status?: number;
  body: unknown;
  headers?: Record<string, string | string[]>;
}
export type ApiHandler = (r: ApiRequest) => ApiReply | Promise<ApiReply>;
export interface ApiRoute {
  handler: ApiHandler;
  /** Reachable without a session (the login itself). */
  public?: boolean;
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

const NO_UI = `<!doctype html><meta charset="utf-8"><title>sosna</title><p>The dashboard UI is not in this build (run <code>npm run build</code> and start <code>agent/dist/sosna-agent.mjs</code>); its API is under /api.</p>`;

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string | string[]>): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  send(res, status, JSON.stringify(body), { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
}

function sendAsset(req: IncomingMessage, res: ServerResponse, asset: UiAsset, cache: string): void {
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, { ...SECURITY_HEADERS, ETag: asset.etag, 'Cache-Control': cache });
    return void res.end();
  }
  const gz = Buffer.from(asset.gz, 'base64');
  const gzipOk = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  send(res, 200, gzipOk ? gz : gunzipSync(gz), {
    'Content-Type': asset.type, ETag: asset.etag, 'Cache-Control': cache, Vary: 'Accept-Encoding',
    ...(gzipOk ? { 'Content-Encoding': 'gzip' } : {}),
  });
}

async function readBody(req: IncomingMessage, limit = 16 * 1024): Promise<unknown> {
  const type = String(req.headers['content-type'] ?? '');
  // JSON only: a cross-site form cannot send it without a CORS preflight, which this server never grants.
  if (!type.startsWith('application/json')) throw new HttpError(415, 'unsupported_media_type', 'send application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'too_large', `body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return size === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'bad_json', 'the body is not valid JSON');
  }
}

/** A request from another site (Origin set and not this host) may not change anything or open the live socket. */
function crossOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

export interface ServerDeps {
  log: Logger;
  sessions: Sessions;
  routes: Record<string, ApiRoute>; // "METHOD /api/path"
  live: LiveHub;
  assets: Record<string, UiAsset>;
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string } | null;
}

export function createDashboardServer(deps: ServerDeps & { tls: { key: string; cert: string } }): HttpsServer;
export function createDashboardServer(deps: ServerDeps): Server | HttpsServer;
export function createDashboardServer(deps: ServerDeps): Server | HttpsServer {
  const { log, sessions, routes, live, assets } = deps;
  const tokenOf = (req: IncomingMessage) => readCookie(req.headers.cookie, SESSION_COOKIE);

  const page = (req: IncomingMessage, res: ServerResponse) => {
    const index = assets['/index.html'];
    if (!index) return send(res, 200, NO_UI, { 'Content-Type': 'text/html; charset=utf-8' });
    sendAsset(req, res, index, 'no-cache');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const token = tokenOf(req);
    const authed = sessions.valid(token);

    if (path.startsWith('/api/')) {
      const route = routes[`${method} ${path}`];
      if (!route) {
        const known = Object.keys(routes).some((k) => k.endsWith(` ${path}`));
        throw new HttpError(known ? 405 : 404, known ? 'method_not_allowed' : 'not_found', known ? `${method} is not allowed here` : `no API at ${path}`);
      }
      if (!route.public && !authed) throw new HttpError(401, 'unauthorized', 'log in first');
      if (method !== 'GET' && crossOrigin(req)) throw new HttpError(403, 'cross_origin', 'requests from another site are refused');
      const body = method === 'GET' ? undefined : await readBody(req);
      const reply = await route.handler({ req, url, token: authed ? token : undefined, client: req.socket.remoteAddress ?? 'unknown', body });
      return sendJson(res, reply.status ?? 200, reply.body, reply.headers);
    }
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', `${method} is not allowed here`);
    if (path.startsWith('/assets/')) {
      const asset = assets[path];
      if (!asset) return send(res, 404, 'not found', { 'Content-Type': 'text/plain' });
      return sendAsset(req, res, asset, 'no-cache');
    }
    if (path === '/login') return authed ? send(res, 302, '', { Location: '/' }) : page(req, res);
    if (PAGES.includes(path)) {
      if (!authed) return send(res, 302, '', { Location: path === '/' ? '/login' : `/login?next=${encodeURIComponent(path)}`, 'Cache-Control': 'no-store' });
      return page(req, res);
    }
    // Anything else: not found for a session, the login page otherwise (no hint of what exists).
    if (!authed) return send(res, 302, '', { Location: '/login' });
    send(res, 404, 'not found', { 'Content-Type': 'text/plain' });
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, 'internal', 'internal error');
      if (!(err instanceof HttpError)) log.warn('dashboard request failed', { path: req.url, error: (err as Error).message });
      if (res.headersSent) return void res.destroy();
      sendJson(res, e.status, { error: e.code, message: e.message, ...e.extra }, e.headers);
    });
  };
  const server = deps.tls ? createHttpsServer({ key: deps.tls.key, cert: deps.tls.cert, minVersion: 'TLSv1.2', handshakeTimeout: 10_000 }, onRequest) : createServer(onRequest);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const token = tokenOf(req);
    const refuse = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    if (url.pathname !== '/api/live') return refuse('404 Not Found');
    if (!sessions.valid(token)) return refuse('401 Unauthorized');
    if (crossOrigin(req)) return refuse('403 Forbidden');
    live.upgrade(req, socket, head, token!);
  });
  return server;
}
