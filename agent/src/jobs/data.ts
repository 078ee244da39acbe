// Job data on this device, peer to peer (docs/architecture.md "Job data"): a run's input is fetched as a
// torrent from the buyer's seed and the other replicas (each piece checked), then served to the others
// while the run lasts; a finished run's output folder becomes a torrent that this device serves to the
// buyer (its info hash is the run's result digest). MQTT never carries these bytes.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { JobInput, Logger } from '@sosna/protocol';
import { DataPathError, makeTorrent, openSwarm } from '@sosna/protocol/data';
import type { Swarm } from '@sosna/protocol/data';

export interface JobDataDeps {
  /** Folder for inputs and outputs (below the agent's state folder). */
  dir: string;
  /** The address other peers reach this device at. */
  publicHost: string;
  log: Logger;
  /** How long a finished run's output is served (the buyer downloads it meanwhile). */
  keepOutputMs?: number;
  /** A peer sent a whole piece that failed its hash (that peer is dropped; the hub is told). */
  onBadPeer?(runId: string, peer: string, piece: number): void;
}

export interface DataCounters {
  /** Bytes this device sent to other peers (inputs to other replicas, outputs to buyers). */
  servedBytes: number;
  /** Bytes this device received from peers. */
  fetchedBytes: number;
  /** Pieces peers sent that failed their hash. */
  badPieces: number;
}

/** The output is over the job's limit: the run fails with this reason. */
export class OutputTooLargeError extends Error {}

export class JobData {
  private readonly swarms = new Map<string, Swarm>();
  private closed = { served: 0, fetched: 0 };
  private badPieces = 0;

  constructor(private readonly d: JobDataDeps) {}

  inputDir(runId: string): string {
    return join(this.d.dir, runId, 'input');
  }

  outputDir(runId: string): string {
    return join(this.d.dir, runId, 'output');
  }

  /**
   * Connects a run's input swarm to more peers (the other replicas, from the hub), and to its seeds again:
   * a seed that could not be reached (or went away) is forgotten by the swarm, and may be back (a buyer's
   * machine that slept); peers already connected are left as they are.
   */
  addPeers(runId: string, peers: string[]): void {
    const s = this.swarms.get(`${runId}/in`);
    if (!s) return;
    s.retrySeeds();
    for (const p of peers) s.connect(p);
  }

  /** Where this device serves a run's input (while it has the swarm open). */
  inputEndpoint(runId: string): string | null {
    const s = this.swarms.get(`${runId}/in`);
    return s ? `bt-in://${this.d.publicHost}:${s.port}` : null;
  }

  /**
   * Fetches the run's input (resuming what is on disk) and keeps serving it; `onOpen` is called once the
   * swarm listens (the run then reports its endpoint); resolves with the folder to mount.
   */
  async fetchInput(runId: string, input: JobInput, onProgress: (done: number, total: number) => void, onOpen?: (endpoint: string) => void): Promise<string> {
    const dir = this.inputDir(runId);
    const key = `${runId}/in`;
    let s = this.swarms.get(key);
    if (!s) {
      s = await openSwarm(Buffer.from(input.torrent, 'base64'), {
        dir,
        peers: input.seeds,
        seeds: input.seeds,
        onProgress,
        onInvalidPiece: (peer, index, sole) => {
          this.badPieces++;
          if (sole) this.d.onBadPeer?.(runId, peer, index);
        },
      });
      if (s.infoHash !== input.infoHash) {
        await s.close();
        throw new Error(`the input's torrent has info hash ${s.infoHash}, not the job's ${input.infoHash}`);
      }
      this.swarms.set(key, s);
    }
    onOpen?.(this.inputEndpoint(runId)!);
    await s.complete;
    return dir;
  }

  /** Makes the output folder's torrent and serves it: `btih:` its info hash, and where it is served. */
  async shareOutput(runId: string, maxBytes?: number): Promise<{ digest: string; endpoint: string }> {
    const dir = this.outputDir(runId);
    let meta;
    try {
      meta = await makeTorrent(dir, { name: 'output', ...(maxBytes ? { maxBytes } : {}) });
    } catch (err) {
      if (err instanceof DataPathError && /larger than the limit/.test(err.reason)) throw new OutputTooLargeError(`the output is larger than the limit of ${maxBytes} bytes`);
      if (err instanceof DataPathError && err.reason === 'holds no files') throw new Error('the output folder holds no files');
      throw err;
    }
    // the folder is named "output" in the torrent: serve from its parent
    const key = `${runId}/out`;
    await this.swarms.get(key)?.close();
    const s = await openSwarm(meta.torrent, { dir: join(dir, '..') });
    this.swarms.set(key, s);
    const keep = this.d.keepOutputMs ?? 3_600_000;
    setTimeout(() => void this.release(runId, true), keep).unref();
    return { digest: `btih:${meta.infoHash}`, endpoint: `${this.d.publicHost}:${s.port}` };
  }

  /** Prepares an empty output folder for a run about to start. */
  prepareOutput(runId: string): string {
    const dir = this.outputDir(runId);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Stops serving the run's input (and, with `all`, its output) and removes the files. */
  async release(runId: string, all = false): Promise<void> {
    for (const part of all ? ['in', 'out'] : ['in']) {
      const key = `${runId}/${part}`;
      const s = this.swarms.get(key);
      if (!s) continue;
      this.swarms.delete(key);
      this.closed.served += s.uploaded();
      this.closed.fetched += s.downloaded();
      await s.close();
    }
    if (all) rmSync(join(this.d.dir, runId), { recursive: true, force: true });
  }

  counters(): DataCounters {
    let served = this.closed.served;
    let fetched = this.closed.fetched;
    for (const s of this.swarms.values()) (served += s.uploaded()), (fetched += s.downloaded());
    return { servedBytes: served, fetchedBytes: fetched, badPieces: this.badPieces };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.swarms.values()].map((s) => s.close()));
    this.swarms.clear();
  }
}
