// Issue 13 item 3: the hub's HTTP authentication/authorization endpoint for an external broker cluster, in
// EMQX 5's HTTP authn/authz format. EMQX cannot be installed here, so these are contract tests: each request is
// built the way EMQX builds it (the operator's body template from EMQX's docs, placeholders filled with a
// client's values, the `headers` setting's Authorization header) and sent to a real in-process hub over a
// real socket; the answers are checked against the documented response shapes. The devices, operator and
// keys are real ones, provisioned in the hub's store; the embedded broker (same rules) answers alongside.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { addOperator, createProvisioningKey, hashMachineSecret, preIssueDevice, revokeProvisioningKey, startHub, verifySecret } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { clientIds, silentLogger, topics, usernames } from '@sosna/protocol';
import { tempDir } from './helpers.js';

const tmp = tempDir();
const TOKEN = 'test-fixture-token-not-a-secret-0123456789';
let hub: Hub;
let base: string;
/** The stored hashes each login was checked against (the hub's hash work, observed). */
const verified: string[] = [];
let devA: { deviceId: string; username: string; password: string };
let devB: { deviceId: string; username: string; password: string };

// EMQX 5's documented body templates (Dashboard: Access Control > Authentication/Authorization > HTTP Server).
const AUTHN_TEMPLATE = { username: '${username}', password: '${password}', clientid: '${clientid}', peerhost: '${peerhost}' };
const AUTHZ_TEMPLATE = { username: '${username}', clientid: '${clientid}', topic: '${topic}', action: '${action}', qos: '${qos}', retain: '${retain}' };

/** Fills a template's placeholders the way EMQX renders a JSON body: each value inside its JSON string. */
function render(template: Record<string, string>, vars: Record<string, string>): string {
  const filled = Object.fromEntries(Object.entries(template).map(([k, v]) => [k, v.replace(/\$\{(\w+)\}/g, (_, name: string) => vars[name] ?? '')]));
  return JSON.stringify(filled);
}

async function post(path: string, body: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<{ status: number; type: string | null; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), json: JSON.parse(text) as Record<string, unknown> };
}

const authn = (vars: { username: string; password: string; clientid: string; peerhost?: string }) =>
  post('/emqx/authn', render(AUTHN_TEMPLATE, { peerhost: '192.0.2.10', ...vars }));
const authz = (vars: { username: string; clientid: string; topic: string; action: 'publish' | 'subscribe'; qos?: string; retain?: string }) =>
  post('/emqx/authz', render(AUTHZ_TEMPLATE, { qos: '1', retain: 'false', ...vars }));

beforeAll(async () => {
  const verify = (secret: string, stored: string) => {
    verified.push(stored);
    return verifySecret(secret, stored);
  };
  hub = await startHub(
    {
      dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, chain: { mode: 'off' },
      authHttp: { port: 0, token: TOKEN },
    },
    {
      log: silentLogger, verify,
      // an address locks after 3 failures; a user name only after many (so the address's lock is what shows)
      loginThrottle: { byAddress: { free: 3, leakMs: 600_000, baseMs: 600_000, maxMs: 600_000 }, byUser: { free: 100, leakMs: 60_000, baseMs: 1000, maxMs: 60_000 }, maxEntries: 1000 },
    },
  );
  base = hub.authHttp!.url;
  devA = await preIssueDevice(hub.store, { name: 'rig-a', fleet: null });
  devB = await preIssueDevice(hub.store, { name: 'rig-b', fleet: null });
}, 60_000);
afterAll(async () => {
  await hub?.stop();
  tmp.cleanup();
});

