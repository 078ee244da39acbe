import { describe, expect, it } from 'vitest';
import { applyEnv, DeviceConfig, envVariables, parseConfig } from './config.js';
import { REMOTE_CONFIG_FIELDS } from './desired-config.js';

describe('device config', () => {
  it('fills defaults from the schema', () => {
    const r = parseConfig(DeviceConfig, { hub: { url: 'mqtt://127.0.0.1:1883' } });
    expect(r.ok && r.config).toMatchObject({ stateDir: '/var/lib/sosna', telemetry: { intervalSec: 10, fullEverySec: 300 }, mqtt: { keepaliveSec: 30 } });
  });

  it('derives environment variables from the schema', () => {
    const names = envVariables(DeviceConfig).map((v) => v.env);
    expect(names).toEqual(expect.arrayContaining(['SOSNA_HUB_URL', 'SOSNA_PROVISIONING_KEY', 'SOSNA_TELEMETRY_INTERVAL_SEC', 'SOSNA_MQTT_KEEPALIVE_SEC', 'SOSNA_LOG_LEVEL']));
    expect(names).not.toContain('SOSNA_HUBS'); // a list of objects (with keys): only in the file, never from a hub's desired config
    expect([...REMOTE_CONFIG_FIELDS.keys()].filter((k) => k.startsWith('hubs'))).toEqual([]);
  });

  it('applies environment overrides with types', () => {
    const { value, sources } = applyEnv(DeviceConfig, { hub: { url: 'mqtt://a:1' } }, { SOSNA_HUB_URL: 'mqtt://b:2', SOSNA_TELEMETRY_INTERVAL_SEC: '5' });
    const r = parseConfig(DeviceConfig, value, { sources });
    expect(r.ok && r.config.hub.url).toBe('mqtt://b:2');
    expect(r.ok && r.config.telemetry.intervalSec).toBe(5);
  });

  it('names file, field, variable, value and reason on errors', () => {
    const { value, sources } = applyEnv(DeviceConfig, { hub: { url: 'http://x' }, extra: 1 }, { SOSNA_TELEMETRY_INTERVAL_SEC: 'soon' });
    const r = parseConfig(DeviceConfig, value, { file: '/etc/sosna/config.json', sources });
    expect(r.ok).toBe(false);
    const text = r.ok ? '' : r.errors.join('\n');
    expect(text).toContain('/etc/sosna/config.json: hub.url: must be an mqtt://');
    expect(text).toContain('(got "http://x")');
    expect(text).toContain('telemetry.intervalSec (from SOSNA_TELEMETRY_INTERVAL_SEC)');
    expect(text).toMatch(/\(root\): Unrecognized key.*extra/);
  });

  it('never prints a secret in an error', () => {
    const r = parseConfig(DeviceConfig, { hub: { url: 'mqtt://a:1' }, provisioningKey: 'hunter2 with spaces' });
    expect(r.ok ? '' : r.errors.join()).not.toContain('hunter2');
    expect(r.ok ? '' : r.errors.join()).toContain('value hidden');
  });
  it('takes a list of other hubs, each joinable (its own or the top-level provisioning key), and names the bad entry', () => {
    const ok = parseConfig(DeviceConfig, { hub: { url: 'mqtt://a:1' }, provisioningKey: 'k.s', hubs: [{ url: 'mqtt://b:2', owner: `0x${'ab'.repeat(20)}` }, { url: 'mqtt://c:3', provisioningKey: 'k2.s2' }] });
    expect(ok.ok && ok.config.hubs).toEqual([{ url: 'mqtt://b:2', owner: `0x${'ab'.repeat(20)}` }, { url: 'mqtt://c:3', provisioningKey: 'k2.s2' }]);
    expect(parseConfig(DeviceConfig, { hub: { url: 'mqtt://a:1' } })).toMatchObject({ ok: true, config: { hubs: [] } });
    const bad = parseConfig(DeviceConfig, { hub: { url: 'mqtt://a:1' }, hubs: [{ url: 'mqtt://a:1', provisioningKey: 'k.s' }, { url: 'mqtt://b:2' }, { url: 'http://c' }] }, { file: 'c.json' });
    const text = bad.ok ? '' : bad.errors.join('\n');
    expect(text).toContain('c.json: hubs.2.url: must be an mqtt://');
    const dup = parseConfig(DeviceConfig, { hub: { url: 'mqtt://a:1' }, hubs: [{ url: 'mqtt://a:1', provisioningKey: 'k.s' }, { url: 'mqtt://b:2' }] }, { file: 'c.json' });
    const dupText = dup.ok ? '' : dup.errors.join('\n');
    expect(dupText).toContain('c.json: hubs.0.url: mqtt://a:1 is already configured as hub.url');
    expect(dupText).toContain('hubs.1.provisioningKey: hub mqtt://b:2 needs a provisioningKey');
  });

  it('metrics: off by default; the owner turns it on in the file or the environment; a bad value names the field and the reason', () => {
    const def = parseConfig(DeviceConfig, { hub: { url: 'mqtt://a:1' } });
    expect(def.ok && def.config.metrics).toEqual({ enabled: false, host: '127.0.0.1', port: 9481 });
    const { value, sources } = applyEnv(DeviceConfig, { hub: { url: 'mqtt://a:1' } }, { SOSNA_METRICS_ENABLED: 'true', SOSNA_METRICS_PORT: '0', SOSNA_METRICS_HOST: '0.0.0.0' });
    const on = parseConfig(DeviceConfig, value, { sources });
    expect(on.ok && on.config.metrics).toEqual({ enabled: true, host: '0.0.0.0', port: 0 });
    const bad = parseConfig(DeviceConfig, { hub: { url: 'mqtt://a:1' }, metrics: { enabled: 'yes', port: 99999, host: 'a b' } }, { file: 'c.json' });
    const text = bad.ok ? '' : bad.errors.join('\n');
    expect(text).toContain('c.json: metrics.enabled: must be true or false (true: serve Prometheus /metrics on metrics.host:metrics.port) (got "yes")');
    expect(text).toContain('c.json: metrics.port: must be a port number 0-65535 (got 99999)');
    expect(text).toContain('c.json: metrics.host: must be a host name or an IP address');
    const env = applyEnv(DeviceConfig, { hub: { url: 'mqtt://a:1' } }, { SOSNA_METRICS_PORT: 'nine' });
    const fromEnv = parseConfig(DeviceConfig, env.value, { sources: env.sources });
    expect(fromEnv.ok ? '' : fromEnv.errors.join()).toContain('metrics.port (from SOSNA_METRICS_PORT): must be a port number 0-65535 (0: any free port) (got "nine")');
  });
});
