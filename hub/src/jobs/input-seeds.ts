// The hub as a fallback seed of job inputs (docs/architecture.md "Job data"): for a job whose input asks it
// (input.hubSeed), the hub joins the input's swarm as one more peer: it fetches the pieces from the buyer's
// seed (each checked against the torrent, like a device does), then serves them to the job's devices until
// the job ends, so a buyer may go offline once the hub has the input. The bytes go peer to peer over the
// BitTorrent wire protocol, never over MQTT. Disk is bounded (`maxBytes`, all inputs together): a job over
// the bound is refused at submit with the numbers; a job's copy is removed when the job ends.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SosnaError } from '@sosna/protocol';
import type { InputSeedStatus, JobInput, Logger } from '@sosna/protocol';
import { openSwarm as openSwarmReal, torrentLength } from '@sosna/protocol/data';
import type { Swarm } from '@sosna/protocol/data';

export interface InputSeedsConfig {
  enabled: boolean;
  /** Bytes of job inputs held at once, all jobs together. */
  maxBytes: number;
  /** The address devices reach the hub's seeds at. */
  host: string;
  /** TCP port the seeds listen on (0: any free one per input). */
  port: number;
}

interface Seed {
  jobId: string;
  input: JobInput;
  total: number;
  swarm: Swarm | null;
  state: InputSeedStatus['state'];
  reason?: string;
  closed: boolean;
}

export class InputSeeds {
  private readonly seeds = new Map<string, Seed>();
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly d: { dir: string; config: InputSeedsConfig; log: Logger; openSwarm?: typeof openSwarmReal },
  ) {}

  /** Bytes reserved by the inputs held now. */
  used(): number {
    let n = 0;
    for (const s of this.seeds.values()) n += s.total;
    return n;
  }

  /** Throws (before the job is queued) when the hub will not seed this input: off, or no room. */
  check(input: JobInput): number {
    const c = this.d.config;
    if (!c.enabled) throw new SosnaError('E_INVALID', 'input.hubSeed: this hub does not seed job inputs (hub config jobs.inputSeed.enabled is false): seed it from your machine only (leave out --hub-seed)');
    let total: number;
    try {
      total = torrentLength(Buffer.from(input.torrent, 'base64'));
    } catch (err) {
      throw new SosnaError('E_INVALID', `input.torrent: ${(err as Error).message}`);
    }
    const used = this.used();
    if (used + total > c.maxBytes) {
      throw new SosnaError('E_INVALID', `input.hubSeed: the input is ${total} bytes and the hub holds ${used} of at most ${c.maxBytes} bytes of job inputs (hub config jobs.inputSeed.maxBytes): seed it from your machine only (leave out --hub-seed), or later`);
    }
    return total;
  }

  /** Starts fetching a queued job's input (after `check`): the bytes are reserved now. */
  start(jobId: string, input: JobInput): void {
    if (this.seeds.has(jobId)) return;
    const total = this.check(input);
    const seed: Seed = { jobId, input, total, swarm: null, state: 'fetching', closed: false };
    this.seeds.set(jobId, seed);
    this.retry ??= setInterval(() => this.retrySeeds(), 5000).unref();
    void this.open(seed);
  }

  private async open(seed: Seed): Promise<void> {
    const open = this.d.openSwarm ?? openSwarmReal;
    const dir = this.dirOf(seed.jobId);
    try {
      mkdirSync(dir, { recursive: true });
      const swarm = await open(Buffer.from(seed.input.torrent, 'base64'), { dir, peers: seed.input.seeds, seeds: seed.input.seeds, ...(this.d.config.port ? { port: this.d.config.port } : {}) });
      if (seed.closed) return void (await swarm.close());
      if (swarm.infoHash !== seed.input.infoHash) {
        await swarm.close();
        throw new Error(`the torrent has info hash ${swarm.infoHash}, not the job's ${seed.input.infoHash}`);
      }
      seed.swarm = swarm;
      this.d.log.info('fetching a job input to seed it', { jobId: seed.jobId, infoHash: seed.input.infoHash, bytes: seed.total, port: swarm.port });
      await swarm.complete;
      if (seed.closed) return;
      seed.state = 'seeding';
      this.d.log.info('seeding a job input until the job ends', { jobId: seed.jobId, infoHash: seed.input.infoHash, bytes: seed.total });
    } catch (err) {
      seed.state = 'failed';
      seed.reason = (err as Error).message;
      this.d.log.warn('could not seed a job input', { jobId: seed.jobId, error: seed.reason });
    }
  }

  /** While fetching, the buyer's seeds are tried again (the swarm forgets one it could not reach). */
  retrySeeds(): void {
    for (const s of this.seeds.values()) if (s.swarm && s.state === 'fetching') for (const p of s.input.seeds) s.swarm.connect(p);
  }

  /** Where the hub serves a job's input, once it listens (a peer for the job's devices). */
  endpoint(jobId: string): string | null {
    const s = this.seeds.get(jobId);
    return s?.swarm ? `${this.d.config.host}:${s.swarm.port}` : null;
  }

  status(jobId: string): InputSeedStatus | undefined {
    const s = this.seeds.get(jobId);
    if (!s) return undefined;
    return { state: s.state, have: s.swarm?.have() ?? 0, total: s.total, ...(s.reason ? { reason: s.reason } : {}) };
  }

  /** The job ended: stop serving its input and remove the files. */
  async release(jobId: string): Promise<void> {
    const s = this.seeds.get(jobId);
    if (s) {
      s.closed = true;
      this.seeds.delete(jobId);
      await s.swarm?.close().catch(() => {});
      if (s.swarm) this.d.log.info('released a job input', { jobId, uploaded: s.swarm.uploaded() });
    }
    rmSync(this.dirOf(jobId), { recursive: true, force: true });
  }

  /** At start-up: resume the inputs of `live` jobs (what is on disk is kept), remove the others' files. */
  resume(live: { id: string; input: JobInput }[]): void {
    const keep = new Set(live.map((j) => j.id));
    if (live.length === 0 && !existsSync(this.d.dir)) return;
    mkdirSync(this.d.dir, { recursive: true });
    for (const name of readdirSync(this.d.dir)) if (!keep.has(name)) rmSync(join(this.d.dir, name), { recursive: true, force: true });
    for (const j of live) {
      try {
        this.start(j.id, j.input);
      } catch (err) {
        this.d.log.warn('not seeding a job input after a restart', { jobId: j.id, error: (err as Error).message });
      }
    }
  }

  async stop(): Promise<void> {
    if (this.retry) clearInterval(this.retry);
    this.retry = null;
    for (const s of this.seeds.values()) s.closed = true;
    await Promise.all([...this.seeds.values()].map((s) => s.swarm?.close().catch(() => {})));
    this.seeds.clear();
  }

  private dirOf(jobId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(jobId)) throw new Error(`bad job id ${JSON.stringify(jobId)}`);
    return join(this.d.dir, jobId);
  }
}