describe('EMQX 5 HTTP authentication (POST /emqx/authn)', () => {
  it('answers 200 application/json {"result":"allow","is_superuser":false} for a device with its password', async () => {
    const r = await authn({ username: devA.username, password: devA.password, clientid: devA.deviceId });
    expect(r).toEqual({ status: 200, type: 'application/json', json: { result: 'allow', is_superuser: false } });
  });

  it('denies a wrong password, an unknown device (after the same hash work) and a device under another client id', async () => {
    expect((await authn({ username: devA.username, password: `${devA.password}x`, clientid: devA.deviceId, peerhost: '192.0.2.20' })).json).toEqual({ result: 'deny', is_superuser: false });
    const before = verified.length;
    expect((await authn({ username: usernames.device('no-such-rig'), password: devA.password, clientid: 'no-such-rig', peerhost: '192.0.2.21' })).json).toEqual({ result: 'deny', is_superuser: false });
    expect(verified.slice(before).map((h) => h.split('$')[0])).toEqual(['sha256']); // a dummy machine hash, like a real device's
    // the client-id binding: device A's credentials under device B's id
    expect((await authn({ username: devA.username, password: devA.password, clientid: devB.deviceId, peerhost: '192.0.2.22' })).json).toEqual({ result: 'deny', is_superuser: false });
    // a user name that names no kind of principal
    expect((await authn({ username: 'admin', password: 'admin', clientid: 'x', peerhost: '192.0.2.23' })).json).toEqual({ result: 'deny', is_superuser: false });
  });

  it("an operator logs in with its password under op-{name}-…; a provisioning key until it is revoked", async () => {
    const { password } = await addOperator(hub.store, 'alice', 'admin', { N: 1024, r: 8, p: 1 });
    expect((await authn({ username: usernames.operator('alice'), password, clientid: clientIds.operator('alice', 'c1') })).json.result).toBe('allow');
    expect((await authn({ username: usernames.operator('alice'), password, clientid: 'someone-else' })).json.result).toBe('deny');
    const { key, row } = await createProvisioningKey(hub.store, { fleet: 'f' });
    const secret = key.slice(key.indexOf('.') + 1);
    const asKey = { username: usernames.provision(row.id), password: secret, clientid: clientIds.provision('n1') };
    expect((await authn(asKey)).json.result).toBe('allow');
    revokeProvisioningKey(hub.store, row.id);
    expect((await authn(asKey)).json.result).toBe('deny');
  });

  it("throttles by the device's address from the body (peerhost): refused before any hash, other addresses unaffected", async () => {
    for (let i = 0; i < 4; i++) {
      expect((await authn({ username: usernames.device(`guess-${i}`), password: 'guess', clientid: `guess-${i}`, peerhost: '198.51.100.7' })).json.result).toBe('deny');
    }
    const before = verified.length;
    // the right password from the locked address: denied, and no hash was computed (no oracle for guessing)
    expect((await authn({ username: devB.username, password: devB.password, clientid: devB.deviceId, peerhost: '198.51.100.7' })).json).toEqual({ result: 'deny', is_superuser: false });
    expect(verified.length).toBe(before);
    expect((await authn({ username: devB.username, password: devB.password, clientid: devB.deviceId, peerhost: '198.51.100.8' })).json.result).toBe('allow');
  });
});

