import { generateKeyPairSync } from 'node:crypto';
import { Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson, keyBindingSigner, publicKeyText, Receipt, receiptDigests, receiptFile, signKeyBinding, signReceipt, verifyReceiptFile, verifySignedReceipt,
} from './receipts.js';

// Test fixtures only: throwaway keys made per run, and anvil's public dev account #0 as the hub owner.
const HUB_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const device = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey: publicKeyText(publicKey) };
};
const receipt: Receipt = {
  v: 1, jobId: 'j-abc', runId: 'j-abc.0.1', deviceId: 'rig-1', image: 'busybox:1.36', imageId: `sha256:${'a'.repeat(64)}`,
  repoDigests: [`busybox@sha256:${'b'.repeat(64)}`], inputHash: null, outputDigest: `sha256:${'c'.repeat(64)}`, exitCode: 0, billedSeconds: 3, finishedAt: 1_700_000_000_000,
};

async function fileFor(d = device(), r: Receipt = receipt, bindTo = d) {
  const hub = new Wallet(HUB_KEY);
  const binding = await signKeyBinding({ v: 1, hubId: 'hub-1', deviceId: r.deviceId, publicKey: bindTo.publicKey, registeredAt: 1 }, hub);
  return { file: receiptFile(signReceipt(r, d.privateKey, d.publicKey), binding), hub, d };
}

describe('canonical form', () => {
  it('sorts keys at every level, drops undefined, keeps arrays in order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: 'x', e: undefined } })).toBe('{"a":{"c":"x","d":[3,1]},"b":1}');
    expect(canonicalJson({ a: null })).toBe('{"a":null}');
  });
  it('gives the same digests whatever the key order', () => {
    const shuffled = Object.fromEntries(Object.entries(receipt).reverse());
    expect(receiptDigests(shuffled)).toEqual(receiptDigests(receipt));
  });
});

describe('sign and verify', () => {
  it('a signed receipt verifies with its key, not after a change or with another key', () => {
    const d = device();
    const s = signReceipt(receipt, d.privateKey, d.publicKey);
    expect(verifySignedReceipt(s)).toBe(true);
    expect(verifySignedReceipt({ ...s, receipt: { ...s.receipt, exitCode: 1 } })).toBe(false);
    expect(verifySignedReceipt({ ...s, publicKey: device().publicKey })).toBe(false);
  });

  it('the hub binding names its signer', async () => {
    const { file, hub } = await fileFor();
    expect(keyBindingSigner(file.deviceKey)).toBe(hub.address.toLowerCase());
  });

  it('a file verifies offline, and with the pinned key and hub owner', async () => {
    const { file, hub, d } = await fileFor();
    const text = JSON.parse(JSON.stringify(file));
    expect(verifyReceiptFile(text)).toMatchObject({ ok: true, publicKey: d.publicKey, hubOwner: hub.address });
    expect(verifyReceiptFile(text, { key: d.publicKey, hubOwner: hub.address })).toMatchObject({ ok: true, pinned: { key: true, hubOwner: true } });
  });

  it('a pinned input must be the one the receipt names (btih: the input torrent\'s info hash)', async () => {
    const input = `btih:${'d'.repeat(40)}`;
    const { file } = await fileFor(device(), { ...receipt, inputHash: input });
    expect(verifyReceiptFile(file, { inputHash: input })).toMatchObject({ ok: true, pinned: { inputHash: true } });
    const r = verifyReceiptFile(file, { inputHash: `btih:${'e'.repeat(40)}` });
    expect(r).toMatchObject({ ok: false, kind: 'wrong-input', field: 'inputHash' });
    expect(!r.ok && r.reason).toMatch(/its run's input was btih:d{40}, not btih:e{40} \(--input\)/);
    // a receipt without an input does not match a pinned one
    expect(verifyReceiptFile((await fileFor()).file, { inputHash: input })).toMatchObject({ ok: false, kind: 'wrong-input' });
    // a torrent output digest is a valid outputDigest
    expect(verifyReceiptFile((await fileFor(device(), { ...receipt, outputDigest: `btih:${'f'.repeat(40)}` })).file)).toMatchObject({ ok: true });
  });

  it('a changed field is named', async () => {
    const { file } = await fileFor();
    const r = verifyReceiptFile({ ...file, receipt: { ...file.receipt, exitCode: 3 } });
    expect(r).toMatchObject({ ok: false, kind: 'tampered', field: 'exitCode' });
    expect(!r.ok && r.reason).toMatch(/tampered field exitCode \(now 3\)/);
  });

  it('changed digests too: a bad signature', async () => {
    const { file } = await fileFor();
    const t = { ...file.receipt, billedSeconds: 99 };
    expect(verifyReceiptFile({ ...file, receipt: t, signedDigests: receiptDigests(t) })).toMatchObject({ ok: false, kind: 'bad-signature', field: 'signature' });
  });

  it("a receipt signed by another device's key fails against the registered key", async () => {
    const registered = device();
    const { file } = await fileFor(device(), receipt, registered);
    const r = verifyReceiptFile(file);
    expect(r).toMatchObject({ ok: false, kind: 'bad-signature' });
    expect(!r.ok && r.reason).toMatch(/not signed by device rig-1's registered key/);
  });

  it('a pinned key that differs: wrong key; a pinned hub owner that differs: wrong key', async () => {
    const { file } = await fileFor();
    expect(verifyReceiptFile(file, { key: device().publicKey })).toMatchObject({ ok: false, kind: 'wrong-key', field: 'deviceKey.publicKey' });
    expect(verifyReceiptFile(file, { hubOwner: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' })).toMatchObject({ ok: false, kind: 'wrong-key', field: 'deviceKey.hubOwner' });
  });

  it('a key swapped in the binding breaks the hub signature', async () => {
    const { file } = await fileFor();
    const other = device();
    expect(verifyReceiptFile({ ...file, deviceKey: { ...file.deviceKey, publicKey: other.publicKey } })).toMatchObject({ ok: false, kind: 'bad-binding' });
  });

  it('a binding of another device: wrong key', async () => {
    const d = device();
    const { file } = await fileFor(d, { ...receipt, deviceId: 'rig-2' });
    const r = verifyReceiptFile({ ...file, receipt: receipt });
    expect(r).toMatchObject({ ok: false, kind: 'wrong-key', field: 'deviceKey.deviceId' });
  });

  it('malformed files name the field', async () => {
    const { file } = await fileFor();
    expect(verifyReceiptFile({ ...file, receipt: { ...file.receipt, imageId: 'nope' } })).toMatchObject({ ok: false, kind: 'malformed', field: 'receipt.imageId' });
    expect(verifyReceiptFile({ ...file, format: 'x' })).toMatchObject({ ok: false, kind: 'malformed', field: 'format' });
    expect(verifyReceiptFile([])).toMatchObject({ ok: false, kind: 'malformed', field: '(root)' });
  });
});
