// Docker's multiplexed output stream (containers without a TTY): frames of an 8-byte header
// [stream, 0, 0, 0, size (uint32 big-endian)] and `size` bytes of payload; stream 1 is stdout, 2 stderr.
// Pure: bytes in, (stream, payload) out, whatever the chunking.
export type OutputStream = 'stdout' | 'stderr';

export class Demuxer {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: OutputStream, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    while (this.buf.length - off >= 8) {
      const size = this.buf.readUInt32BE(off + 4);
      if (this.buf.length - off - 8 < size) break;
      const type = this.buf[off]!;
      const payload = this.buf.subarray(off + 8, off + 8 + size);
      // 0 (stdin) and 3 (system error) are rare; count them with stderr
      if (size > 0) this.onFrame(type === 1 ? 'stdout' : 'stderr', payload);
      off += 8 + size;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
  }

  /** Bytes of an incomplete frame still held. */
  get pending(): number {
    return this.buf.length;
  }
}

/** Builds one frame (tests, and the engine stub in benchmarks). */
export function frame(stream: OutputStream, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(8);
  head[0] = stream === 'stdout' ? 1 : 2;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}
