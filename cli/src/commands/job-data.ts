// `jobs submit --input PATH`: the buyer's machine packs the input as a torrent and seeds it until every
// run has it; `jobs results JOB --out DIR`: the output torrent from the devices that ran the job. The
// bytes go peer to peer (docs/architecture.md "Job data"); the hub only says who has what.
import { networkInterfaces } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { JobDetail, JobInput } from '@sosna/protocol';
import { DataPathError, makeTorrent, openSwarm } from '@sosna/protocol/data';
import type { Swarm } from '@sosna/protocol/data';

export function firstPublicIpv4(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** The input's torrent, checked before anything is submitted: a bad path names the flag, the path and why. */
export async function packInput(path: string): Promise<{ torrent: Buffer; infoHash: string; length: number; root: string }> {
  const root = resolve(path);
  try {
    const meta = await makeTorrent(root);
    return { torrent: meta.torrent, infoHash: meta.infoHash, length: meta.length, root };
  } catch (err) {
    if (err instanceof DataPathError) throw new Error(`--input ${JSON.stringify(path)}: ${err.path} ${err.reason} (use a readable file or folder)`);
    throw err;
  }
}

/** Starts seeding the packed input; the spec's `input` names this machine as the seed. */
export async function seedInput(packed: { torrent: Buffer; root: string; infoHash: string }, o: { host?: string; port?: number }): Promise<{ swarm: Swarm; input: JobInput }> {
  const swarm = await openSwarm(packed.torrent, { dir: dirname(packed.root), ...(o.port ? { port: o.port } : {}) });
  const host = o.host ?? firstPublicIpv4();
  return { swarm, input: { infoHash: packed.infoHash, torrent: packed.torrent.toString('base64'), seeds: [`${host}:${swarm.port}`], mount: '/input' } };
}

/** Runs that still need the input: not yet past fetching it. */
export function runsAwaitingInput(j: JobDetail): number {
  if (j.state === 'succeeded' || j.state === 'failed' || j.state === 'cancelled') return 0;
  const started = j.runs.filter((r) => r.state === 'running' || r.state === 'succeeded' || r.state === 'failed' || r.state === 'cancelled' || r.state === 'lost').length;
  return Math.max(0, j.replicas - started);
}

/** A progress line writer: a bar redrawn in place on a TTY, a plain line every few seconds otherwise. */
export function progressWriter(stream: NodeJS.WriteStream, label: string): (done: number, total: number, extra?: string) => void {
  let last = 0;
  return (done, total, extra = '') => {
    const pct = total ? Math.floor((done / total) * 100) : 100;
    if (stream.isTTY) {
      const w = 30;
      const fill = Math.round((pct / 100) * w);
      stream.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${pct}% ${mib(done)} of ${mib(total)} ${extra}`.padEnd(90) + (done >= total ? '\n' : ''));
      return;
    }
    const now = Date.now();
    if (done < total && now - last < 2000) return;
    last = now;
    stream.write(`${label}: ${pct}% ${mib(done)} of ${mib(total)}${extra ? ` ${extra}` : ''}\n`);
  };
}

/** Where a job's output is served: its digest (the majority's) and the devices' data endpoints. */
export function outputSources(j: JobDetail): { infoHash: string; peers: string[] } {
  if (j.state !== 'succeeded' || !j.digest) throw new Error(`job ${j.id} has no result yet (${j.state}${j.reason ? `: ${j.reason}` : ''})`);
  const m = /^btih:([0-9a-f]{40})$/.exec(j.digest);
  if (!m) throw new Error(`job ${j.id}'s result ${j.digest} is a digest, not a shared output: submit with --output DIR to download outputs`);
  const peers = j.runs
    .filter((r) => r.state === 'succeeded' && r.digest === j.digest)
    .flatMap((r) => r.endpoints.filter((e) => e.startsWith('bt://')).map((e) => e.slice(5)));
  if (peers.length === 0) throw new Error(`job ${j.id}: no device reports where its output is served`);
  return { infoHash: m[1]!, peers };
}

/** Downloads the output torrent into `out` (pieces already there are kept: a second run resumes). */
export async function downloadOutput(infoHash: string, peers: string[], out: string, progress: (done: number, total: number) => void, timeoutMs: number): Promise<{ bytes: number }> {
  const swarm = await openSwarm(`magnet:?xt=urn:btih:${infoHash}`, { dir: resolve(out), peers, onProgress: progress }, timeoutMs);
  try {
    const timer = new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`the output was not complete after ${timeoutMs / 1000} s (peers ${peers.join(', ')}); run the command again to resume`)), timeoutMs).unref());
    await Promise.race([swarm.complete, timer]);
    return { bytes: swarm.total };
  } finally {
    await swarm.close();
  }
}
