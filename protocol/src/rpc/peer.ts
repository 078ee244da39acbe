// One side of an RPC conversation over a pair of topics. A peer both serves its endpoint's services and
// calls the other side's. Channel parity says who opened a channel: the caller side (it publishes on
// `rpc/in`) opens even channels, the owner side odd ones, so a frame's channel alone tells whether it
// answers one of our calls or belongs to a call made to us.
import type { z } from 'zod';
import type { Codec } from '../codec.js';
import { SosnaError, isErrorCode, toSosnaError } from '../errors.js';
import { describeIssues } from '../validate.js';
import { decodeFrame, encodeFrame, Slot } from './frame.js';
import type { Frame } from './frame.js';
import { DispatchMap, LOCATOR_SLOTS, locatorService } from './endpoint.js';
import type { RpcEndpoint } from './endpoint.js';
import type { ServiceSpec, Params, Result } from './service.js';

export type PeerRole = 'caller' | 'owner';

export interface PeerLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface RpcPeerOptions<Meta> {
  role: PeerRole;
  codec: Codec;
  send: (bytes: Uint8Array) => void;
  /** Services this side offers; omit for a pure client. */
  endpoint?: RpcEndpoint<Meta>;
  /** Identifies the other side in handler contexts and logs. */
  peer?: string;
  meta?: Meta;
  defaultTimeoutMs?: number;
  log?: PeerLogger;
  random?: () => number;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  onChunk?: (chunk: unknown) => void;
}

interface Pending {
  chunks: unknown[];
  onChunk?: (chunk: unknown) => void;
  resolve: (chunks: unknown[]) => void;
  reject: (err: SosnaError) => void;
  timer: NodeJS.Timeout;
  cleanup: () => void;
}

const RECENT_LIMIT = 1024;

export class RpcPeer<Meta = unknown> {
  private readonly pending = new Map<number, Pending>();
  private readonly inbound = new Map<number, AbortController>();
  private readonly recent = new Set<number>();
  private readonly resolved = new Map<string, Promise<Record<string, number>>>();
  private nextChannel: number;
  private closed = false;
  private readonly logged = new Map<string, number>();

  constructor(private readonly opts: RpcPeerOptions<Meta>) {
    const rand = opts.random ?? Math.random;
    // A random 47-bit start keeps channels of several callers sharing a topic pair apart.
    const start = Math.floor(rand() * 2 ** 46) * 2;
    this.nextChannel = opts.role === 'caller' ? start : start + 1;
  }

  get peerName(): string {
    return this.opts.peer ?? '?';
  }

  /** Handles one payload from the other side. Never throws. */
  receive(bytes: Uint8Array): void {
    const decoded = decodeFrame(this.opts.codec, bytes);
    if (!decoded.ok) {
      this.logOnce(decoded.error.code, `rejected frame from ${this.peerName}: ${decoded.error.message}`);
      const ch = decoded.channel;
      if (ch === undefined) return;
      if (this.isOurs(ch)) this.settle(ch, decoded.error);
      else if (!this.inbound.has(ch)) this.sendFrame([ch, Slot.error, decoded.error.toWire()]);
      return;
    }
    const [channel, slot, args] = decoded.frame;
    if (this.isOurs(channel)) this.onResponse(channel, slot, args);
    else this.onRequest(channel, slot, args);
  }

  /** Calls a method described by a service spec; params and result are validated. */
  async call<S extends ServiceSpec, K extends keyof S['methods'] & string>(
    spec: S,
    method: K,
    params: Params<S, K>,
    options: CallOptions = {},
  ): Promise<Result<S, K>> {
    const methodSpec = spec.methods[method];
    if (!methodSpec) throw new SosnaError('E_NOT_FOUND', `${spec.name} has no method ${method}`);
    const checked = methodSpec.params.safeParse(params);
    if (!checked.success) throw new SosnaError('E_INVALID', `${spec.name}.${method}: ${describeIssues(checked.error)}`);
    const validate = (value: unknown) => {
      const r = (methodSpec.result as z.ZodType).safeParse(value);
      if (!r.success) throw new SosnaError('E_INVALID', `reply of ${spec.name}.${method}: ${describeIssues(r.error)}`);
      return r.data;
    };
    const onChunk = options.onChunk;
    const chunks = await this.callRaw(spec.name, method, checked.data, {
      ...options,
      onChunk: onChunk ? (c) => onChunk(validate(c)) : undefined,
    });
    if (methodSpec.streaming) return undefined as Result<S, K>;
    if (chunks.length !== 1) throw new SosnaError('E_BAD_FRAME', `${spec.name}.${method} answered ${chunks.length} chunks, expected 1`);
    return validate(chunks[0]) as Result<S, K>;
  }

