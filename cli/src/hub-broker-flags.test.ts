// `sosna hub --broker` -> the hub config's broker (issue 13), with refusals that name the flag or field.
import { describe, expect, it } from 'vitest';
import { HubConfig } from '@sosna/hub';
import { consoleUrl, hubConfigFrom } from './commands/hub.js';

describe('sosna hub --broker', () => {
  it('takes the login from the URL; the config file may give it instead (passwordFile)', () => {
    const c = HubConfig.parse(hubConfigFrom({ dataDir: '/d', broker: 'mqtt://sosna-hub:p%40ss@broker.lan:1883' }));
    expect(c.broker).toEqual({ url: 'mqtt://broker.lan:1883', username: 'sosna-hub', password: 'p@ss' });
    expect(HubConfig.parse({ broker: { url: 'mqtts://b:8883', username: 'hub', passwordFile: '/etc/pw' }, mqtt: { port: null } }).broker).toMatchObject({ passwordFile: '/etc/pw' });
  });

  it('refuses what is not a URL, a URL of another scheme, and a login without password', () => {
    expect(() => hubConfigFrom({ dataDir: '/d', broker: 'broker.lan' })).toThrow('--broker "broker.lan": not a URL; use mqtt://user:password@host:port');
    const scheme = HubConfig.safeParse(hubConfigFrom({ dataDir: '/d', broker: 'http://u:p@b:80' }));
    expect(scheme.success ? '' : scheme.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')).toContain('broker.url: must be mqtt://host:port or mqtts://host:port');
    const nopw = HubConfig.safeParse(hubConfigFrom({ dataDir: '/d', broker: 'mqtt://u@b:1883' }));
    expect(nopw.success ? '' : nopw.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')).toContain('broker.password: give broker.password or broker.passwordFile');
  });

  it("the hub's console profile names the hub's own console listener; the external broker only when the hub has none", () => {
    expect(consoleUrl({ mqttPort: 1884, mqttsPort: null, tls: null, brokerUrl: 'mqtt://broker.lan:1883' })).toBe('mqtt://127.0.0.1:1884');
    expect(consoleUrl({ mqttPort: null, mqttsPort: null, tls: null, brokerUrl: 'mqtt://broker.lan:1883' })).toBe('mqtt://broker.lan:1883');
  });
});
