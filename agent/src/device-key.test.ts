import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, verifySignedReceipt } from '@sosna/protocol';
import type { Receipt } from '@sosna/protocol';
import { DEVICE_KEY_FILE, loadOrCreateDeviceKey } from './device-key.js';
import { StateStore } from './state.js';

let dir: string;
beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'sosna-device-key-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const receipt: Receipt = {
  v: 1, jobId: 'j-1', runId: 'j-1.0.1', deviceId: 'rig-1', image: 'busybox', imageId: `sha256:${'a'.repeat(64)}`, repoDigests: [],
  inputHash: null, outputDigest: null, exitCode: 1, billedSeconds: 1, finishedAt: 1,
};

describe('device key', () => {
  it('is made once (0600), comes back the same after a restart, and signs receipts that verify', () => {
    const a = loadOrCreateDeviceKey(new StateStore(dir), silentLogger);
    expect(statSync(join(dir, DEVICE_KEY_FILE)).mode & 0o777).toBe(0o600);
    const b = loadOrCreateDeviceKey(new StateStore(dir), silentLogger);
    expect(b.publicKey).toBe(a.publicKey);
    expect(verifySignedReceipt(b.sign(receipt))).toBe(true);
  });

  it('an unreadable key file is kept aside and a new key made', () => {
    const a = loadOrCreateDeviceKey(new StateStore(dir), silentLogger);
    writeFileSync(join(dir, DEVICE_KEY_FILE), '{"v":1,"publicKey":"nope"}');
    const b = loadOrCreateDeviceKey(new StateStore(dir), silentLogger);
    expect(b.publicKey).not.toBe(a.publicKey);
    expect(readdirSync(dir).filter((f) => f.startsWith(`${DEVICE_KEY_FILE}.unreadable-`))).toHaveLength(1);
  });
});
