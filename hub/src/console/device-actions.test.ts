import { describe, expect, it } from 'vitest';
import { SosnaError } from '@sosna/protocol';
import { deviceMatches, jobEvent, kindWanted, rebootOutcome } from './device-actions.js';

const rig = { id: 'rig-01-aaaaaa', name: 'rig-01', fleet: 'rigs', tags: ['canary', 'gpu'] };

describe('device actions (pure parts)', () => {
  it('reports each device of a bulk reboot: ok, offline, failed with the reason', () => {
    expect(rebootOutcome(rig, true, null)).toEqual({ deviceId: rig.id, name: 'rig-01', status: 'ok', reason: null });
    expect(rebootOutcome(rig, false, null)).toMatchObject({ status: 'offline', reason: expect.stringMatching(/^offline/) });
    expect(rebootOutcome(rig, true, new SosnaError('E_UNAVAILABLE', 'reboot command "systemctl" not found on PATH'))).toEqual({
      deviceId: rig.id, name: 'rig-01', status: 'failed', reason: 'E_UNAVAILABLE: reboot command "systemctl" not found on PATH',
    });
    expect(rebootOutcome(rig, true, new SosnaError('E_UNAVAILABLE', `device ${rig.id} went offline`)).status).toBe('offline');
    expect(rebootOutcome(rig, true, new SosnaError('E_TIMEOUT', 'did not answer within 10000 ms')).status).toBe('failed');
  });

  it('filters watch events by device, fleet, tag and kind', () => {
    expect(deviceMatches({}, undefined)).toBe(true);
    expect(deviceMatches({ fleet: 'rigs' }, rig)).toBe(true);
    expect(deviceMatches({ fleet: 'boards' }, rig)).toBe(false);
    expect(deviceMatches({ tag: 'canary' }, rig)).toBe(true);
    expect(deviceMatches({ tag: 'stable' }, rig)).toBe(false);
    expect(deviceMatches({ deviceId: rig.id, tag: 'gpu' }, rig)).toBe(true);
    expect(deviceMatches({ deviceId: 'other' }, rig)).toBe(false);
    expect(deviceMatches({ fleet: 'rigs' }, undefined)).toBe(false); // unknown device, filter given
    expect(kindWanted({}, 'telemetry')).toBe(true);
    expect(kindWanted({ kinds: ['online', 'offline'] }, 'telemetry')).toBe(false);
    expect(kindWanted({ kinds: ['online', 'offline'] }, 'offline')).toBe(true);
  });

  it('makes a job event with the distinct devices of its runs', () => {
    const job = { id: 'j-1', state: 'running' as const, reason: null, updatedAt: 5 };
    expect(jobEvent(job, [{ deviceId: 'b' }, { deviceId: 'a' }, { deviceId: 'b' }])).toEqual({ kind: 'job', at: 5, jobId: 'j-1', state: 'running', reason: null, devices: ['a', 'b'] });
  });
});
