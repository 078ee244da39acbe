// One run on this device, through the engine: get the image (pull, or load the archive), create the
// container with the job's limits (no privileges, no network unless asked, labelled with the run id),
// start it, forward its output, enforce the time limit and the watchdog, take the result (exit code,
// OOM kill, sha256 of the declared output) and remove the container. A runner built from a record of
// an earlier agent process finds the container by its label and carries on from where things are.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { isFinal, runBilledSeconds, transitionPath } from '@sosna/protocol';
import type { JobState, Logger, Receipt, SignedReceipt } from '@sosna/protocol';
import type { Engine } from './engine.js';
import { messageOf, statusOf } from './engine.js';
import { Demuxer } from './demux.js';
import type { LogForwarder } from './forwarder.js';
import type { JobRecord } from './records.js';
import { digestTar } from './tar-digest.js';
import type { JobData } from './data.js';
import { OutputTooLargeError } from './data.js';
import { watch } from './watchdog.js';
import type { WatchState } from './watchdog.js';
import { containerSpec, endpointsOf, LABEL_DEVICE, LABEL_JOB } from './container-spec.js';

export interface RunnerDeps {
  engine: Engine;
  deviceId: string;
  publicHost: string;
  bindAddress: string;
  /** The device's ceiling on a job's processes (jobs.pidsLimit). */
  pidsLimit: number;
  tmpDir: string;
  log: Logger;
  forwarder: LogForwarder;
  /** Persists the record; `report` also queues a report to the hub. */
  save(rec: JobRecord, report: boolean): void;
  /** The watchdog failed a stalled run. */
  onStallFailure(): void;
  /** Signs a finished run's receipt with the device key (absent: no receipts). */
  sign?: (receipt: Receipt) => SignedReceipt;
  /** Job data peer to peer (inputs fetched, outputs shared); runs with an input or a torrent output need it. */
  data?: JobData;
  /** A run is fetching its input: ask the hub for the other replicas' addresses soon. */
  askPeers?(): void;
}

const MAX_OUTPUT_ARCHIVE = 256 * 1024 * 1024;
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
  });
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

export class JobRunner {
  private cancelReason: string | null = null;
  private timedOut = false;
  private stall: 'restart' | 'fail' | null = null;
  private readonly detach = new AbortController();
  private container: Docker.Container | null = null;
  private stdoutHash = createHash('sha256');
  private outputBytes = 0;
  /** Output bytes handed to the forwarder (from the record after a restart: what the hub has). */
  private written: number;
  done: Promise<void> = Promise.resolve();

  constructor(readonly rec: JobRecord, private readonly d: RunnerDeps) {
    this.written = rec.forwardedBytes;
  }

  get id(): string {
    return this.rec.job.id;
  }

  start(): this {
    this.done = this.run().catch((err: unknown) => this.d.log.error('runner failed', { runId: this.id, error: messageOf(err) }));
    return this;
  }

  /** Stops the run (kills the container); the runner then reports `cancelled`. */
  async cancel(reason: string): Promise<void> {
    if (isFinal(this.rec.state) || this.cancelReason) return;
    this.cancelReason = reason;
    await this.container?.kill().catch(() => {});
  }

  /** The agent stops: leave the container running (the next agent re-attaches), stop watching it. */
  detachNow(): void {
    this.detach.abort();
  }

  private get detached(): boolean {
    return this.detach.signal.aborted;
  }

  private move(to: JobState, fields: Partial<JobRecord> = {}): void {
    const rec = this.rec;
    if (rec.state !== to && transitionPath(rec.state, to) === null) {
      this.d.log.warn('ignoring a move the table does not allow', { runId: this.id, from: rec.state, to });
      return;
    }
    Object.assign(rec, fields, { state: to });
    rec.seq++;
    this.d.save(rec, true);
  }

  private async run(): Promise<void> {
    const rec = this.rec;
    try {
      if (rec.abandoned || isFinal(rec.state)) return await this.cleanup();
      let c = await this.find();
      if (!c) {
        if (rec.state === 'running') return await this.finish('failed', { reason: 'the container disappeared while the agent was away' });
        await this.ensureImage();
        if (this.detached) return;
        if (this.cancelReason) return await this.finish('cancelled', { reason: this.cancelReason });
        await this.fetchInput();
        if (this.detached) return;
        if (this.cancelReason) return await this.finish('cancelled', { reason: this.cancelReason });
        c = await this.create();
      }
      this.container = c;
      await this.supervise(c);
    } catch (err) {
      if (this.detached) return;
      await this.finish('failed', { reason: messageOf(err).slice(0, 1000) });
    }
  }

