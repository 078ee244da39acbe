import { describe, expect, it } from 'vitest';
import { checkConfigValues, DeviceTarget, parseConfigAssignment, REMOTE_CONFIG_FIELDS } from './desired-config.js';

describe('desired config values', () => {
  it('types KEY=VALUE by the field of the config schema', () => {
    expect(parseConfigAssignment('telemetry.intervalSec=30')).toEqual(['telemetry.intervalSec', 30]);
    expect(parseConfigAssignment('jobs.enabled=false')).toEqual(['jobs.enabled', false]);
    expect(parseConfigAssignment('hardware.asicHosts=10.0.0.5,10.0.0.6:4028')).toEqual(['hardware.asicHosts', ['10.0.0.5', '10.0.0.6:4028']]);
    expect(parseConfigAssignment('name=rig a=b')).toEqual(['name', 'rig a=b']);
    expect(() => parseConfigAssignment('telemetry.intervalSec=soon')).toThrow('telemetry.intervalSec=soon: must be a number');
    expect(() => parseConfigAssignment('jobs.enabled=yes')).toThrow('jobs.enabled=yes: must be true or false');
    expect(() => parseConfigAssignment('intervalSec')).toThrow(/use KEY=VALUE/);
  });

  it('never lets a hub set the hub link, secrets, the state dir or the chain checks', () => {
    for (const key of ['hub.url', 'hubPreference', 'owner', 'provisioningKey', 'stateDir', 'dashboard.password', 'dashboard.passwordHash', 'chain.rpcUrl', 'jobs.pidsLimit', 'remoteShell.enabled', 'remoteShell.idleTimeoutSec', 'metrics.enabled', 'metrics.host', 'metrics.port', 'mining.miner.command', 'mining.wallet', 'mining.pool', 'mining.enabled', 'mining.gpus']) {
      expect(REMOTE_CONFIG_FIELDS.has(key), key).toBe(false);
      expect(() => parseConfigAssignment(`${key}=x`)).toThrow(`${key}: not a config key that can be set remotely`);
    }
    expect(REMOTE_CONFIG_FIELDS.get('telemetry.intervalSec')).toBe('number');
  });

  it('checks each value against the config schema and names the key', () => {
    expect(checkConfigValues({ 'telemetry.intervalSec': 30, 'log.level': 'debug' })).toEqual([]);
    expect(checkConfigValues({ 'telemetry.intervalSec': 0 })).toEqual([{ field: 'telemetry.intervalSec', reason: expect.stringMatching(/>=\s*1.*\(got 0\)/) }]);
    expect(checkConfigValues({ 'log.level': 'loud' })).toEqual([{ field: 'log.level', reason: expect.stringContaining('(got "loud")') }]);
    expect(checkConfigValues({ 'hub.url': 'mqtt://evil:1883' })).toEqual([{ field: 'hub.url', reason: 'not a config key that can be set remotely' }]);
    expect(checkConfigValues({})).toEqual([{ field: '(values)', reason: 'nothing to set' }]);
    // a hub never chooses what the device runs (the reboot command) or where it writes (sysfs)
    expect(checkConfigValues({ 'system.rebootCommand': ['sh', '-c', 'x'] })).toEqual([{ field: 'system.rebootCommand', reason: 'not a config key that can be set remotely' }]);
    expect(REMOTE_CONFIG_FIELDS.has('system.sysfsRoot')).toBe(false);
  });

  it('targets exactly one selection of devices', () => {
    expect(DeviceTarget.safeParse({ fleet: 'rigs' }).success).toBe(true);
    expect(DeviceTarget.safeParse({ all: true }).success).toBe(true);
    expect(DeviceTarget.safeParse({}).success).toBe(false);
    expect(DeviceTarget.safeParse({ fleet: 'rigs', tag: 'gpu' }).success).toBe(false);
  });
});