  /** Calls by name with unchecked params (used to forward calls); resolves with every chunk received. */
  async callRaw(service: string, method: string, params: unknown, options: CallOptions = {}): Promise<unknown[]> {
    let slot: number;
    if (service === locatorService.name) {
      slot = LOCATOR_SLOTS[method as keyof typeof LOCATOR_SLOTS];
      if (slot === undefined) throw new SosnaError('E_NOT_FOUND', `locator has no method ${method}`);
    } else {
      const map = await this.resolve(service, options);
      const s = map[method];
      if (s === undefined) throw new SosnaError('E_NOT_FOUND', `${this.peerName}: service ${service} has no method ${method}`);
      slot = s;
    }
    return this.open(slot, [params], options);
  }

  /** The other side's dispatch map for a service, cached until invalidate(). */
  resolve(service: string, options: CallOptions = {}): Promise<Record<string, number>> {
    let p = this.resolved.get(service);
    if (!p) {
      p = this.open(LOCATOR_SLOTS.resolve, [{ name: service }], { timeoutMs: options.timeoutMs, signal: options.signal }).then((chunks) => {
        const r = locatorService.methods.resolve.result.safeParse(chunks[0]);
        if (!r.success) throw new SosnaError('E_INVALID', `locator reply: ${describeIssues(r.error)}`);
        return DispatchMap.parse(r.data.methods);
      });
      this.resolved.set(service, p);
      p.catch(() => this.resolved.delete(service));
    }
    return p;
  }

  /** Forget resolved dispatch maps (the other side restarted). */
  invalidate(): void {
    this.resolved.clear();
  }

  /** Fails every pending call and aborts every handler. */
  close(reason = 'peer closed'): void {
    this.closed = true;
    for (const ch of [...this.pending.keys()]) this.settle(ch, new SosnaError('E_UNAVAILABLE', reason));
    for (const ac of this.inbound.values()) ac.abort();
    this.inbound.clear();
    this.resolved.clear();
  }