describe('EMQX 5 HTTP authorization (POST /emqx/authz)', () => {
  const own = () => ({ username: devA.username, clientid: devA.deviceId });

  it("allows a device its own topics: publish state/telemetry/rpc out, subscribe rpc in and config", async () => {
    for (const ch of ['state', 'telemetry', 'rpc/out'] as const) {
      expect(await authz({ ...own(), topic: topics.device(hub.hubId, devA.deviceId, ch), action: 'publish' })).toEqual({ status: 200, type: 'application/json', json: { result: 'allow' } });
    }
    for (const ch of ['rpc/in', 'config'] as const) {
      expect((await authz({ ...own(), topic: topics.device(hub.hubId, devA.deviceId, ch), action: 'subscribe', qos: '1' })).json).toEqual({ result: 'allow' });
    }
  });

  it("denies another device's topics, wildcards, its own inbound topic for publish and the hub's announcements for publish", async () => {
    for (const ch of ['state', 'telemetry', 'rpc/out'] as const) {
      expect((await authz({ ...own(), topic: topics.device(hub.hubId, devB.deviceId, ch), action: 'publish' })).json).toEqual({ result: 'deny' });
    }
    expect((await authz({ ...own(), topic: topics.device(hub.hubId, devB.deviceId, 'rpc/in'), action: 'subscribe' })).json).toEqual({ result: 'deny' });
    expect((await authz({ ...own(), topic: topics.deviceAll(hub.hubId, 'rpc/in'), action: 'subscribe' })).json).toEqual({ result: 'deny' });
    expect((await authz({ ...own(), topic: '#', action: 'subscribe' })).json).toEqual({ result: 'deny' });
    expect((await authz({ ...own(), topic: topics.device(hub.hubId, devA.deviceId, 'rpc/in'), action: 'publish' })).json).toEqual({ result: 'deny' });
    expect((await authz({ ...own(), topic: topics.announce(hub.hubId), action: 'publish', retain: 'true' })).json).toEqual({ result: 'deny' });
    expect((await authz({ ...own(), topic: topics.announce(hub.hubId), action: 'subscribe' })).json).toEqual({ result: 'allow' });
  });

  it('denies what does not identify a live client: a user name that does not parse, a client id not its own, an unknown device, a removed operator, a revoked key', async () => {
    const topic = topics.device(hub.hubId, devA.deviceId, 'state');
    expect((await authz({ username: 'admin', clientid: devA.deviceId, topic, action: 'publish' })).json).toEqual({ result: 'deny' });
    expect((await authz({ username: '', clientid: devA.deviceId, topic, action: 'publish' })).json).toEqual({ result: 'deny' });
    expect((await authz({ username: devA.username, clientid: devB.deviceId, topic, action: 'publish' })).json).toEqual({ result: 'deny' });
    const ghost = topics.device(hub.hubId, 'ghost-1', 'state');
    expect((await authz({ username: usernames.device('ghost-1'), clientid: 'ghost-1', topic: ghost, action: 'publish' })).json).toEqual({ result: 'deny' });

    await addOperator(hub.store, 'bob', 'operator', { N: 1024, r: 8, p: 1 });
    const bob = { username: usernames.operator('bob'), clientid: clientIds.operator('bob', 's1'), topic: topics.console(hub.hubId, 'bob', 'in'), action: 'publish' as const };
    expect((await authz(bob)).json).toEqual({ result: 'allow' });
    expect((await authz({ ...bob, topic: topics.console(hub.hubId, 'alice', 'in') })).json).toEqual({ result: 'deny' });
    hub.store.removeOperator('bob');
    expect((await authz(bob)).json).toEqual({ result: 'deny' });

    const { row } = await createProvisioningKey(hub.store, { fleet: 'f' });
    const session = { username: usernames.provision(row.id), clientid: clientIds.provision('n2'), topic: topics.provision(hub.hubId, 'prov-n2', 'in'), action: 'publish' as const };
    expect((await authz(session)).json).toEqual({ result: 'allow' });
    revokeProvisioningKey(hub.store, row.id);
    expect((await authz(session)).json).toEqual({ result: 'deny' });
  });

  it('takes qos and retain as EMQX renders them, quoted or bare', async () => {
    const topic = topics.device(hub.hubId, devA.deviceId, 'state');
    const body = JSON.stringify({ username: devA.username, clientid: devA.deviceId, topic, action: 'publish', qos: 1, retain: true });
    expect((await post('/emqx/authz', body)).json).toEqual({ result: 'allow' });
  });
});

