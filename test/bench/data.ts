// npm run bench data: a job input (1 GiB unless BENCH_DATA_MB says) sent to 4 simulated devices (each its
// own process, running the agent's fetch code) on loopback, beside a plain HTTP download of the same file
// in the same run. Figures: each device's throughput against HTTP's (target >= 0.8x), and the bytes the
// seed uploaded against the input's size (target <= 1.5x: the devices fed each other).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { makeTorrent, openSwarm } from '@sosna/protocol/data';

const MB = Number(process.env.BENCH_DATA_MB ?? 1024);
const DEVICES = Number(process.env.BENCH_DATA_DEVICES ?? 4);
const PIECE = 1024 * 1024;

function lines(child: ChildProcess): AsyncGenerator<Record<string, unknown>> {
  const queue: Record<string, unknown>[] = [];
  let wake: (() => void) | null = null;
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      queue.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
      wake?.();
    }
  });
  return (async function* () {
    for (;;) {
      while (queue.length) yield queue.shift()!;
      await new Promise<void>((r) => (wake = r));
    }
  })();
}

async function httpDownload(file: string, to: string): Promise<number> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const t0 = Date.now();
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const { Readable } = await import('node:stream');
  await pipeline(Readable.fromWeb(res.body as never), createWriteStream(to));
  const ms = Date.now() - t0;
  server.close();
  return ms;
}

export async function benchData(): Promise<Record<string, number>> {
  const dir = join(tmpdir(), `sosna-bench-data-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'seed'), { recursive: true });
  try {
    const file = join(dir, 'seed', 'input.bin');
    const chunk = Buffer.alloc(16 * 1024 * 1024);
    const out = createWriteStream(file);
    for (let left = MB * 2 ** 20; left > 0; left -= chunk.length) {
      randomFillSync(chunk);
      if (!out.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(r));
    const size = statSync(file).size;
    const meta = await makeTorrent(file, { pieceLength: PIECE });
    const torrentFile = join(dir, 'input.torrent');
    writeFileSync(torrentFile, meta.torrent);

    // the baseline: one plain HTTP download of the same file (loopback, to disk)
    const httpMs = await httpDownload(file, join(dir, 'http.bin'));
    rmSync(join(dir, 'http.bin'));

    // the seed (the buyer's machine) in this process, the devices in theirs
    const seed = await openSwarm(meta.torrent, { dir: join(dir, 'seed') });
    const peer = join(process.argv[1]!, '..', 'data-peer.mjs');
    const devices = Array.from({ length: DEVICES }, (_, i) => spawn(process.execPath, [peer, torrentFile, join(dir, `d${i}`), `127.0.0.1:${seed.port}`], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const streams = devices.map(lines);
    const ports: number[] = [];
    for (const s of streams) ports.push((await s.next()).value!.port as number);
    // what the hub's lease answers do: each device learns the others
    devices.forEach((d, i) => d.stdin!.write(`peers ${ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`).join(',')}\n`));
    const times = await Promise.all(streams.map(async (s) => (await s.next()).value!.ms as number));
    const counters = await Promise.all(
      devices.map(async (d, i) => {
        d.stdin!.write('stop\n');
        return (await streams[i]!.next()).value as { uploaded: number; downloaded: number };
      }),
    );
    const seedUploaded = seed.uploaded();
    await seed.close();
    const httpMBps = size / 2 ** 20 / (httpMs / 1000);
    const slowest = Math.max(...times);
    const p2pMBps = size / 2 ** 20 / (slowest / 1000);
    const r = {
      inputMB: size / 2 ** 20,
      devices: DEVICES,
      httpMs,
      httpMBps: Math.round(httpMBps),
      slowestDeviceMs: slowest,
      p2pMBpsPerDevice: Math.round(p2pMBps),
      throughputRatio: Number((p2pMBps / httpMBps).toFixed(2)),
      seedUploadedBytes: seedUploaded,
      seedUploadRatio: Number((seedUploaded / size).toFixed(2)),
      devicesServedBytes: counters.reduce((n, c) => n + c.uploaded, 0),
    };
    console.log(`data: ${r.inputMB} MiB to ${DEVICES} devices on loopback: HTTP ${r.httpMBps} MiB/s (${httpMs} ms); peer to peer ${r.p2pMBpsPerDevice} MiB/s per device (slowest ${slowest} ms) = ${r.throughputRatio}x HTTP (target >= 0.8x)`);
    console.log(`data: the seed uploaded ${(seedUploaded / 2 ** 20).toFixed(0)} MiB = ${r.seedUploadRatio}x the input (target <= 1.5x); devices served each other ${(r.devicesServedBytes / 2 ** 20).toFixed(0)} MiB`);
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
