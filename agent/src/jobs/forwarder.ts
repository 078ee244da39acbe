// Output of one job on its way to the hub: decoded as UTF-8 per stream (a character split across frames
// stays whole), coalesced for `flushMs`, sent in pieces of at most `pieceBytes`, and bounded by a token
// bucket of `bytesPerSec`: output beyond the rate is dropped and the count travels with the next send.
// While the hub is out of reach at most `maxPendingBytes` wait; older output is dropped first.
// `onDone` counts the raw output bytes dealt with (sent, or dropped on purpose), so that a re-attached
// runner knows where the hub's copy ends.
import { StringDecoder } from 'node:string_decoder';
import type { LogPiece, LogStream } from '@sosna/protocol';

export interface ForwarderOptions {
  bytesPerSec: number;
  send: (pieces: LogPiece[], dropped: number) => Promise<void>;
  flushMs?: number;
  pieceBytes?: number;
  maxPendingBytes?: number;
  now?: () => number;
  onDone?: (rawBytes: number) => void;
  /** Every piece as it is accepted (within the rate bound), before coalescing: the local dashboard's live log. */
  onPiece?: (piece: LogPiece) => void;
}

interface Item {
  piece: LogPiece;
  raw: number;
}

export class LogForwarder {
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  private pending: Item[] = [];
  private carry = 0;
  private pendingBytes = 0;
  private dropped = 0;
  private tokens: number;
  private refilledAt: number;
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly o: ForwarderOptions) {
    this.now = o.now ?? Date.now;
    this.tokens = o.bytesPerSec;
    this.refilledAt = this.now();
  }

  write(stream: 'stdout' | 'stderr', bytes: Buffer): void {
    this.carry += bytes.length;
    const text = this.decoders[stream].write(bytes);
    if (!text) return;
    const raw = this.carry;
    this.carry = 0;
    this.add(stream, text, raw);
  }

  /** A line from the agent itself (pull progress, restarts), outside the rate bound. */
  system(text: string): void {
    this.push({ stream: 'system', data: text.endsWith('\n') ? text : `${text}\n`, at: this.now() }, 0);
  }

  private add(stream: LogStream, text: string, raw: number): void {
    const now = this.now();
    this.tokens = Math.min(this.o.bytesPerSec, this.tokens + ((now - this.refilledAt) / 1000) * this.o.bytesPerSec);
    this.refilledAt = now;
    const size = Buffer.byteLength(text);
    if (size > this.tokens) {
      this.dropped += size;
      this.o.onDone?.(raw);
      return;
    }
    this.tokens -= size;
    this.push({ stream, data: text, at: now }, raw);
  }

  private push(piece: LogPiece, raw: number): void {
    this.o.onPiece?.(piece);
    const max = this.o.pieceBytes ?? 16 * 1024;
    const last = this.pending[this.pending.length - 1];
    if (last && last.piece.stream === piece.stream && last.piece.data.length + piece.data.length <= max) {
      last.piece.data += piece.data;
      last.raw += raw;
    } else {
      for (let i = 0; i < piece.data.length; i += max) this.pending.push({ piece: { ...piece, data: piece.data.slice(i, i + max) }, raw: i === 0 ? raw : 0 });
    }
    this.pendingBytes += piece.data.length;
    const cap = this.o.maxPendingBytes ?? 256 * 1024;
    while (this.pendingBytes > cap && this.pending.length > 1) {
      const old = this.pending.shift()!;
      this.pendingBytes -= old.piece.data.length;
      this.dropped += Buffer.byteLength(old.piece.data);
      this.o.onDone?.(old.raw);
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.o.flushMs ?? 200);
      this.timer.unref();
    }
  }

  /** Sends what is pending; resolves when it was handed over (or could not be: it is kept for later). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
    if (this.pending.length === 0 && this.dropped === 0) return;
    const batch = this.pending.splice(0, 64);
    const dropped = this.dropped;
    this.dropped = 0;
    const bytes = batch.reduce((n, p) => n + p.piece.data.length, 0);
    this.pendingBytes -= bytes;
    const pieces = batch.length ? batch.map((b) => b.piece) : [{ stream: 'system' as const, data: '', at: this.now() }];
    this.sending = this.o.send(pieces, dropped).then(
      () => this.o.onDone?.(batch.reduce((n, b) => n + b.raw, 0)),
      () => {
        // keep it for the next flush (the hub is out of reach); the bound above still holds
        this.pending.unshift(...batch);
        this.pendingBytes += bytes;
        this.dropped += dropped;
      },
    );
    await this.sending;
    this.sending = null;
    if (this.pending.length && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, 1000);
      this.timer.unref();
    }
  }

  /** Ends the decoders (a trailing partial character) and sends the rest. */
  async end(): Promise<void> {
    for (const s of ['stdout', 'stderr'] as const) {
      const rest = this.decoders[s].end();
      if (rest) this.push({ stream: s, data: rest, at: this.now() }, this.carry);
      if (rest) this.carry = 0;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
