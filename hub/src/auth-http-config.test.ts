// The authHttp config block (the HTTP authn/authz endpoint for an external broker): off by default,
// loopback, and refusals that name the field and the accepted form.
import { describe, expect, it } from 'vitest';
import { parseOrThrow } from '@sosna/protocol';
import { HubConfig } from './config.js';

const TOKEN = 'test-fixture-token-not-a-secret-0123';

describe('hub config: authHttp', () => {
  it('is off by default; loopback and port 0 (any free port) when asked for', () => {
    expect(HubConfig.parse({}).authHttp).toEqual({ host: '127.0.0.1', port: null });
    expect(HubConfig.parse({ authHttp: { port: 0, token: TOKEN } }).authHttp).toEqual({ host: '127.0.0.1', port: 0, token: TOKEN });
  });

  it('bad values are refused naming the field and the accepted form (never echoing the token)', () => {
    const parse = (authHttp: Record<string, unknown>) => () => parseOrThrow(HubConfig, { authHttp }, 'hub config');
    expect(parse({ port: 8090 })).toThrow('hub config: authHttp.token: the auth endpoint (authHttp.port) needs authHttp.token');
    expect(parse({ port: 70000, token: TOKEN })).toThrow('authHttp.port: must be a port number 0-65535');
    expect(parse({ port: '8090', token: TOKEN })).toThrow('authHttp.port: must be a port number 0-65535 (0: any free port), or null for no auth endpoint');
    expect(parse({ port: 0, token: 'short-secret' })).toThrow('authHttp.token: must be at least 24 characters');
    expect(parse({ port: 0, token: 'short-secret' })).not.toThrow(/short-secret/);
    expect(parse({ port: 0, token: `${TOKEN} with spaces` })).toThrow('authHttp.token: must be printable ASCII without spaces');
    expect(parse({ port: 0, token: TOKEN, host: 'a b' })).toThrow('authHttp.host: must be a host name or an IP address');
    expect(parse({ port: 0, token: TOKEN, path: '/x' })).toThrow('authHttp');
  });
});
