// The hub's rules for an external broker cluster, over HTTP in EMQX 5's HTTP authentication/authorization
// format (the contract of EMQX 5.0-5.8: https://docs.emqx.com/en/emqx/latest/access-control/authn/http.html
// and .../authz/http.html):
//   POST /emqx/authn  {"username","password","clientid","peerhost"}        -> 200 {"result":"allow"|"deny","is_superuser":false}
//   POST /emqx/authz  {"username","clientid","topic","action","qos","retain"} -> 200 {"result":"allow"|"deny"}
// and VerneMQ's webhooks (vmq_webhooks, https://docs.vernemq.com/plugindevelopment/webhookplugins):
//   POST /vernemq/auth_on_register[_m5]  {"peer_addr","username","password","client_id",...} -> 200 {"result":"ok"} | {"result":{"error":"not_allowed"}}
//   POST /vernemq/auth_on_publish[_m5]   {"username","client_id","topic","qos","payload","retain",...}
//   POST /vernemq/auth_on_subscribe[_m5] {"username","client_id","topics":[{"topic","qos"}]} (all or nothing)
// and RabbitMQ's rabbitmq_auth_backend_http for its MQTT plugin (form-encoded POST or a GET query; answers
// the plain text `allow` / `deny`):
//   /rabbitmq/auth/user      username, password, client_id      /rabbitmq/auth/vhost  username, vhost, ip
//   /rabbitmq/auth/resource  username, vhost, resource, name, permission (amq.topic; the client's own mqtt-* queues)
//   /rabbitmq/auth/topic     ... routing_key, variable_map.client_id (the MQTT topic with / as . and + as *)
// Every request carries the shared token: `Authorization: Bearer <token>` (EMQX's `headers` setting sends
// it), or, for a broker that cannot send headers (VerneMQ's webhooks), the path prefix /t/<token>. Without
// it 401. Bodies are bounded (413); a body that is not the documented shape is a 400 naming the field.
// The decisions (hub/src/auth/external.ts) are the embedded broker's: throttle, dummy hashes, client-id
// binding, topic policy. Passwords are never logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { z } from 'zod';
import { listenHttp } from '@sosna/protocol';
import type { Logger } from '@sosna/protocol';
import { clientIdOfQueue, mqttTopicsOf } from './rabbitmq-names.js';

export type LoginVerdict = 'allow' | 'deny' | 'throttled';

/** What the endpoint asks of the hub's rules, declared here; auth/external.ts answers (the embedded broker's code path). */
export interface AuthDecisions {
  /** A CONNECT's credentials; `address` is the device's (the throttle counts failures per address and per user). */
  login(req: { clientId: string; username: string; password: string; address: string }): Promise<LoginVerdict>;
  /** A publish or subscribe of an already authenticated client, from its user name and client id (no password). */
  mayAct(req: { clientId: string; username: string; topic: string; action: 'publish' | 'subscribe' }): boolean;
  /**
   * Whether this user name still names a live principal (a device, an operator, a key neither revoked nor
   * expired), under this client id when one is given (else the broker checked the client id at login).
   */
  known(req: { clientId?: string; username: string }): boolean;
}

/** Largest request body: the documented bodies are a few hundred bytes (a topic may be longer). */
export const AUTH_HTTP_MAX_BODY = 16 * 1024;

export const AUTH_HTTP_PATHS = {
  emqxAuthn: '/emqx/authn',
  emqxAuthz: '/emqx/authz',
  vernemqRegister: '/vernemq/auth_on_register',
  vernemqPublish: '/vernemq/auth_on_publish',
  vernemqSubscribe: '/vernemq/auth_on_subscribe',
  rabbitUser: '/rabbitmq/auth/user',
  rabbitVhost: '/rabbitmq/auth/vhost',
  rabbitResource: '/rabbitmq/auth/resource',
  rabbitTopic: '/rabbitmq/auth/topic',
} as const;

export interface AuthHttpServer {
  readonly host: string;
  readonly port: number;
  /** http://host:port (an IPv6 address in brackets); the routes are AUTH_HTTP_PATHS under it. */
  readonly url: string;
  close(): Promise<void>;
}