describe('the endpoint itself', () => {
  const good = () => render(AUTHN_TEMPLATE, { username: devA.username, password: devA.password, clientid: devA.deviceId, peerhost: '192.0.2.30' });

  it('refuses a request without the shared token, or with a wrong one, with 401 (curl)', async () => {
    const curl = (args: string[]) => new Promise<string>((resolve, reject) =>
      execFile('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', 'content-type: application/json', '--data-binary', good(), ...args, `${base}/emqx/authn`], (err, out) => (err ? reject(err) : resolve(out))));
    expect(await curl([])).toBe('401');
    expect(await curl(['-H', 'Authorization: Bearer wrong-token-wrong-token-wrong'])).toBe('401');
    expect(await curl(['-H', `Authorization: Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`])).toBe('401');
    expect(await curl(['-H', `Authorization: Bearer ${TOKEN}`])).toBe('200');
    const r = await post('/emqx/authn', good(), {});
    expect(r.status).toBe(401);
    expect(r.json.error).toMatch(/Authorization: Bearer/);
  });

  it('refuses an oversized body with 413, announced or streamed in chunks', async () => {
    const big = JSON.stringify({ username: devA.username, password: 'x'.repeat(20_000), clientid: devA.deviceId });
    const r = await post('/emqx/authn', big);
    expect(r.status).toBe(413);
    expect(r.json.error).toMatch(/at most 16384/);
    // chunked: no content-length, the limit is found while reading
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/emqx/authn`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 40; i++) req.write('x'.repeat(1024));
      req.end();
    });
    expect(status).toBe(413);
  });

  it('answers malformed JSON and a body without the documented fields with 400 naming the problem', async () => {
    const bad = await post('/emqx/authn', '{"username": "dev:a", "password": ');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/^\/emqx\/authn: body is not JSON/);
    const missing = await post('/emqx/authn', JSON.stringify({ username: devA.username, password: devA.password }));
    expect(missing.status).toBe(400);
    expect(missing.json.error).toMatch(/clientid: must be a string/);
    // without ${peerhost} every login would share the broker's address in the throttle: refused, naming it
    const noPeer = await post('/emqx/authn', JSON.stringify({ username: devA.username, password: devA.password, clientid: devA.deviceId }));
    expect(noPeer).toMatchObject({ status: 400, json: { error: '/emqx/authn: peerhost: must be an IP address (EMQX: "${peerhost}")' } });
    const action = await post('/emqx/authz', JSON.stringify({ username: devA.username, clientid: devA.deviceId, topic: 't', action: 'all' }));
    expect(action.status).toBe(400);
    expect(action.json.error).toMatch(/action: must be "publish" or "subscribe"/);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    expect((await fetch(`${base}/nope`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    const get = await fetch(`${base}/emqx/authn`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('a port in use is refused naming the setting', async () => {
    await expect(startHub(
      { dataDir: join(tmp.dir, 'busy'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, chain: { mode: 'off' }, authHttp: { port: hub.authHttp!.port, token: TOKEN } },
      { log: silentLogger },
    )).rejects.toThrow(`authHttp.port (--auth-http-port): port ${hub.authHttp!.port} on 127.0.0.1 is already in use`);
  });

  it('is named in runtime.json', async () => {
    const { readFileSync } = await import('node:fs');
    const runtime = JSON.parse(readFileSync(join(hub.dataDir, 'runtime.json'), 'utf8')) as Record<string, unknown>;
    expect(runtime).toMatchObject({ authHttpPort: hub.authHttp!.port, authHttpUrl: base });
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

// VerneMQ's webhooks (vmq_webhooks): POST with the `vernemq-hook` header and the documented JSON payloads. The
// webhooks plugin sends no custom headers, so the token travels as the path prefix /t/<token>.
describe('VerneMQ webhooks (POST /t/<token>/vernemq/auth_on_*)', () => {
  const hook = async (name: string, body: Record<string, unknown>, token = TOKEN) => {
    const res = await fetch(`${base}/t/${encodeURIComponent(token)}/vernemq/${name}`, { method: 'POST', headers: { 'vernemq-hook': name, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as unknown };
  };
  const register = (o: { username: string | null; password: string | null; client_id: string; peer_addr?: string }) =>
    hook('auth_on_register', { peer_addr: '192.0.2.40', peer_port: 8888, mountpoint: '', clean_session: false, ...o });
  const NOT_ALLOWED = { result: { error: 'not_allowed' } };

  it('auth_on_register: {"result":"ok"} for a device with its password; not_allowed for a wrong one, no user name, another id', async () => {
    expect(await register({ username: devA.username, password: devA.password, client_id: devA.deviceId })).toEqual({ status: 200, json: { result: 'ok' } });
    expect((await register({ username: devA.username, password: 'wrong', client_id: devA.deviceId })).json).toEqual(NOT_ALLOWED);
    expect((await register({ username: null, password: null, client_id: devA.deviceId })).json).toEqual(NOT_ALLOWED);
    expect((await register({ username: devA.username, password: devA.password, client_id: devB.deviceId })).json).toEqual(NOT_ALLOWED);
    // the MQTT 5 hook takes the same body (plus clean_start and properties)
    expect((await hook('auth_on_register_m5', { peer_addr: '192.0.2.41', peer_port: 8888, mountpoint: '', client_id: devB.deviceId, username: devB.username, password: devB.password, clean_start: true, properties: {} })).json).toEqual({ result: 'ok' });
  });

  it('auth_on_publish: its own state ok, another device\'s not_allowed; the payload (base64) within the bound', async () => {
    const pub = (topic: string) => hook('auth_on_publish', { username: devA.username, client_id: devA.deviceId, mountpoint: '', qos: 1, topic, payload: Buffer.alloc(40_000).toString('base64'), retain: false });
    expect(await pub(topics.device(hub.hubId, devA.deviceId, 'state'))).toEqual({ status: 200, json: { result: 'ok' } });
    expect((await pub(topics.device(hub.hubId, devB.deviceId, 'state'))).json).toEqual(NOT_ALLOWED);
  });

  it('auth_on_subscribe: all topics its own ok; any other device\'s topic refuses the whole subscribe', async () => {
    const sub = (list: string[]) => hook('auth_on_subscribe', { client_id: devA.deviceId, mountpoint: '', username: devA.username, topics: list.map((topic) => ({ topic, qos: 1 })) });
    expect((await sub([topics.device(hub.hubId, devA.deviceId, 'rpc/in'), topics.device(hub.hubId, devA.deviceId, 'config')])).json).toEqual({ result: 'ok' });
    expect((await sub([topics.device(hub.hubId, devA.deviceId, 'rpc/in'), topics.device(hub.hubId, devB.deviceId, 'rpc/in')])).json).toEqual(NOT_ALLOWED);
    expect((await sub(['#'])).json).toEqual(NOT_ALLOWED);
  });

  it('refuses a wrong token in the path with 401 and a malformed payload with 400', async () => {
    expect((await hook('auth_on_register', { peer_addr: '192.0.2.42', username: devA.username, password: devA.password, client_id: devA.deviceId }, 'wrong-token-wrong-token-wrong')).status).toBe(401);
    expect((await fetch(`${base}/t/%zz/vernemq/auth_on_register`, { method: 'POST', body: '{}' })).status).toBe(401);
    const bad = await hook('auth_on_subscribe', { client_id: devA.deviceId, username: devA.username, topics: 'a/b' });
    expect(bad).toEqual({ status: 400, json: { error: '/vernemq/auth_on_subscribe: topics: must be an array of {topic, qos}' } });
  });
});

// RabbitMQ's rabbitmq_auth_backend_http (http_method = post): form-encoded parameters as its README lists
// them, plain-text answers. Its MQTT plugin sends client_id with the login and variable_map.client_id with
// topic checks; topic checks carry the AMQP routing key (MQTT's / as ., + as *). It sends no custom
// headers: the token is the path prefix.
describe('RabbitMQ HTTP auth backend (/t/<token>/rabbitmq/auth/*)', () => {
  const ask = async (path: string, params: Record<string, string>, method: 'POST' | 'GET' = 'POST') => {
    const q = new URLSearchParams(params).toString();
    const u = `${base}/t/${TOKEN}/rabbitmq/auth/${path}`;
    const res = method === 'POST'
      ? await fetch(u, { method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: q })
      : await fetch(`${u}?${q}`);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  const rk = (topic: string) => topic.replace(/\//g, '.').replace(/\+/g, '*'); // rabbit_mqtt_util:to_amqp

  it('user: allow for a device with its password (POST or GET), deny for a wrong one or another client id', async () => {
    expect(await ask('user', { username: devA.username, password: devA.password, client_id: devA.deviceId, vhost: '/' })).toEqual({ status: 200, type: 'text/plain', text: 'allow' });
    expect((await ask('user', { username: devA.username, password: devA.password, client_id: devA.deviceId }, 'GET')).text).toBe('allow');
    expect((await ask('user', { username: devA.username, password: 'wrong', client_id: devA.deviceId })).text).toBe('deny');
    expect((await ask('user', { username: devA.username, password: devA.password, client_id: devB.deviceId })).text).toBe('deny');
    expect((await ask('user', { username: 'guest', password: 'guest' })).text).toBe('deny');
  });

  it('vhost and resource: a live principal; amq.topic to read and write, only its own mqtt-* queues', async () => {
    expect((await ask('vhost', { username: devA.username, vhost: '/', ip: '192.0.2.50' })).text).toBe('allow');
    expect((await ask('vhost', { username: usernames.device('ghost-2'), vhost: '/', ip: '192.0.2.50' })).text).toBe('deny');
    const res = (resource: string, name: string, permission: string) => ask('resource', { username: devA.username, vhost: '/', resource, name, permission });
    expect((await res('exchange', 'amq.topic', 'write')).text).toBe('allow');
    expect((await res('exchange', 'amq.topic', 'configure')).text).toBe('deny');
    expect((await res('exchange', 'amq.direct', 'write')).text).toBe('deny');
    expect((await res('queue', `mqtt-subscription-${devA.deviceId}qos1`, 'configure')).text).toBe('allow');
    expect((await res('queue', `mqtt-subscription-${devB.deviceId}qos1`, 'read')).text).toBe('deny');
    expect((await res('queue', 'orders', 'read')).text).toBe('deny');
  });

  it('topic: its own state (write) and rpc/in (read) allowed; another device\'s denied; wildcards denied', async () => {
    const topic = (routing: string, permission: 'write' | 'read', clientId = devA.deviceId) =>
      ask('topic', { username: devA.username, vhost: '/', resource: 'topic', name: 'amq.topic', permission, routing_key: routing, 'variable_map.client_id': clientId, 'variable_map.username': devA.username, 'variable_map.vhost': '/' });
    expect((await topic(rk(topics.device(hub.hubId, devA.deviceId, 'state')), 'write')).text).toBe('allow');
    expect((await topic(rk(topics.device(hub.hubId, devA.deviceId, 'rpc/in')), 'read')).text).toBe('allow');
    expect((await topic(rk(topics.device(hub.hubId, devB.deviceId, 'state')), 'write')).text).toBe('deny');
    expect((await topic(rk(topics.device(hub.hubId, devB.deviceId, 'rpc/in')), 'read')).text).toBe('deny');
    expect((await topic(rk(topics.device(hub.hubId, devA.deviceId, 'rpc/in')), 'write')).text).toBe('deny');
    expect((await topic(rk(topics.deviceAll(hub.hubId, 'rpc/in')), 'read')).text).toBe('deny');
    expect((await topic('#', 'read')).text).toBe('deny');
    expect((await topic(rk(topics.device(hub.hubId, devA.deviceId, 'state')), 'write', devB.deviceId)).text).toBe('deny');
  });

  it('a device id with dots (ids may hold them): the routing key is read back to the topic it came from', async () => {
    hub.store.createDevice({ id: 'rig.07', name: 'rig.07', fleet: null, tags: [], secretHash: hashMachineSecret('test-fixture-secret-rig07'), createdAt: Date.now() });
    const ask7 = (routing: string) => ask('topic', { username: usernames.device('rig.07'), vhost: '/', resource: 'topic', name: 'amq.topic', permission: 'write', routing_key: routing, 'variable_map.client_id': 'rig.07' });
    expect((await ask7(rk(topics.device(hub.hubId, 'rig.07', 'telemetry')))).text).toBe('allow');
    expect((await ask7(rk(topics.device(hub.hubId, devA.deviceId, 'telemetry')))).text).toBe('deny');
    expect((await ask('user', { username: usernames.device('rig.07'), password: 'test-fixture-secret-rig07', client_id: 'rig.07' })).text).toBe('allow');
  });

  it('without the token 401; a missing parameter 400 naming it', async () => {
    expect((await fetch(`${base}/rabbitmq/auth/user`, { method: 'POST', body: 'username=a&password=b' })).status).toBe(401);
    const r = await ask('resource', { username: devA.username, vhost: '/', resource: 'exchange', name: 'amq.topic' });
    expect(r).toMatchObject({ status: 400, text: expect.stringContaining('permission: must be configure, write or read') });
  });
});
