// The hub's side of device keys and receipts over the wire: a device (a raw MQTT client speaking the
// device protocol, test/job-device.ts) registers its key, cannot replace it, and sends receipts with its
// final reports; the hub stores a good one and refuses (logs, job event) one signed by another key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { addOperator, ConsoleClient, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { hubDeviceKeyService, jobsService, publicKeyText, receiptsService, signReceipt, silentLogger, verifyReceiptFile, receiptFile } from '@sosna/protocol';
import type { Receipt } from '@sosna/protocol';
import { tempDir, waitFor } from './helpers.js';
import { JobDevice } from './job-device.js';

const tmp = tempDir('sosna-receipts-hub-');
let hub: Hub;
let operator: ConsoleClient;
let dev: JobDevice;
const key = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey: publicKeyText(publicKey) };
};
const mine = key();
const digest = `sha256:${'d'.repeat(64)}`;

beforeAll(async () => {
  hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, jobs: { leaseSec: 30, tickMs: 100, trust: { enabled: false } } }, { log: silentLogger });
  const url = `mqtt://127.0.0.1:${hub.mqttPort}`;
  const { password } = await addOperator(hub.store, 'alice', 'operator', { N: 1024, r: 8, p: 1 });
  operator = await ConsoleClient.connect({ url, hubId: hub.hubId, user: 'alice', password });
  dev = await JobDevice.preIssue(hub, 'rig', { jobs: 4 });
  const online = waitFor('rig online', () => hub.store.getDevice(dev.id)?.online || null, 20_000, 50);
  await dev.connect(url);
  await online;
});
afterAll(async () => {
  await operator?.close();
  dev?.close();
  await hub?.stop();
  tmp.cleanup();
});

async function finishedRun(): Promise<{ jobId: string; runId: string }> {
  const { jobId } = await operator.call(jobsService, 'submit', { spec: { image: 'busybox', command: ['true'] } as never });
  const run = await waitFor('a run on the device', () => [...dev.runs.values()].find((r) => r.jobId === jobId), 20_000, 50);
  return { jobId, runId: run.id };
}
const receiptOf = (jobId: string, runId: string, finishedAt: number): Receipt => ({
  v: 1, jobId, runId, deviceId: dev.id, image: 'busybox', imageId: `sha256:${'a'.repeat(64)}`, repoDigests: [], inputHash: null,
  outputDigest: digest, exitCode: 0, billedSeconds: 2, finishedAt,
});

describe('device keys and receipts on the hub', { timeout: 60_000 }, () => {
  it('a device registers its key once and cannot replace it', async () => {
    expect(await dev.peer.call(hubDeviceKeyService, 'register', { publicKey: mine.publicKey })).toMatchObject({ status: 'registered' });
    expect(await dev.peer.call(hubDeviceKeyService, 'register', { publicKey: mine.publicKey })).toMatchObject({ status: 'known' });
    await expect(dev.peer.call(hubDeviceKeyService, 'register', { publicKey: key().publicKey })).rejects.toMatchObject({ code: 'E_CONFLICT' });
    const info = await operator.call(receiptsService, 'deviceKey', { deviceId: dev.id });
    expect(info.binding?.publicKey).toBe(mine.publicKey);
    expect(info.refused).not.toBeNull();
    await expect(operator.call(receiptsService, 'clearDeviceKey', { deviceId: dev.id })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED' });
  });

  it('a receipt signed by the registered key is stored and exports to a file that verifies', async () => {
    const { jobId, runId } = await finishedRun();
    const finishedAt = Date.now();
    await dev.report({ id: runId, state: 'running', startedAt: finishedAt - 2000 });
    await dev.report({ id: runId, state: 'succeeded', exitCode: 0, digest, runtimeMs: 1500, finishedAt, receipt: signReceipt(receiptOf(jobId, runId, finishedAt), mine.privateKey, mine.publicKey) });
    const { receipts } = await operator.call(receiptsService, 'list', { jobId });
    expect(receipts).toHaveLength(1);
    const e = receipts[0]!;
    const file = receiptFile({ receipt: e.receipt, publicKey: e.deviceKey.publicKey, signature: e.signature }, e.deviceKey);
    expect(verifyReceiptFile(JSON.parse(JSON.stringify(file)), { key: mine.publicKey, hubOwner: hub.owner })).toMatchObject({ ok: true });
  });

  it("a receipt signed by another key is refused: not stored, and the job's history says why", async () => {
    const { jobId, runId } = await finishedRun();
    const finishedAt = Date.now();
    const other = key();
    await dev.report({ id: runId, state: 'running', startedAt: finishedAt - 2000 });
    const ack = await dev.report({ id: runId, state: 'succeeded', exitCode: 0, digest, runtimeMs: 1500, finishedAt, receipt: signReceipt(receiptOf(jobId, runId, finishedAt), other.privateKey, other.publicKey) });
    expect(ack.state).toBe('succeeded'); // the result stands; only the receipt is refused
    expect((await operator.call(receiptsService, 'list', { jobId })).receipts).toEqual([]);
    const show = await operator.call(jobsService, 'show', { jobId });
    expect(show.events.map((x) => x.reason).join('\n')).toMatch(/receipt refused: signed with key ed25519:\S+, not device \S+'s registered key/);
  });
});
