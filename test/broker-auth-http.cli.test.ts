// `sosna hub --auth-http-port`: the built CLI serves the external-broker auth endpoint, names it in its ready
// line and runtime.json, and refuses a port without a token naming the field. Real process, real sockets, curl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, cli, requireBuild, start } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
const TOKEN = 'test-fixture-token-not-a-secret-cli-0123';
const hubDir = join(tmp.dir, 'hub');
let hub: Proc;
let url: string;

const curl = (args: string[]) => new Promise<string>((resolve, reject) =>
  execFile('curl', ['-sS', '-w', '\n%{http_code}', ...args], (err, out) => (err ? reject(err) : resolve(out))));

beforeAll(async () => {
  requireBuild();
  const tokenFile = join(tmp.dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--host', '127.0.0.1', '--port', '0', '--ws-port', 'off', '--no-chain', '--auth-http-port', '0', '--auth-http-token-file', tokenFile]);
  url = (await hub.waitFor(/broker auth endpoint: (http:\/\/127\.0\.0\.1:\d+)\/emqx\/authn, \S+\/emqx\/authz\n/))[1]!;
}, 120_000);
afterAll(async () => {
  await hub?.stop('SIGKILL');
  tmp.cleanup();
});

describe('sosna hub --auth-http-port', { timeout: 120_000 }, () => {
  it('names the endpoint in runtime.json', () => {
    const runtime = JSON.parse(readFileSync(join(hubDir, 'runtime.json'), 'utf8')) as { authHttpUrl: string; authHttpPort: number };
    expect(runtime.authHttpUrl).toBe(url);
    expect(url).toBe(`http://127.0.0.1:${runtime.authHttpPort}`);
  });

  it('answers EMQX with the token (a provisioning key from `sosna hub keys create`), 401 without', async () => {
    const r = await cli(['hub', 'keys', 'create', '--fleet', 'f', '--data-dir', hubDir]);
    expect(r.code, r.output).toBe(0);
    const key = r.stdout.trim();
    const id = key.slice(0, key.indexOf('.'));
    const body = (password: string) => JSON.stringify({ username: `key:${id}`, password, clientid: 'prov-n1', peerhost: '192.0.2.1' });
    const args = (password: string) => ['-X', 'POST', '-H', 'content-type: application/json', '--data-binary', body(password), `${url}/emqx/authn`];
    expect(await curl(['-H', `Authorization: Bearer ${TOKEN}`, ...args(key.slice(id.length + 1))])).toBe('{"result":"allow","is_superuser":false}\n200');
    expect(await curl(['-H', `Authorization: Bearer ${TOKEN}`, ...args('wrong')])).toBe('{"result":"deny","is_superuser":false}\n200');
    expect((await curl(args(key.slice(id.length + 1)))).endsWith('\n401')).toBe(true);
  });

  it('refuses a port without a token, naming the field', async () => {
    const r = await cli(['hub', '--data-dir', join(tmp.dir, 'bad'), '--port', '0', '--ws-port', 'off', '--no-chain', '--auth-http-port', '0']);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('authHttp.token: the auth endpoint (authHttp.port) needs authHttp.token');
  });
});
