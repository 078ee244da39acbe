// One simulated device for `npm run bench data`: the agent's fetch code (openSwarm from protocol/data) in
// its own process. argv: torrent file, folder, peers (comma separated). It prints {"port"} when it
// listens, {"done","ms"} when every piece is verified, keeps serving, and on "peers A,B" (stdin) connects
// to more; on "stop" prints its counters and exits.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { openSwarm } from '@sosna/protocol/data';

const [torrentFile, dir, peers = ''] = process.argv.slice(2);
const t0 = Date.now();
const seeds = peers.split(",").filter(Boolean);
const swarm = await openSwarm(readFileSync(torrentFile!), { dir: dir!, peers: seeds, seeds });
process.stdout.write(`${JSON.stringify({ port: swarm.port })}\n`);
void swarm.complete.then(() => process.stdout.write(`${JSON.stringify({ done: true, ms: Date.now() - t0 })}\n`));
for await (const line of createInterface({ input: process.stdin })) {
  if (line.startsWith('peers ')) for (const p of line.slice(6).split(',').filter(Boolean)) swarm.connect(p);
  if (line === 'stop') {
    process.stdout.write(`${JSON.stringify({ uploaded: swarm.uploaded(), downloaded: swarm.downloaded() })}\n`);
    await swarm.close();
    process.exit(0);
  }
}
