// Capability benchmarks after SONM's list: CPU (sha256, one core and all cores), memory bandwidth, disk
// write, network to the hub. Each returns plain numbers buyers can filter on. They run in a child
// process (`sosna-agent bench --json`), never inside the long-running daemon.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

const MiB = 1024 * 1024;
const now = () => Number(process.hrtime.bigint()) / 1e9;

/** sha256 over `mib` MiB in 1 MiB blocks; MB/s (10^6 bytes). */
export function sha256Throughput(mib = 64): number {
  const block = Buffer.alloc(MiB, 0xa5);
  const t = now();
  for (let i = 0; i < mib; i++) createHash('sha256').update(block).digest();
  return (mib * MiB) / 1e6 / (now() - t);
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const block = Buffer.alloc(1024 * 1024, 0xa5);
parentPort.once('message', () => {
  for (let i = 0; i < workerData.mib; i++) createHash('sha256').update(block).digest();
  parentPort.postMessage('done');
});`;

/** sha256 on every core at once (worker threads); aggregate MB/s. */
export async function sha256AllCores(mibPerThread = 32, threads = availableParallelism()): Promise<number> {
  // imported here: a static import of a built-in is hoisted to the top of the single-file bundle and would
  // load worker_threads into the daemon, which never runs this
  const { Worker } = await import('node:worker_threads');
  const workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true, workerData: { mib: mibPerThread } }));
  try {
    await Promise.all(workers.map((w) => new Promise((r) => w.once('online', r))));
    const t = now();
    await Promise.all(workers.map((w) => new Promise((r) => { w.once('message', r); w.postMessage('go'); })));
    return (threads * mibPerThread * MiB) / 1e6 / (now() - t);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Copies between two 64 MiB buffers; GB/s of data copied. */
export function memoryCopyBandwidth(mib = 64, rounds = 8): number {
  const a = Buffer.alloc(mib * MiB, 1);
  const b = Buffer.alloc(mib * MiB);
  a.copy(b); // fault the pages in before timing
  const t = now();
  for (let i = 0; i < rounds; i++) (i % 2 ? b : a).copy(i % 2 ? a : b);
  return (rounds * mib * MiB) / 1e9 / (now() - t);
}

/** Writes `mib` MiB to a file in `dir` and fsyncs it; MB/s. The file is removed. */
export function diskWrite(dir: string, mib = 64): number {
  const file = join(dir, `.sosna-bench-${process.pid}`);
  const block = Buffer.alloc(MiB, 0x5a);
  const fd = openSync(file, 'w');
  try {
    const t = now();
    for (let i = 0; i < mib; i++) writeSync(fd, block);
    fsyncSync(fd);
    return (mib * MiB) / 1e6 / (now() - t);
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}

/** Median TCP connect time to the hub's broker, in ms (3 tries, 5 s each); null when unreachable. */
export async function hubRtt(url: string, tries = 3): Promise<number | null> {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'mqtts:' ? 8883 : u.protocol === 'wss:' ? 443 : u.protocol === 'ws:' ? 80 : 1883));
  const times: number[] = [];
  for (let i = 0; i < tries; i++) {
    const t = now();
    const ok = await new Promise<boolean>((r) => {
      const s = connect({ host: u.hostname, port, timeout: 5000 });
      s.once('connect', () => { s.destroy(); r(true); });
      s.once('timeout', () => { s.destroy(); r(false); });
      s.once('error', () => r(false));
    });
    if (ok) times.push((now() - t) * 1000);
  }
  if (times.length === 0) return null;
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)]!;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function runBenchmarks(opts: { stateDir: string; hubUrl?: string }): Promise<Record<string, number>> {
  const out: Record<string, number> = {
    'cpu.sha256.single.MBps': round(sha256Throughput()),
    'cpu.sha256.multi.MBps': round(await sha256AllCores()),
    'mem.copy.GBps': round(memoryCopyBandwidth(), 2),
    'disk.write.MBps': round(diskWrite(opts.stateDir)),
  };
  if (opts.hubUrl) {
    const rtt = await hubRtt(opts.hubUrl);
    if (rtt !== null) out['net.hub.connectMs'] = round(rtt, 2);
  }
  return out;
}
