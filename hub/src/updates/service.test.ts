import { describe, expect, it } from 'vitest';
import { Wallet } from 'ethers';
import { signRelease, verifyRelease } from '@sosna/protocol';
import { nextRolloutState, pickTargets, rolloutBucket } from './service.js';

describe('release signatures', () => {
  it('verify against the signing key and name the wrong signer otherwise', async () => {
    const key = Wallet.createRandom();
    const other = Wallet.createRandom();
    const m = await signRelease({ version: '0.2.0', sha256: 'b'.repeat(64), size: 1234 }, key);
    expect(verifyRelease(m, key.address)).toEqual({ ok: true });
    const wrong = verifyRelease(m, other.address);
    expect(wrong.ok).toBe(false);
    expect(!wrong.ok && wrong.reason).toContain(key.address.toLowerCase());
    // any change of the signed fields breaks it
    expect(verifyRelease({ ...m, size: 1235 }, key.address).ok).toBe(false);
    expect(verifyRelease({ ...m, version: '0.2.1' }, key.address).ok).toBe(false);
  });
});

describe('rollout state machine', () => {
  it('follows a device from pending to healthy or rolled back', () => {
    expect(nextRolloutState('pending', 'offered')).toBe('offered');
    expect(nextRolloutState('offered', 'downloading')).toBe('downloading');
    expect(nextRolloutState('downloading', 'switched')).toBe('switched');
    expect(nextRolloutState('switched', 'healthy')).toBe('healthy');
    expect(nextRolloutState('switched', 'rolled-back')).toBe('rolled-back');
  });
  it('ignores late or repeated reports after the end, and re-offers only what failed or was refused', () => {
    expect(nextRolloutState('healthy', 'downloading')).toBeNull();
    expect(nextRolloutState('rolled-back', 'healthy')).toBeNull();
    expect(nextRolloutState('switched', 'offered')).toBeNull();
    expect(nextRolloutState('failed', 'reset')).toBe('pending');
    expect(nextRolloutState('refused', 'reset')).toBe('pending');
    expect(nextRolloutState('healthy', 'reset')).toBeNull();
  });
  it('a device that refused an offer while busy with this version still reaches healthy', () => {
    expect(nextRolloutState('refused', 'switched')).toBe('switched');
    expect(nextRolloutState('refused', 'healthy')).toBe('healthy');
    expect(nextRolloutState('refused', 'offered')).toBeNull();
    expect(nextRolloutState('failed', 'healthy')).toBeNull();
  });
});

describe('rollout targets', () => {
  const devices = Array.from({ length: 1000 }, (_, i) => ({ id: `dev-${i}` }));
  it('a percentage picks about that share, and a larger one only adds devices', () => {
    const ten = pickTargets(devices, { percent: 10 }, '1.0.0');
    const fifty = pickTargets(devices, { percent: 50 }, '1.0.0');
    expect(ten.length).toBeGreaterThan(60);
    expect(ten.length).toBeLessThan(140);
    expect(fifty.length).toBeGreaterThan(430);
    expect(ten.every((id) => fifty.includes(id))).toBe(true);
    expect(pickTargets(devices, { percent: 100 }, '1.0.0')).toHaveLength(1000);
    expect(pickTargets(devices, { percent: 0 }, '1.0.0')).toHaveLength(0);
  });
  it('buckets differ per release (the same devices do not always go first)', () => {
    const a = devices.filter((d) => rolloutBucket('1.0.0', d.id) < 10).map((d) => d.id);
    const b = devices.filter((d) => rolloutBucket('1.1.0', d.id) < 10).map((d) => d.id);
    expect(a).not.toEqual(b);
  });
  it('one device', () => {
    expect(pickTargets(devices, { deviceId: 'dev-7' }, '1.0.0')).toEqual(['dev-7']);
  });
});
