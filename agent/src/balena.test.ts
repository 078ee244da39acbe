// balena's conventions as the agent reads them (balena.ts) through the real config loader and schema.
import { describe, expect, it } from 'vitest';
import { balenaDevice, withBalenaDefaults } from './balena.js';
import { peekStartup } from './config-file.js';
import { ConfigError, loadConfig } from './config.js';

/** What the balena supervisor gives a container with the balena-socket and supervisor-api labels. */
const supervisor = {
  BALENA: '1',
  BALENA_DEVICE_UUID: '0123456789abcdef0123456789abcdef',
  BALENA_DEVICE_NAME_AT_INIT: 'quiet-meadow',
  BALENA_APP_NAME: 'my fleet',
  BALENA_DEVICE_TYPE: 'raspberrypi4-64',
  BALENA_SUPERVISOR_ADDRESS: 'http://127.0.0.1:48484',
  BALENA_SUPERVISOR_API_KEY: 'test-fixture-key',
  DOCKER_HOST: 'unix:///var/run/balena.sock',
};

describe('balena environment', () => {
  it('a balena device: name, state in /data, the engine socket and tags come from the supervisor; the app variables give the hub', () => {
    const { config, file } = loadConfig({ env: { ...supervisor, SOSNA_HUB_URL: 'mqtt://hub.example:1883', SOSNA_PROVISIONING_KEY: 'k1.s3cret' } });
    expect(file).toBeNull();
    expect(config.hub.url).toBe('mqtt://hub.example:1883');
    expect(config.provisioningKey).toBe('k1.s3cret');
    expect(config.name).toBe('quiet-meadow');
    expect(config.stateDir).toBe('/data/sosna');
    expect(config.jobs.dockerHost).toBe('unix:///var/run/balena.sock');
    expect(config.tags).toEqual(['balena-uuid=0123456789abcdef0123456789abcdef', 'balena-fleet=my-fleet']);
    expect(peekStartup(undefined, { ...supervisor, SOSNA_HUB_URL: 'mqtt://h:1' })?.stateDir).toBe('/data/sosna');
    expect(balenaDevice(supervisor)?.supervisor).toEqual({ address: 'http://127.0.0.1:48484', apiKey: 'test-fixture-key' });
  });

  it('SOSNA_* variables the fleet owner set win over the balena defaults', () => {
    const { config } = loadConfig({ env: { ...supervisor, SOSNA_HUB_URL: 'mqtt://h:1883', SOSNA_NAME: 'rig-7', SOSNA_STATE_DIR: '/data/other', SOSNA_TAGS: 'lab' } });
    expect([config.name, config.stateDir, config.tags]).toEqual(['rig-7', '/data/other', ['lab']]);
  });

  it('without DOCKER_HOST the engine is balena\'s socket path', () => {
    const { DOCKER_HOST: _, ...rest } = supervisor;
    expect(withBalenaDefaults(rest).SOSNA_JOBS_DOCKER_HOST).toBe('unix:///var/run/balena.sock');
  });

  it('a balena environment without the hub URL stops with the variable and the reason', () => {
    let err: unknown;
    try {
      loadConfig({ env: { ...supervisor, SOSNA_PROVISIONING_KEY: 'k1.s3cret' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toHaveLength(1);
    expect((err as ConfigError).problems[0]).toMatch(/^balena environment: SOSNA_HUB_URL: not set: .*balena env add SOSNA_HUB_URL/);
  });

  it('a bad hub URL from a balena variable names the variable, the value and the accepted form', () => {
    expect(() => loadConfig({ env: { ...supervisor, SOSNA_HUB_URL: 'http://hub:80' } })).toThrow(/hub\.url \(from SOSNA_HUB_URL\): .*mqtt/);
  });

  it('off balena nothing changes', () => {
    const env = { SOSNA_HUB_URL: 'mqtt://h:1883' };
    expect(withBalenaDefaults(env)).toBe(env);
    expect(loadConfig({ env }).config.stateDir).toBe('/var/lib/sosna');
  });
});
