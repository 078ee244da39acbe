// Raw MQTT over node:net for tests and benches that play a hostile client: packets built by hand (MQTT 3.1.1),
// oversized claims streamed with back-pressure, bounded waits for the hub to close a socket.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** MQTT remaining-length bytes. */
export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

const str = (s: string) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};

/** A CONNECT (MQTT 3.1.1, clean session, keepalive 60 s), with username and password when given. */
export function connectPacket(o: { clientId: string; username?: string; password?: string }): Buffer {
  const flags = 0x02 | (o.username !== undefined ? 0x80 : 0) | (o.password !== undefined ? 0x40 : 0);
  const body = Buffer.concat([
    str('MQTT'), Buffer.from([4, flags, 0, 60]), str(o.clientId),
    ...(o.username !== undefined ? [str(o.username)] : []), ...(o.password !== undefined ? [str(o.password)] : []),
  ]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** The fixed header of a packet of `type` (1 CONNECT, 3 PUBLISH, ...) whose remaining length claims `bytes`. */
export const fixedHeader = (type: number, bytes: number) => Buffer.concat([Buffer.from([type << 4]), remainingLength(bytes)]);

/** The start of a QoS 0 PUBLISH on `topic` whose payload claims `payloadBytes`: fixed header and topic. */
export function publishStart(topic: string, payloadBytes: number): Buffer {
  const t = str(topic);
  return Buffer.concat([Buffer.from([0x30]), remainingLength(t.length + payloadBytes), t]);
}

export function openRaw(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host });
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {}); // a reset by the hub is what these tests expect
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves when the socket closes; rejects after `timeoutMs` (a bounded deadline, not a speed claim). */
export function closedWithin(s: Socket, timeoutMs: number, what = 'the hub to close the socket'): Promise<void> {
  if (s.destroyed && s.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no close within ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    s.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Reads `n` bytes (e.g. a CONNACK); rejects if the socket closes first or after `timeoutMs`. */
export function readBytes(s: Socket, n: number, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const done = (err: Error | null, v?: Buffer) => {
      clearTimeout(t);
      s.off('data', onData);
      s.off('close', onClose);
      if (err) reject(err);
      else resolve(v!);
    };
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= n) done(null, got.subarray(0, n));
    };
    const onClose = () => done(new Error(`socket closed after ${got.length} of ${n} bytes`));
    const t = setTimeout(() => done(new Error(`no ${n} bytes within ${timeoutMs} ms`)), timeoutMs);
    s.on('data', onData);
    s.once('close', onClose);
  });
}

/**
 * Writes `head`, then zeros until `total` bytes are written or the socket closes, honouring back-pressure (as a
 * client streaming a big packet would). Resolves with the bytes the kernel took before the socket closed - what a
 * hub that buffers the packet would have to hold - and whether the hub closed it before all were sent.
 */
export function stream(s: Socket, head: Buffer, total: number, opts: { signal?: AbortSignal; chunkBytes?: number } = {}): Promise<{ sent: number; closedEarly: boolean }> {
  const chunk = Buffer.alloc(opts.chunkBytes ?? 64 * 1024);
  return new Promise((resolve) => {
    let sent = 0;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      resolve({ sent, closedEarly: sent < total });
    };
    s.once('close', finish);
    opts.signal?.addEventListener('abort', () => s.destroy(), { once: true });
    const count = (n: number) => (err?: Error | null) => {
      if (!err) sent += n;
    };
    let written = 0;
    const pump = () => {
      if (s.destroyed) return;
      if (written === 0) {
        s.write(head, count(head.length));
        written = head.length;
      }
      while (written < total && !s.destroyed) {
        const n = Math.min(chunk.length, total - written);
        written += n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n), count(n))) return void s.once('drain', pump);
      }
      if (written >= total) s.end(); // all sent: wait for the hub's answer (or close)
    };
    pump();
  });
}

/**
 * `sockets` raw connections at once, each streaming one packet (a CONNECT by default) whose header claims
 * `claimBytes`, none authenticated. Resolves when every one is closed (by the hub, or by `signal`), with what each
 * got into the kernel and whether the hub closed it before it had sent everything.
 */
export async function flood(port: number, o: { sockets: number; claimBytes: number; signal?: AbortSignal; host?: string }): Promise<{ sent: number; closedEarly: boolean }[]> {
  const conns = await Promise.all(Array.from({ length: o.sockets }, () => openRaw(port, o.host).catch(() => null)));
  return Promise.all(conns.map((s) => (s ? stream(s, fixedHeader(1, o.claimBytes), o.claimBytes + 5, { signal: o.signal }) : { sent: 0, closedEarly: true })));
}

/** Resident memory of a process from /proc (Linux), MiB: now (VmRSS) and its peak so far (VmHWM). */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** A raw socket upgraded to a WebSocket (subprotocol mqtt) by hand, so that frames can be written as they are. */
export async function openRawWebSocket(port: number, host = '127.0.0.1'): Promise<Socket> {
  const s = await openRaw(port, host);
  s.write(`GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`);
  const head = await new Promise<string>((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        s.off('data', onData);
        resolve(got);
      }
    };
    s.on('data', onData);
    s.once('close', () => reject(new Error(`closed during the WebSocket handshake: ${got}`)));
  });
  if (!head.startsWith('HTTP/1.1 101')) throw new Error(`no WebSocket upgrade: ${head.split('\r\n')[0]}`);
  return s;
}

/** A client's (masked) binary frame header announcing `payloadBytes`, with `fin` set unless told otherwise. */
export function wsFrameHeader(payloadBytes: number, o: { fin?: boolean; opcode?: number } = {}): Buffer {
  const b0 = (o.fin === false ? 0 : 0x80) | (o.opcode ?? 2);
  const mask = Buffer.alloc(4); // all-zero mask: the payload goes as it is
  if (payloadBytes < 126) return Buffer.concat([Buffer.from([b0, 0x80 | payloadBytes]), mask]);
  if (payloadBytes < 65536) return Buffer.concat([Buffer.from([b0, 0x80 | 126, payloadBytes >> 8, payloadBytes & 0xff]), mask]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(payloadBytes));
  return Buffer.concat([Buffer.from([b0, 0x80 | 127]), len, mask]);
}
