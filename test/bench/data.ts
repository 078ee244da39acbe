// npm run bench data: a job input (1 GiB unless BENCH_DATA_MB says) sent to 4 simulated devices (each its
// own process, running the agent's fetch code; BENCH_DATA_DEVICES) on loopback, beside the baseline in the
// same run: the same number of device processes downloading the same file by plain HTTP from the seed's
// process at once. Each side's throughput per device is the input's size over the slowest device's time.
// Figures: peer to peer against HTTP (target >= 0.8x), and the bytes the seed uploaded against the
// input's size (target <= 1.5x: the devices fed each other). CPU time of each side is printed too: on a
// loopback machine with fewer cores than processes, throughput is CPU time. Knobs for measuring:
// BENCH_DATA_PIECE_KB (else makeTorrent's piece length for the size), BENCH_DATA_NODE_ARGS (e.g. --cpu-prof
// for the device processes).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { makeTorrent, openSwarm } from '@sosna/protocol/data';

const MB = Number(process.env.BENCH_DATA_MB ?? 1024);
const DEVICES = Number(process.env.BENCH_DATA_DEVICES ?? 4);

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

const cpuMs = () => {
  const u = process.cpuUsage();
  return Math.round((u.user + u.system) / 1000);
};

/** An HTTP server of `file` (this process: the seed's machine), and a way to close it. */
async function httpServe(file: string): Promise<{ url: string; close(): void }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

/** `n` device processes download the file by plain HTTP at once: each one's time and CPU. */
async function httpDownloads(peer: string, url: string, dir: string, n: number): Promise<{ ms: number; cpuMs: number }[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const child = spawn(process.execPath, [peer, 'http', url, join(dir, `http${i}.bin`)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const r = (await lines(child).next()).value as { ms: number; cpuMs: number };
      rmSync(join(dir, `http${i}.bin`), { force: true });
      return r;
    }),
  );
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
    // the piece length makeTorrent picks for this size, as `jobs submit --input` does
    const meta = await makeTorrent(file, process.env.BENCH_DATA_PIECE_KB ? { pieceLength: Number(process.env.BENCH_DATA_PIECE_KB) * 1024 } : {});
    const torrentFile = join(dir, 'input.torrent');
    writeFileSync(torrentFile, meta.torrent);
    const peer = join(process.argv[1]!, '..', 'data-peer.mjs');
    const nodeArgs = (process.env.BENCH_DATA_NODE_ARGS ?? '').split(' ').filter(Boolean);

    // the baseline, in the same run: the seed's machine (this process) serves the file by plain HTTP and
    // the same number of device processes download it at once (what the seed would do without peer to
    // peer); one lone download too, for scale
    const http = await httpServe(file);
    let cpu0 = cpuMs();
    const httpRuns = await httpDownloads(peer, http.url, dir, DEVICES);
    const httpServerCpuMs = cpuMs() - cpu0;
    const [lone] = await httpDownloads(peer, http.url, dir, 1);
    http.close();
    const httpMs = Math.max(...httpRuns.map((h) => h.ms));

    // the seed (the buyer's machine) in this process, the devices in theirs
    cpu0 = cpuMs();
    const seed = await openSwarm(meta.torrent, { dir: join(dir, 'seed') });
    const devices = Array.from({ length: DEVICES }, (_, i) => spawn(process.execPath, [...nodeArgs, peer, torrentFile, join(dir, `d${i}`), `127.0.0.1:${seed.port}`], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const streams = devices.map(lines);
    const ports: number[] = [];
    for (const s of streams) ports.push((await s.next()).value!.port as number);
    // what the hub's lease answers do: each device learns the others
    devices.forEach((d, i) => d.stdin!.write(`peers ${ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`).join(',')}\n`));
    const times = await Promise.all(streams.map(async (s) => (await s.next()).value!.ms as number));
    const seedCpuMs = cpuMs() - cpu0;
    const counters = await Promise.all(
      devices.map(async (d, i) => {
        d.stdin!.write('stop\n');
        return (await streams[i]!.next()).value as { uploaded: number; downloaded: number; cpuMs: number };
      }),
    );
    const seedUploaded = seed.uploaded();
    await seed.close();
    const MiB = size / 2 ** 20;
    const httpMBps = MiB / (httpMs / 1000);
    const slowest = Math.max(...times);
    const p2pMBps = MiB / (slowest / 1000);
    const r = {
      inputMB: MiB,
      devices: DEVICES,
      pieceLength: meta.pieceLength,
      httpMs,
      httpMBpsPerDevice: Math.round(httpMBps),
      httpCpuMs: httpServerCpuMs + httpRuns.reduce((n, h) => n + h.cpuMs, 0),
      httpLoneMs: lone!.ms,
      httpLoneMBps: Math.round(MiB / (lone!.ms / 1000)),
      slowestDeviceMs: slowest,
      p2pMBpsPerDevice: Math.round(p2pMBps),
      p2pCpuMs: seedCpuMs + counters.reduce((n, c) => n + c.cpuMs, 0),
      throughputRatio: Number((p2pMBps / httpMBps).toFixed(2)),
      seedUploadedBytes: seedUploaded,
      seedUploadRatio: Number((seedUploaded / size).toFixed(2)),
      devicesServedBytes: counters.reduce((n, c) => n + c.uploaded, 0),
    };
    console.log(`data: ${MiB} MiB (pieces of ${meta.pieceLength / 1024} KiB) to ${DEVICES} device processes on loopback, each device's throughput = input size / the slowest device's time`);
    console.log(`data: HTTP, the ${DEVICES} devices downloading from the seed at once: ${r.httpMBpsPerDevice} MiB/s per device (slowest ${httpMs} ms, CPU ${r.httpCpuMs} ms in all); one device alone: ${r.httpLoneMBps} MiB/s`);
    console.log(`data: peer to peer: ${r.p2pMBpsPerDevice} MiB/s per device (slowest ${slowest} ms, CPU ${r.p2pCpuMs} ms in all) = ${r.throughputRatio}x HTTP at once (target >= 0.8x); ${(p2pMBps / r.httpLoneMBps).toFixed(2)}x one lone HTTP download`);
    console.log(`data: the seed uploaded ${(seedUploaded / 2 ** 20).toFixed(0)} MiB = ${r.seedUploadRatio}x the input (target <= 1.5x); devices served each other ${(r.devicesServedBytes / 2 ** 20).toFixed(0)} MiB`);
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
