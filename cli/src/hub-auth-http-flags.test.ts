// `sosna hub --auth-http-*` flags -> the hub config's authHttp block, with refusals that name the flag.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubConfig } from '@sosna/hub';
import { hubConfigFrom } from './commands/hub.js';

const dir = mkdtempSync(join(tmpdir(), 'sosna-authhttp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sosna hub auth endpoint flags', () => {
  it('--auth-http-port, --auth-http-host and --auth-http-token-file set the endpoint; off (the default) turns it off', () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'test-fixture-token-not-a-secret-0123\n');
    expect(HubConfig.parse(hubConfigFrom({ dataDir: '/d' })).authHttp.port).toBeNull();
    expect(HubConfig.parse(hubConfigFrom({ dataDir: '/d', authHttpPort: '8090', authHttpHost: '0.0.0.0', authHttpTokenFile: tokenFile })).authHttp)
      .toEqual({ host: '0.0.0.0', port: 8090, token: 'test-fixture-token-not-a-secret-0123' });
    expect(HubConfig.parse(hubConfigFrom({ dataDir: '/d', authHttpPort: 'off' })).authHttp.port).toBeNull();
  });

  it('refuses a bad port, a missing token file, and a port without a token', () => {
    expect(() => hubConfigFrom({ dataDir: '/d', authHttpPort: 'eighty' })).toThrow('--auth-http-port "eighty": must be a port number (0-65535)');
    expect(() => hubConfigFrom({ dataDir: '/d', authHttpTokenFile: join(dir, 'missing') })).toThrow(`--auth-http-token-file ${join(dir, 'missing')}: ENOENT`);
    const r = HubConfig.safeParse(hubConfigFrom({ dataDir: '/d', authHttpPort: '0' }));
    expect(r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')).toContain('authHttp.token: the auth endpoint (authHttp.port) needs authHttp.token');
  });
});