  /** Fails the pending calls (e.g. the other side went offline) but keeps the peer usable. */
  failPending(reason: string): void {
    for (const ch of [...this.pending.keys()]) this.settle(ch, new SosnaError('E_UNAVAILABLE', reason));
    this.resolved.clear();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  private open(slot: number, args: unknown[], options: CallOptions): Promise<unknown[]> {
    if (this.closed) return Promise.reject(new SosnaError('E_UNAVAILABLE', 'peer closed'));
    const channel = this.nextChannel;
    this.nextChannel += 2;
    if (this.nextChannel > Number.MAX_SAFE_INTEGER) this.nextChannel = this.opts.role === 'caller' ? 0 : 1;
    const timeoutMs = options.timeoutMs ?? this.opts.defaultTimeoutMs ?? 10_000;
    return new Promise<unknown[]>((resolve, reject) => {
      const signal = options.signal;
      const onAbort = () => {
        this.sendFrame([channel, Slot.choke, []]);
        this.settle(channel, new SosnaError('E_CANCELLED', 'call cancelled'));
      };
      const timer = setTimeout(() => {
        this.sendFrame([channel, Slot.choke, []]);
        this.settle(channel, new SosnaError('E_TIMEOUT', `${this.peerName} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(channel, { chunks: [], onChunk: options.onChunk, resolve, reject, timer, cleanup });
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sendFrame([channel, slot, args]);
    });
  }

  private isOurs(channel: number): boolean {
    return (channel % 2 === 0) === (this.opts.role === 'caller');
  }

  private settle(channel: number, error?: SosnaError): void {
    const p = this.pending.get(channel);
    if (!p) return;
    this.pending.delete(channel);
    p.cleanup();
    if (error) p.reject(error);
    else p.resolve(p.chunks);
  }

  private onResponse(channel: number, slot: number, args: unknown[]): void {
    const p = this.pending.get(channel);
    if (!p) return; // late frame of a call that timed out or was cancelled
    switch (slot) {
      case Slot.chunk:
        if (p.onChunk) {
          try {
            p.onChunk(args[0]);
          } catch (err) {
            this.sendFrame([channel, Slot.choke, []]);
            this.settle(channel, toSosnaError(err));
          }
        } else p.chunks.push(args[0]);
        return;
      case Slot.error: {
        const [code, message] = args;
        this.settle(channel, new SosnaError(isErrorCode(code) ? code : 'E_INTERNAL', typeof message === 'string' ? message : 'remote error'));
        return;
      }
      case Slot.choke:
        this.settle(channel);
        return;
      default:
        this.settle(channel, new SosnaError('E_BAD_FRAME', `unknown stream slot ${slot}`));
    }
  }

  private onRequest(channel: number, slot: number, args: unknown[]): void {
    const active = this.inbound.get(channel);
    if (active) {
      if (slot === Slot.choke) active.abort(); // the caller cancels
      return;
    }
    if (this.recent.has(channel)) return; // a redelivered opening frame (QoS 1): never run a call twice
    const endpoint = this.opts.endpoint;
    const entry = endpoint?.slot(slot);
    if (!entry) {
      this.remember(channel);
      this.logOnce('E_UNKNOWN_SLOT', `${this.peerName} called unknown slot ${slot}`);
      this.sendFrame([channel, Slot.error, ['E_UNKNOWN_SLOT', `no method at slot ${slot}`]]);
      return;
    }
    const parsed = entry.spec.params.safeParse(args[0] ?? {});
    if (!parsed.success) {
      this.remember(channel);
      const err = new SosnaError('E_INVALID', `${entry.service}.${entry.method}: ${describeIssues(parsed.error)}`);
      this.logOnce('E_INVALID', `rejected call from ${this.peerName}: ${err.message}`);
      this.sendFrame([channel, Slot.error, err.toWire()]);
      return;
    }
    const ac = new AbortController();
    this.inbound.set(channel, ac);
    const ctx = {
      peer: this.peerName,
      meta: this.opts.meta as Meta,
      signal: ac.signal,
      emit: (chunk: unknown) => {
        if (!ac.signal.aborted) this.sendFrame([channel, Slot.chunk, [chunk]]);
      },
    };
    const finish = (frame: Frame | null, result?: unknown) => {
      this.inbound.delete(channel);
      this.remember(channel);
      if (ac.signal.aborted) return;
      if (frame) this.sendFrame(frame);
      else {
        if (!entry.spec.streaming && result !== undefined) this.sendFrame([channel, Slot.chunk, [result]]);
        this.sendFrame([channel, Slot.choke, []]);
      }
    };
    Promise.resolve()
      .then(() => endpoint!.admit(entry, ctx.meta))
      .then((meta) => entry.handler(parsed.data, { ...ctx, meta }))
      .then(
        (result) => finish(null, result),
        (err: unknown) => {
          const code = (err as { code?: unknown })?.code;
          const e = isErrorCode(code) && !(err instanceof SosnaError) ? new SosnaError(code, (err as Error).message) : toSosnaError(err);
          finish([channel, Slot.error, e.toWire()]);
        },
      );
  }

  private remember(channel: number): void {
    this.recent.add(channel);
    if (this.recent.size > RECENT_LIMIT) {
      const first = this.recent.values().next().value;
      if (first !== undefined) this.recent.delete(first);
    }
  }

  private sendFrame(frame: Frame): void {
    try {
      this.opts.send(encodeFrame(this.opts.codec, frame));
    } catch (err) {
      this.logOnce('send', `could not send a frame to ${this.peerName}: ${(err as Error).message}`);
    }
  }

  /** Logs the first of each kind of problem, then at most once a minute with a count. */
  private logOnce(key: string, message: string): void {
    const now = Date.now();
    const last = this.logged.get(key);
    if (last !== undefined && now - last < 60_000) return;
    this.logged.set(key, now);
    this.opts.log?.warn(message, { peer: this.peerName, code: key });
  }
}
