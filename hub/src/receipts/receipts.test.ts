// The hub's side of device keys and receipts: the key registry (first key wins, a change is refused until
// an admin clears it) and the receipt check against the registered key and the recorded run.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, keyBindingSigner, publicKeyText, signReceipt } from '@sosna/protocol';
import type { Receipt } from '@sosna/protocol';
import { openSqliteStore } from '../store/sqlite.js';
import type { HubStore } from '../store/types.js';
import { checkReceipt } from './check.js';
import { DeviceKeys } from './keys.js';

// Test fixture: anvil's public dev account #0 as the hub owner; device keys are made per run.
const HUB_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const device = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey: publicKeyText(publicKey) };
};

let dir: string;
let store: HubStore;
let keys: DeviceKeys;
const hub = new Wallet(HUB_KEY);
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sosna-receipts-'));
  store = openSqliteStore(join(dir, 'hub.db'));
  keys = new DeviceKeys({ store, hubId: 'hub-1', signer: hub, log: createLogger({ level: 'error' }) });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('device keys', () => {
  it('the first key is registered with a binding the hub owner signed; the same key again is known', async () => {
    const d = device();
    expect(await keys.register('rig-1', d.publicKey)).toMatchObject({ status: 'registered' });
    expect(await keys.register('rig-1', d.publicKey)).toMatchObject({ status: 'known' });
    const info = keys.info('rig-1');
    expect(info.binding?.publicKey).toBe(d.publicKey);
    expect(keyBindingSigner(info.binding!)).toBe(hub.address.toLowerCase());
  });

  it('another key is refused and noted until an admin clears the old one; a cleared key cannot come back', async () => {
    const a = device();
    const b = device();
    await keys.register('rig-1', a.publicKey);
    await expect(keys.register('rig-1', b.publicKey)).rejects.toMatchObject({ code: 'E_CONFLICT', message: expect.stringMatching(/cannot replace its key/) });
    expect(keys.info('rig-1')).toMatchObject({ binding: { publicKey: a.publicKey }, refused: { publicKey: b.publicKey } });
    keys.clear('rig-1', 'admin');
    expect(await keys.register('rig-1', b.publicKey)).toMatchObject({ status: 'registered' });
    expect(keys.info('rig-1')).toMatchObject({ binding: { publicKey: b.publicKey }, refused: null, previous: [{ publicKey: a.publicKey, clearedBy: 'admin' }] });
    keys.clear('rig-1', 'admin');
    await expect(keys.register('rig-1', a.publicKey)).rejects.toMatchObject({ code: 'E_CONFLICT', message: expect.stringMatching(/cleared by an admin/) });
  });
});

describe('receipt check', () => {
  const run = { id: 'j-1.0.1', jobId: 'j-1', deviceId: 'rig-1', exitCode: 0, digest: `sha256:${'c'.repeat(64)}`, finishedAt: 5000, runtimeMs: 2100, timeoutSec: 60, inputInfoHash: null };
  const receipt: Receipt = {
    v: 1, jobId: 'j-1', runId: 'j-1.0.1', deviceId: 'rig-1', image: 'busybox', imageId: `sha256:${'a'.repeat(64)}`, repoDigests: [],
    inputHash: null, outputDigest: run.digest, exitCode: 0, billedSeconds: 3, finishedAt: 5000,
  };
  const d = device();

  it('a receipt signed by the registered key and matching the run is taken', () => {
    expect(checkReceipt(signReceipt(receipt, d.privateKey, d.publicKey), run, d.publicKey)).toMatchObject({ ok: true });
  });

  it('a bad signature, another key, no key, a malformed receipt, fields unlike the run are refused with the reason', () => {
    const s = signReceipt(receipt, d.privateKey, d.publicKey);
    expect(checkReceipt({ ...s, receipt: { ...receipt, exitCode: 1 } }, { ...run, exitCode: 1 }, d.publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/^bad signature/) });
    const o = device();
    expect(checkReceipt(signReceipt(receipt, o.privateKey, o.publicKey), run, d.publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/not device rig-1's registered key/) });
    expect(checkReceipt(s, run, null)).toMatchObject({ ok: false, reason: 'device rig-1 has no registered key' });
    expect(checkReceipt({ ...s, receipt: { ...receipt, imageId: 'x' } }, run, d.publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/^malformed receipt: receipt.receipt.imageId/) });
    expect(checkReceipt(s, { ...run, runtimeMs: 5000 }, d.publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/billedSeconds 3 \(reported 5\)/) });
    expect(checkReceipt(s, { ...run, deviceId: 'rig-2' }, d.publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/deviceId "rig-1" \(reported "rig-2"\)/) });
    // a run of a job with an input: the receipt must name that input's info hash
    const hash = 'e'.repeat(40);
    expect(checkReceipt(s, { ...run, inputInfoHash: hash }, d.publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/inputHash null \(reported "btih:e{40}"\)/) });
    expect(checkReceipt(signReceipt({ ...receipt, inputHash: `btih:${hash}` }, d.privateKey, d.publicKey), { ...run, inputInfoHash: hash }, d.publicKey)).toMatchObject({ ok: true });
  });
});
