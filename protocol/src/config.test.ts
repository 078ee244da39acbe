import { describe, expect, it } from 'vitest';
import { applyEnv, DeviceConfig, envVariables, parseConfig } from './config.js';

describe('device config', () => {
  it('fills defaults from the schema', () => {
    const r = parseConfig(DeviceConfig, { hub: { url: 'mqtt://127.0.0.1:1883' } });
    expect(r.ok && r.config).toMatchObject({ stateDir: '/var/lib/sosna', telemetry: { intervalSec: 10, fullEverySec: 300 }, mqtt: { keepaliveSec: 30 } });
  });

  it('derives environment variables from the schema', () => {
    const names = envVariables(DeviceConfig).map((v) => v.env);
    expect(names).toEqual(expect.arrayContaining(['SOSNA_HUB_URL', 'SOSNA_PROVISIONING_KEY', 'SOSNA_TELEMETRY_INTERVAL_SEC', 'SOSNA_MQTT_KEEPALIVE_SEC', 'SOSNA_LOG_LEVEL']));
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
});
