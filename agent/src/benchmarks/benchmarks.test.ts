import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { cachedResults, hardwareFingerprint } from './cache.js';
import { diskWrite, hubRtt, memoryCopyBandwidth, sha256AllCores, sha256Throughput } from './measure.js';
import { createServer } from 'node:net';

const inv = { cpu: { model: 'EPYC', threads: 2 }, memory: { totalBytes: 24 * 2 ** 30 }, disks: [{ name: 'vda', type: 'hdd', sizeBytes: 2 ** 38 }], gpus: [] };

describe('capability benchmarks', () => {
  it('measure real positive figures (small sizes)', async () => {
    expect(sha256Throughput(4)).toBeGreaterThan(1);
    expect(await sha256AllCores(2, 2)).toBeGreaterThan(1);
    expect(memoryCopyBandwidth(8, 2)).toBeGreaterThan(0.01);
    expect(diskWrite(tmpdir(), 2)).toBeGreaterThan(0.1);
  });

  it('time a TCP connect to the hub, and say null when nothing listens', async () => {
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    expect(await hubRtt(`mqtt://127.0.0.1:${port}`)).toBeGreaterThan(0);
    await new Promise<void>((r) => server.close(() => r()));
    expect(await hubRtt(`mqtt://127.0.0.1:${port}`, 1)).toBeNull();
  });

  it('re-run only when the hardware that matters changes', () => {
    const fp = hardwareFingerprint(inv);
    const cache = { fingerprint: fp, at: 1, results: { 'cpu.sha256.single.MBps': 500 } };
    expect(cachedResults(cache, hardwareFingerprint({ ...inv, memory: { totalBytes: 24 * 2 ** 30 + 1000 } }))).toEqual(cache.results);
    expect(cachedResults(cache, hardwareFingerprint({ ...inv, gpus: [{ name: 'RTX 4090', vramBytes: 24 * 2 ** 30 }] }))).toBeNull();
    expect(cachedResults(cache, hardwareFingerprint({ ...inv, cpu: { model: 'EPYC', threads: 4 } }))).toBeNull();
    expect(cachedResults(cache, hardwareFingerprint({ ...inv, memory: { totalBytes: 32 * 2 ** 30 } }))).toBeNull();
    expect(cachedResults(undefined, fp)).toBeNull();
  });
});
