// One simulated device for `npm run bench data`, in its own process.
// - `data-peer.mjs TORRENT DIR PEERS`: the agent's fetch code (openSwarm from protocol/data). It prints
//   {"port"} when it listens, {"done","ms"} when every piece is verified, keeps serving, and on "peers A,B"
//   (stdin) connects to more; on "stop" prints its counters and CPU time and exits.
// - `data-peer.mjs http URL FILE`: the baseline, a plain HTTP download of the same input to disk; prints
//   {"done","ms","cpuMs"} and exits.
import { createWriteStream, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import { openSwarm } from '@sosna/protocol/data';

const cpuMs = () => {
  const u = process.cpuUsage();
  return Math.round((u.user + u.system) / 1000);
};

if (process.argv[2] === 'http') {
  const [url, file] = process.argv.slice(3);
  const cpu0 = cpuMs();
  const t0 = Date.now();
  const res = await new Promise<import('node:http').IncomingMessage>((ok, fail) => get(url!, ok).once('error', fail));
  await pipeline(res, createWriteStream(file!));
  process.stdout.write(`${JSON.stringify({ done: true, ms: Date.now() - t0, cpuMs: cpuMs() - cpu0 })}\n`);
  process.exit(0);
}

const [torrentFile, dir, peers = ''] = process.argv.slice(2);
const cpu0 = cpuMs();
const t0 = Date.now();
const seeds = peers.split(',').filter(Boolean);
const swarm = await openSwarm(readFileSync(torrentFile!), { dir: dir!, peers: seeds, seeds });
process.stdout.write(`${JSON.stringify({ port: swarm.port })}\n`);
void swarm.complete.then(() => process.stdout.write(`${JSON.stringify({ done: true, ms: Date.now() - t0, cpuMs: cpuMs() - cpu0 })}\n`));
for await (const line of createInterface({ input: process.stdin })) {
  if (line.startsWith('peers ')) for (const p of line.slice(6).split(',').filter(Boolean)) swarm.connect(p);
  if (line === 'stop') {
    process.stdout.write(`${JSON.stringify({ uploaded: swarm.uploaded(), downloaded: swarm.downloaded(), cpuMs: cpuMs() - cpu0 })}\n`);
    await swarm.close();
    process.exit(0);
  }
}
