import { describe, expect, it } from 'vitest';
import { identifyLines, parseKinds, rebootSummary, watchLine } from './commands/device-actions.js';

describe('console device actions: output', () => {
  it('prints a reboot table, failures first, and a tally', () => {
    const out = rebootSummary([
      { deviceId: 'a-1', name: 'a', status: 'ok', reason: null },
      { deviceId: 'c-1', name: 'c', status: 'offline', reason: 'offline: not rebooted' },
      { deviceId: 'b-1', name: 'b', status: 'failed', reason: 'E_TIMEOUT: no answer' },
    ]);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^DEVICE\s+NAME\s+RESULT\s+NOTE$/);
    expect(lines.slice(1, 4).map((l) => l.split(/\s+/)[2])).toEqual(['failed', 'offline', 'ok']);
    expect(lines[4]).toBe('3 device(s): 1 rebooting, 1 offline, 1 failed');
  });

  it('says where a device is, blinking or not', () => {
    const found = { name: 'rig-01', hostname: 'rig01', addresses: ['10.0.0.5', 'fe80::1'] };
    expect(identifyLines('rig-01-a', { supported: true, reason: null, led: 'ACT', seconds: 15, ...found })).toBe(
      'device rig-01-a (rig-01): blinking LED ACT for 15 s\n  host rig01, addresses 10.0.0.5, fe80::1\n',
    );
    expect(identifyLines('rig-01-a', { supported: false, reason: 'no LEDs under /sys/class/leds', led: null, seconds: 0, ...found, addresses: [] })).toBe(
      'device rig-01-a (rig-01): unsupported: no LEDs under /sys/class/leds\n  host rig01, addresses -\n',
    );
  });

  it('prints one line per watch event', () => {
    const at = Date.UTC(2025, 0, 1, 12, 30, 5, 250);
    expect(watchLine({ kind: 'online', deviceId: 'd-1', name: 'd', at, agentVersion: '0.3.0' })).toBe('12:30:05.250 online    d-1 (d) agent 0.3.0');
    expect(watchLine({ kind: 'offline', deviceId: 'd-1', name: 'd', at })).toBe('12:30:05.250 offline   d-1 (d)');
    expect(watchLine({ kind: 'telemetry', deviceId: 'd-1', name: 'd', at, metrics: { 'cpu.loadPct': 12, 'mem.usedPct': 40 } })).toBe('12:30:05.250 telemetry d-1 (d) cpu.loadPct=12 mem.usedPct=40');
    expect(watchLine({ kind: 'job', at, jobId: 'j-1', state: 'running', reason: null, devices: ['d-1'] })).toBe('12:30:05.250 job       j-1 running on d-1');
  });

  it('parses --kind and refuses unknown kinds by name', () => {
    expect(parseKinds(undefined)).toBeUndefined();
    expect(parseKinds('online, telemetry')).toEqual(['online', 'telemetry']);
    expect(() => parseKinds('online,births')).toThrow(/--kind "online,births": use one or more of online, offline, telemetry, job/);
  });
});