// EMQX fills the placeholders of the operator's body template; a quoted "${qos}" arrives as a string.
const Str = (max: number) => z.string({ error: 'must be a string' }).max(max, `must be at most ${max} characters`);
/** ${peerhost}: the client's IP address (IPv4, or IPv6 possibly with a zone). */
const PEERHOST = 'must be an IP address (EMQX: "${peerhost}")';
const Peerhost = z.string({ error: PEERHOST }).regex(/^[0-9A-Za-z.:%_-]{1,64}$/, PEERHOST);
const EmqxAuthn = z.object({
  username: Str(1024),
  password: Str(4096),
  clientid: Str(1024),
  // required: the login throttle counts failures per device address; without it every login through the
  // broker would share one address, and one guesser could lock everybody out
  peerhost: Peerhost,
});
const EmqxAuthz = z.object({
  username: Str(1024),
  clientid: Str(1024),
  topic: Str(65_535).min(1, 'must not be empty'),
  action: z.enum(['publish', 'subscribe'], { error: 'must be "publish" or "subscribe" (EMQX: "${action}")' }),
  qos: z.union([z.number().int().min(0).max(2), z.enum(['0', '1', '2'])], { error: 'must be 0, 1 or 2' }).optional(),
  retain: z.union([z.boolean(), z.enum(['true', 'false'])], { error: 'must be true or false' }).optional(),
  peerhost: Peerhost.optional(),
});

// VerneMQ's webhook bodies (the documented example payloads); a user name the client did not send is null.
const VmqName = z.string({ error: 'must be a string or null' }).max(1024).nullable();
const VmqRegister = z.object({
  peer_addr: z.string({ error: 'must be an IP address' }).regex(/^[0-9A-Za-z.:%_-]{1,64}$/, 'must be an IP address'),
  username: VmqName,
  password: z.string({ error: 'must be a string or null' }).max(4096).nullable(),
  client_id: Str(1024),
});
const VmqPublish = z.object({ username: VmqName, client_id: Str(1024), topic: Str(65_535).min(1, 'must not be empty') });
const VmqSubscribe = z.object({
  username: VmqName,
  client_id: Str(1024),
  topics: z.array(z.object({ topic: Str(65_535).min(1, 'must not be empty') }), { error: 'must be an array of {topic, qos}' }).min(1, 'must name at least one topic').max(1000),
});
const VMQ_OK = { result: 'ok' } as const;
const VMQ_NOT_ALLOWED = { result: { error: 'not_allowed' } } as const;