  private async find(): Promise<Docker.Container | null> {
    const docker = this.d.engine.docker;
    const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_JOB}=${this.id}`, `${LABEL_DEVICE}=${this.d.deviceId}`] } });
    const found = list[0];
    if (!found) return null;
    if (this.rec.containerId !== found.Id) {
      this.rec.containerId = found.Id;
      this.d.save(this.rec, false);
    }
    return docker.getContainer(found.Id);
  }

  // ------------------------------------------------------------------------------------------------
  // image

  private async ensureImage(): Promise<void> {
    const { docker } = this.d.engine;
    const spec = this.rec.job.spec;
    try {
      await docker.getImage(spec.image).inspect();
      return;
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    this.move('pulling', { progress: spec.imageArchive ? 'loading the image archive' : 'pulling' });
    this.d.forwarder.system(`${spec.imageArchive ? 'loading' : 'pulling'} ${spec.image}`);
    if (spec.imageArchive) await this.loadArchive(spec.imageArchive.url, spec.imageArchive.sha256);
    else await this.pull(spec.image);
    this.d.forwarder.system(`image ${spec.image} ready`);
  }

  private async pull(ref: string): Promise<void> {
    const { docker } = this.d.engine;
    const auth = this.rec.job.spec.registryAuth;
    const layers = new Map<string, { current: number; total: number }>();
    let reportedAt = 0;
    const notFound = (msg: string) => new Error(`image ${ref} not found: ${msg}`);
    try {
      const stream = (await docker.pull(ref, auth ? { authconfig: auth } : {})) as NodeJS.ReadableStream;
      await new Promise<void>((ok, fail) =>
        docker.modem.followProgress(
          stream,
          (err: Error | null) => (err ? fail(err) : ok()),
          (ev: { id?: string; status?: string; progressDetail?: { current?: number; total?: number } }) => {
            if (ev.id && ev.progressDetail?.total) layers.set(ev.id, { current: ev.progressDetail.current ?? 0, total: ev.progressDetail.total });
            const now = Date.now();
            if (now - reportedAt < 1000 || layers.size === 0) return;
            reportedAt = now;
            let cur = 0;
            let total = 0;
            for (const l of layers.values()) (cur += l.current), (total += l.total);
            this.move('pulling', { progress: `${mib(cur)} of ${mib(total)}` });
          },
        ),
      );
    } catch (err) {
      const msg = messageOf(err);
      if (statusOf(err) === 404 || /not found|manifest unknown|pull access denied|repository does not exist|no such host/i.test(msg)) throw notFound(msg);
      throw new Error(`pulling ${ref} failed: ${msg}`);
    }
  }

  private async loadArchive(url: string, sha256?: string): Promise<void> {
    const { docker } = this.d.engine;
    mkdirSync(this.d.tmpDir, { recursive: true });
    const file = join(this.d.tmpDir, `${this.id}.tar`);
    try {
      const res = await fetch(url);
      if (!res.ok || !res.body) throw new Error(`image archive ${url}: HTTP ${res.status}`);
      const hash = createHash('sha256');
      const tee = new Transform({ transform: (chunk: Buffer, _e, cb) => (hash.update(chunk), cb(null, chunk)) });
      await pipeline(Readable.fromWeb(res.body as never), tee, createWriteStream(file));
      const got = `sha256:${hash.digest('hex')}`;
      if (sha256 && got !== sha256) throw new Error(`image archive ${url}: digest ${got} is not the expected ${sha256}`);
      const out = (await docker.loadImage(createReadStream(file))) as NodeJS.ReadableStream;
      await new Promise<void>((ok, fail) => docker.modem.followProgress(out, (err: Error | null) => (err ? fail(err) : ok())));
    } finally {
      rmSync(file, { force: true });
    }
    try {
      await docker.getImage(this.rec.job.spec.image).inspect();
    } catch {
      throw new Error(`image archive ${url} did not provide ${this.rec.job.spec.image}`);
    }
  }

  // ------------------------------------------------------------------------------------------------
  // data

  private needData(): JobData {
    if (!this.d.data) throw new Error('this device cannot move job data (no data service)');
    return this.d.data;
  }

  private async fetchInput(): Promise<void> {
    const input = this.rec.job.spec.input;
    if (!input) return;
    const data = this.needData();
    this.move('pulling', { progress: 'fetching the input' });
    this.d.forwarder.system(`fetching the input ${input.infoHash}`);
    let reportedAt = 0;
    await data.fetchInput(
      this.id,
      input,
      (done, total) => {
        this.d.askPeers?.();
        const now = Date.now();
        if (now - reportedAt < 1000 && done < total) return;
        reportedAt = now;
        this.move('pulling', { progress: `input ${mib(done)} of ${mib(total)}` });
      },
      (endpoint) => {
        this.move('pulling', { endpoints: [endpoint] });
        this.d.askPeers?.();
      },
    );
    this.d.forwarder.system('input ready (every piece verified)');
  }

  // ------------------------------------------------------------------------------------------------
  // container

  private async create(): Promise<Docker.Container> {
    const { docker } = this.d.engine;
    const spec = this.rec.job.spec;
    const data = spec.input || spec.output?.torrent ? this.needData() : null;
    const body = containerSpec(this.rec.job, this.d.deviceId, {
      bindAddress: this.d.bindAddress,
      pidsLimit: this.d.pidsLimit,
      ...(this.rec.gpuDeviceIds ? { gpuDeviceIds: this.rec.gpuDeviceIds } : {}),
      ...(data && spec.input ? { inputDir: data.inputDir(this.id) } : {}),
      ...(data && spec.output?.torrent ? { outputDir: data.prepareOutput(this.id) } : {}),
    });
    let c: Docker.Container;
    try {
      c = await docker.createContainer(body);
    } catch (err) {
      if (statusOf(err) === 409) c = docker.getContainer(body.name);
      else if (statusOf(err) === 404) throw new Error(`image ${this.rec.job.spec.image} not found: ${messageOf(err)}`);
      else throw err;
    }
    this.rec.containerId = c.id;
    this.d.save(this.rec, false);
    return c;
  }

  private async supervise(c: Docker.Container): Promise<void> {
    const spec = this.rec.job.spec;
    for (;;) {
      const supervisedFrom = Date.now();
      let info = await c.inspect();
      if (info.State.Status === 'created') {
        await c.start();
        info = await c.inspect();
      }
      const startedAt = Date.parse(info.State.StartedAt);
      const dataEndpoint = this.d.data?.inputEndpoint(this.id);
      if (this.rec.state !== 'running') {
        this.move('running', { startedAt: this.rec.startedAt ?? startedAt, endpoints: [...endpointsOf(info, this.d.publicHost), ...(dataEndpoint ? [dataEndpoint] : [])], progress: undefined });
      } else {
        const endpoints = [...endpointsOf(info, this.d.publicHost), ...(dataEndpoint ? [dataEndpoint] : [])];
        if (endpoints.join() !== this.rec.endpoints.join()) this.move('running', { endpoints });
      }
      const following = this.follow(c);
      const stop = new AbortController();
      const timers = this.guard(c, stop.signal);
      let status: number | undefined;
      try {
        status = ((await c.wait({ abortSignal: this.detach.signal })) as { StatusCode?: number }).StatusCode;
      } catch (err) {
        if (this.detached) return;
        throw err;
      } finally {
        stop.abort();
        clearTimeout(timers);
      }
      await Promise.race([following, sleep(10_000)]);
      if (this.detached) return;
      info = await c.inspect();
      this.rec.runtimeMs += runMs(info.State, Date.now() - supervisedFrom);
      const exitCode = info.State.ExitCode ?? status ?? -1;
      const oom = info.State.OOMKilled === true;

      if (this.cancelReason) return this.finish('cancelled', { reason: this.cancelReason, exitCode });
      if (this.timedOut) {
        if (spec.kind === 'service') return this.finish('succeeded', { reason: `duration limit of ${spec.timeoutSec} s reached`, exitCode });
        return this.finish('failed', { reason: `timeout: killed after the limit of ${spec.timeoutSec} s`, exitCode });
      }
      if (this.stall === 'fail') {
        this.d.onStallFailure();
        return this.finish('failed', { reason: `stalled: no output and no CPU time for ${spec.watchdog?.stallSec} s, after a restart`, exitCode });
      }
      if (this.stall === 'restart') {
        this.stall = null;
        this.rec.restarts++;
        this.d.forwarder.system(`watchdog: no progress for ${spec.watchdog?.stallSec} s; restarting`);
        this.move('running', { reason: 'restarted by the watchdog' });
        this.resetOutput();
        await c.start();
        continue;
      }
      if (spec.kind === 'service') {
        this.rec.restarts++;
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(5, this.rec.restarts - 1));
        this.d.forwarder.system(`service exited (code ${exitCode}${oom ? ', OOM' : ''}); restart ${this.rec.restarts} in ${delay / 1000} s`);
        this.move('running', { reason: `restarted after exit code ${exitCode}${oom ? ' (OOM)' : ''}`, exitCode, endpoints: [] });
        await sleep(delay, this.detach.signal);
        if (this.detached) return;
        if (this.cancelReason) return this.finish('cancelled', { reason: this.cancelReason, exitCode });
        await c.start();
        continue;
      }
      if (oom) return this.finish('failed', { reason: `OOM: killed for exceeding the memory limit of ${spec.resources.memoryBytes} bytes`, exitCode, oom: true });
      if (exitCode !== 0) return this.finish('failed', { reason: `exit code ${exitCode}`, exitCode, oom: false });
      if (spec.output?.torrent) {
        try {
          const shared = await this.needData().shareOutput(this.id, spec.output.maxBytes);
          this.d.forwarder.system(`output ${shared.digest} served at ${shared.endpoint}`);
          return this.finish('succeeded', { exitCode, oom: false, digest: shared.digest, endpoints: [`bt://${shared.endpoint}`] });
        } catch (err) {
          if (err instanceof OutputTooLargeError) return this.finish('failed', { reason: err.message, exitCode, oom: false });
          throw err;
        }
      }
      const digest = spec.output ? await this.outputDigest(c, spec.output.path) : `sha256:${this.stdoutHash.digest('hex')}`;
      return this.finish('succeeded', { exitCode, oom: false, digest });
    }
  }

  /** The time limit (from the first start, so a re-attached run keeps its deadline) and the watchdog. */
  private guard(c: Docker.Container, signal: AbortSignal): NodeJS.Timeout {
    const spec = this.rec.job.spec;
    const deadline = (this.rec.startedAt ?? Date.now()) + spec.timeoutSec * 1000;
    const timer = setTimeout(() => {
      this.timedOut = true;
      this.d.forwarder.system(`time limit of ${spec.timeoutSec} s reached; stopping`);
      void c.kill().catch(() => {});
    }, Math.max(0, deadline - Date.now()));
    if (spec.watchdog) void this.watchdog(c, spec.watchdog.stallSec * 1000, signal);
    return timer;
  }

  private async watchdog(c: Docker.Container, stallMs: number, signal: AbortSignal): Promise<void> {
    let state: WatchState = { last: { outputBytes: this.outputBytes, cpuNs: 0 }, lastProgressAt: Date.now(), restarts: this.rec.restarts > 0 ? 1 : 0 };
    const every = Math.max(500, Math.min(5000, stallMs / 4));
    while (!signal.aborted) {
      await sleep(every, signal);
      if (signal.aborted) return;
      let cpuNs = state.last.cpuNs;
      try {
        const stats = (await c.stats({ stream: false, 'one-shot': true } as { stream: false })) as { cpu_stats?: { cpu_usage?: { total_usage?: number } } };
        cpuNs = stats.cpu_stats?.cpu_usage?.total_usage ?? cpuNs;
      } catch {
        return;
      }
      const r = watch(state, { outputBytes: this.outputBytes, cpuNs }, Date.now(), stallMs);
      state = r.state;
      if (r.action !== 'ok') {
        this.stall = r.action;
        await c.kill().catch(() => {});
        return;
      }
    }
  }

  /** Follows the container's output from its beginning: hashes stdout, forwards what the hub has not seen. */
  private follow(c: Docker.Container): Promise<void> {
    this.resetOutput();
    let seen = 0;
    return new Promise<void>((resolve) => {
      c.logs({ follow: true, stdout: true, stderr: true, abortSignal: this.detach.signal } as Docker.ContainerLogsOptions & { follow: true })
        .then((stream) => {
          const demux = new Demuxer((which, payload) => {
            if (which === 'stdout') this.stdoutHash.update(payload);
            this.outputBytes += payload.length;
            const start = seen;
            seen += payload.length;
            if (seen <= this.written) return;
            const fresh = start < this.written ? payload.subarray(this.written - start) : payload;
            this.written = seen;
            this.d.forwarder.write(which, fresh);
          });
          stream.on('data', (chunk: Buffer) => demux.push(chunk));
          stream.on('end', () => resolve());
          stream.on('close', () => resolve());
          stream.on('error', () => resolve());
        })
        .catch(() => resolve());
    });
  }

  private resetOutput(): void {
    this.stdoutHash = createHash('sha256');
    this.outputBytes = 0;
  }

  private async outputDigest(c: Docker.Container, path: string): Promise<string> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await c.getArchive({ path });
    } catch (err) {
      if (statusOf(err) === 404) throw new Error(`the declared output ${path} does not exist in the container`);
      throw err;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_OUTPUT_ARCHIVE) throw new Error(`the declared output ${path} is larger than ${mib(MAX_OUTPUT_ARCHIVE)}`);
      chunks.push(chunk);
    }
    return digestTar(Buffer.concat(chunks));
  }

  private async finish(state: 'succeeded' | 'failed' | 'cancelled', fields: Partial<JobRecord>): Promise<void> {
    if (isFinal(this.rec.state)) return;
    await this.d.forwarder.end().catch(() => {});
    const finishedAt = Date.now();
    const receipt = await this.receipt(fields, finishedAt);
    this.move(state, { ...fields, finishedAt, progress: undefined, ...(receipt ? { receipt } : {}) });
    this.d.log.info(`run ${state}`, { runId: this.id, reason: fields.reason, exitCode: fields.exitCode });
    // the input is served to the other replicas a while longer (they may still be fetching)
    if (this.rec.job.spec.input && this.d.data) setTimeout(() => void this.d.data?.release(this.id), 120_000).unref();
    if (state !== 'succeeded' && this.d.data) void this.d.data.release(this.id, true);
    await this.cleanup();
  }

  /**
   * The signed receipt of a run whose container ran: the image as the engine reports it (the container's
   * image Id, and that image's RepoDigests), the output digest, exit code and billed seconds the report
   * carries. None without a device key or a container (e.g. the pull failed).
   */
  private async receipt(fields: Partial<JobRecord>, finishedAt: number): Promise<SignedReceipt | undefined> {
    const c = this.container;
    if (!this.d.sign || !c) return undefined;
    const spec = this.rec.job.spec;
    try {
      const imageId = (await c.inspect()).Image;
      const image = await this.d.engine.docker.getImage(imageId).inspect();
      return this.d.sign({
        v: 1, jobId: this.rec.job.jobId, runId: this.id, deviceId: this.d.deviceId, image: spec.image, imageId: image.Id,
        repoDigests: image.RepoDigests ?? [], inputHash: spec.input ? `btih:${spec.input.infoHash}` : null, outputDigest: fields.digest ?? null, exitCode: fields.exitCode ?? null,
        billedSeconds: runBilledSeconds(this.rec.runtimeMs, spec.timeoutSec), finishedAt,
      });
    } catch (err) {
      this.d.log.warn('no receipt for this run: the engine did not say which image ran', { runId: this.id, error: messageOf(err) });
      return undefined;
    }
  }

  /** Removes the container of a finished or abandoned run. */
  async cleanup(): Promise<void> {
    const rec = this.rec;
    if (rec.cleaned) return;
    const c = this.container ?? (await this.find().catch(() => null));
    if (c) {
      try {
        await c.remove({ force: true, v: true });
      } catch (err) {
        if (statusOf(err) !== 404 && statusOf(err) !== 409) {
          this.d.log.warn('could not remove a container', { runId: this.id, error: messageOf(err) });
          return;
        }
      }
    }
    rec.cleaned = true;
    this.d.save(rec, false);
  }
}

/**
 * The running time of one container start, for billing: the engine's StartedAt..FinishedAt (nanosecond
 * precision), at least 1 ms for a process that ran at all. A short-lived container can come back from
 * inspect with FinishedAt unset (Docker's zero time) or before StartedAt; then the agent's own
 * measurement from the start of supervision stands in, so a run that ran is never billed 0 s.
 */
export function runMs(state: { StartedAt?: string; FinishedAt?: string }, observedMs: number): number {
  const ran = preciseMs(state.FinishedAt) - preciseMs(state.StartedAt);
  const ms = Number.isFinite(ran) && ran > 0 ? ran : observedMs;
  return Math.max(1, Math.ceil(Number.isFinite(ms) ? ms : 0));
}

/** Milliseconds since the epoch of an RFC 3339 time with up to nanosecond fractions, keeping the fraction. */
export function preciseMs(text: string | undefined): number {
  if (!text) return Number.NaN;
  const m = /^(.*?:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return Date.parse(text);
  const whole = Date.parse(`${m[1]}${m[3]}`);
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return whole + frac;
}