// RabbitMQ's form parameters (rabbitmq_auth_backend_http's README; client_id comes with MQTT logins).
const RabbitUser = z.object({ username: Str(1024), password: Str(4096), client_id: Str(1024).optional() });
const RabbitVhost = z.object({ username: Str(1024), vhost: Str(1024), client_id: Str(1024).optional() });
const RabbitResource = z.object({
  username: Str(1024),
  resource: z.enum(['exchange', 'queue', 'topic'], { error: 'must be exchange, queue or topic' }),
  name: Str(1024),
  permission: z.enum(['configure', 'write', 'read'], { error: 'must be configure, write or read' }),
});
const RabbitTopic = RabbitResource.extend({
  routing_key: Str(65_535),
  'variable_map.client_id': Str(1024).optional(),
  client_id: Str(1024).optional(),
});
/** The topic exchange RabbitMQ's MQTT plugin publishes to (its `mqtt.exchange` default). */
const RABBIT_MQTT_EXCHANGE = 'amq.topic';

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Reads the body up to `max` bytes; more is a 413 (announced by content-length or found while reading). */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(new HttpError(413, `body of ${declared} bytes; at most ${max}`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume(); // drain without keeping it
        reject(new HttpError(413, `body over ${max} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJsonBody<T>(schema: z.ZodType<T>, text: string, route: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `${route}: body is not JSON (${(err as Error).message}); send the JSON body ${route.startsWith('/emqx') ? `of EMQX's HTTP ${route.endsWith('authn') ? 'authenticator' : 'authorizer'}` : "of VerneMQ's webhook"}`);
  }
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  throw new HttpError(400, `${route}: ${problems}`);
}

function parseFormBody<T>(schema: z.ZodType<T>, text: string, route: string): T {
  const r = schema.safeParse(Object.fromEntries(new URLSearchParams(text)));
  if (r.success) return r.data;
  throw new HttpError(400, `${route}: ${r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
}

function sendText(res: ServerResponse, allow: boolean): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(allow ? 'allow' : 'deny');
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
}

export async function startAuthHttpServer(opts: {
  host: string;
  port: number;
  /** The shared secret every request presents as `Authorization: Bearer <token>`. */
  token: string;
  decisions: AuthDecisions;
  /** Names the setting in errors, e.g. `authHttp.port (--auth-http-port)`. */
  setting: string;
  log?: Logger;
  maxBody?: number;
  /**
   * VerneMQ's auth_on_publish carries the message (base64 by default): its bound, from the hub's largest
   * payload (the request is checked for the token before its body is read).
   */
  maxPublishBody?: number;
}): Promise<AuthHttpServer> {
  const { createServer } = await import('node:http'); // loaded only where the endpoint is served
  const tokenHash = sha256(opts.token);
  const maxBody = opts.maxBody ?? AUTH_HTTP_MAX_BODY;
  const maxPublishBody = Math.max(maxBody, opts.maxPublishBody ?? maxBody);
  const tokenPrefix = /^\/t\/([^/]+)(\/.*)$/;
  const log = opts.log;

  /** The route and whether the request presented the token (header, or the /t/<token> path prefix). */
  function route(req: IncomingMessage): { path: string; authorized: boolean } {
    let path = (req.url ?? '/').split('?')[0] ?? '/';
    let presented: string | null = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] ?? null;
    const prefixed = tokenPrefix.exec(path);
    if (prefixed) {
      try {
        presented = decodeURIComponent(prefixed[1]!);
      } catch {
        presented = null; // not percent-encoding: not the token
      }
      path = prefixed[2]!;
    }
    if (path.startsWith('/vernemq/')) path = path.replace(/_m5$/, ''); // the MQTT 5 hooks take the same bodies here
    return { path, authorized: presented !== null && timingSafeEqual(sha256(presented), tokenHash) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, authorized } = route(req);
    const routes: string[] = Object.values(AUTH_HTTP_PATHS);
    if (!routes.includes(path)) throw new HttpError(404, `no such route ${path}; POST ${routes.join(' or ')}`);
    const rabbit = path.startsWith('/rabbitmq/');
    // RabbitMQ's backend sends GET with a query by default (http_method = post keeps passwords out of URLs)
    if (req.method !== 'POST' && !(rabbit && req.method === 'GET')) {
      res.setHeader('allow', rabbit ? 'GET, POST' : 'POST');
      throw new HttpError(405, `${path}: ${rabbit ? 'GET or POST' : 'POST only'}`);
    }
    if (!authorized) {
      res.setHeader('www-authenticate', 'Bearer realm="sosna hub auth"');
      throw new HttpError(401, 'missing or wrong Authorization: Bearer <authHttp.token> (or path prefix /t/<authHttp.token>)');
    }
    if ((req.url ?? '').length > maxBody) throw new HttpError(414, `URL over ${maxBody} bytes`);
    const text = req.method === 'GET' ? (req.url ?? '').split('?').slice(1).join('?') : await readBody(req, path === AUTH_HTTP_PATHS.vernemqPublish ? maxPublishBody : maxBody);
    if (rabbit) return rabbitmq(res, path, text);
    // the socket's peer is the broker; the device's address comes in the body (the throttle counts per device address)
    if (path === AUTH_HTTP_PATHS.emqxAuthn) {
      const b = parseJsonBody(EmqxAuthn, text, path);
      const verdict = await opts.decisions.login({ clientId: b.clientid, username: b.username, password: b.password, address: b.peerhost });
      if (verdict !== 'allow') log?.debug('external broker login refused', { verdict, username: b.username, clientId: b.clientid, peerhost: b.peerhost });
      return send(res, 200, { result: verdict === 'allow' ? 'allow' : 'deny', is_superuser: false });
    }
    if (path === AUTH_HTTP_PATHS.emqxAuthz) {
      const b = parseJsonBody(EmqxAuthz, text, path);
      const ok = mayAct(b.clientid, b.username, b.action, [b.topic]);
      return send(res, 200, { result: ok ? 'allow' : 'deny' });
    }
    if (path === AUTH_HTTP_PATHS.vernemqRegister) {
      const b = parseJsonBody(VmqRegister, text, path);
      const verdict = await opts.decisions.login({ clientId: b.client_id, username: b.username ?? '', password: b.password ?? '', address: b.peer_addr });
      if (verdict !== 'allow') log?.debug('external broker login refused', { verdict, username: b.username, clientId: b.client_id, peerhost: b.peer_addr });
      return send(res, 200, verdict === 'allow' ? VMQ_OK : VMQ_NOT_ALLOWED);
    }
    if (path === AUTH_HTTP_PATHS.vernemqPublish) {
      const b = parseJsonBody(VmqPublish, text, path);
      return send(res, 200, mayAct(b.client_id, b.username ?? '', 'publish', [b.topic]) ? VMQ_OK : VMQ_NOT_ALLOWED);
    }
    const b = parseJsonBody(VmqSubscribe, text, path);
    // all or nothing: no sosna client subscribes to a topic it may not read alongside ones it may
    return send(res, 200, mayAct(b.client_id, b.username ?? '', 'subscribe', b.topics.map((t) => t.topic)) ? VMQ_OK : VMQ_NOT_ALLOWED);
  }

  /** RabbitMQ's four questions; its MQTT plugin's client id where the request carries one. */
  async function rabbitmq(res: ServerResponse, path: string, text: string): Promise<void> {
    const deviceOf = (username: string) => (username.startsWith('dev:') ? username.slice(4) : undefined); // a device's client id is its id
    if (path === AUTH_HTTP_PATHS.rabbitUser) {
      const b = parseFormBody(RabbitUser, text, path);
      const clientId = b.client_id ?? deviceOf(b.username);
      if (clientId === undefined) return sendText(res, false); // an operator or key session needs its client id bound
      // the backend is not told the client's address: the throttle counts this user name (per address and per user)
      const verdict = await opts.decisions.login({ clientId, username: b.username, password: b.password, address: `rabbitmq:${b.username}` });
      if (verdict !== 'allow') log?.debug('external broker login refused', { verdict, username: b.username, clientId });
      return sendText(res, verdict === 'allow');
    }
    if (path === AUTH_HTTP_PATHS.rabbitVhost) {
      const b = parseFormBody(RabbitVhost, text, path);
      return sendText(res, opts.decisions.known({ username: b.username, clientId: b.client_id }));
    }
    if (path === AUTH_HTTP_PATHS.rabbitResource) {
      const b = parseFormBody(RabbitResource, text, path);
      if (b.resource === 'exchange') return sendText(res, b.name === RABBIT_MQTT_EXCHANGE && b.permission !== 'configure' && opts.decisions.known({ username: b.username }));
      const owner = b.resource === 'queue' ? clientIdOfQueue(b.name) : null;
      return sendText(res, owner !== null && opts.decisions.known({ username: b.username, clientId: owner }));
    }
    const b = parseFormBody(RabbitTopic, text, path);
    const clientId = b['variable_map.client_id'] ?? b.client_id ?? deviceOf(b.username);
    const candidates = mqttTopicsOf(b.routing_key);
    if (b.name !== RABBIT_MQTT_EXCHANGE || b.permission === 'configure' || clientId === undefined || !candidates) return sendText(res, false);
    const action = b.permission === 'write' ? 'publish' : 'subscribe';
    return sendText(res, candidates.some((topic) => opts.decisions.mayAct({ clientId, username: b.username, topic, action })));
  }

  function mayAct(clientId: string, username: string, action: 'publish' | 'subscribe', topics: string[]): boolean {
    const refused = topics.find((topic) => !opts.decisions.mayAct({ clientId, username, topic, action }));
    if (refused !== undefined) log?.debug('external broker action refused', { username, clientId, action, topic: refused });
    return refused === undefined;
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (res.headersSent) return;
      if (err instanceof HttpError) {
        if (err.status === 413) res.setHeader('connection', 'close');
        return send(res, err.status, { error: err.message });
      }
      // an internal failure: deny rather than 5xx (EMQX takes 4xx/5xx as "ignore", which can mean allow)
      log?.error('auth endpoint failed; answering deny', { error: err.message });
      send(res, 200, { result: 'deny', is_superuser: false });
    });
  });
  server.keepAliveTimeout = 65_000; // EMQX keeps a pool of connections
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  return listenHttp(server, opts);
}
