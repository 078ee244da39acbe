// Connection limits for the embedded broker, so that nobody can fill the hub's memory without logging in.
// aedes (through mqtt-packet) reads and holds a packet of any declared size until it is complete, and before the
// CONNECT's credentials are checked; it has no packet-size option. So every connection goes through a guard here
// before aedes sees it:
//   - admission: a connection not yet authenticated counts against its remote address and against all of them;
//     beyond the limits it is closed at once, before a byte is read;
//   - a connect time-out: a connection that has not authenticated this long after it opened is closed (this also
//     covers a WebSocket's HTTP socket that never upgrades, which aedes never sees);
//   - packet sizes: the MQTT fixed header (type byte + "remaining length", at most 5 bytes) tells a packet's size
//     before its body arrives. The guard reads the headers as aedes reads the stream and closes the connection on
//     the first packet over the limit - a small one before authentication (the CONNECT), maxPacketBytes after -
//     so at most one read chunk of an oversized packet is ever held.
// Pure logic (the fixed-header scanner, the pending-connection ledger) beside one thin I/O function.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '@sosna/protocol';

export interface ConnectionLimits {
  /** Largest packet (fixed header included) before the connection authenticated: its CONNECT. */
  preAuthMaxPacketBytes: number;
  /** Largest packet once authenticated. */
  maxPacketBytes: number;
  /** A connection that has not authenticated this long after it opened is closed. */
  connectTimeoutMs: number;
  /** Connections not yet authenticated from one remote address. */
  maxPendingPerAddress: number;
  /** Connections not yet authenticated from all addresses together. */
  maxPending: number;
}

// ---------------------------------------------------------------------------------------------------------
// The fixed-header scanner (pure): follows packet boundaries through a byte stream, skipping bodies.

export const CONNECT = 1;

export type ScanVerdict =
  | { ok: true }
  | { ok: false; reason: 'too-large'; type: number; bytes: number; limit: number }
  | { ok: false; reason: 'not-connect'; type: number }
  | { ok: false; reason: 'malformed'; type: number };

export interface PacketScanner {
  /** Scans the next bytes of the stream; `limit` is the largest whole packet allowed for headers completed in them. */
  feed(chunk: Uint8Array, limit: number): ScanVerdict;
  /** Packets whose header was read so far. */
  readonly packets: number;
}

/** A scanner for one stream; its first packet must be a CONNECT. After a refusal the stream is to be closed. */
export function createPacketScanner(): PacketScanner {
  let type = -1; // header byte's packet type of the packet in progress; -1: at a packet boundary
  let length = 0; // remaining length read so far
  let lengthBytes = 0;
  let skip = 0; // body bytes of the current packet still to come
  let packets = 0;
  let refused: ScanVerdict | null = null;
  return {
    get packets() {
      return packets;
    },
    feed(chunk, limit) {
      if (refused) return refused;
      let i = 0;
      while (i < chunk.length) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - i);
          skip -= n;
          i += n;
          continue;
        }
        const byte = chunk[i++]!;
        if (type === -1) {
          type = byte >> 4;
          length = 0;
          lengthBytes = 0;
          if (packets === 0 && type !== CONNECT) return (refused = { ok: false, reason: 'not-connect', type });
          continue;
        }
        // remaining length: 7 bits a byte, least significant first, at most 4 bytes
        length += (byte & 0x7f) * 128 ** lengthBytes;
        lengthBytes++;
        if (byte & 0x80) {
          if (lengthBytes === 4) return (refused = { ok: false, reason: 'malformed', type });
          continue;
        }
        packets++;
        const bytes = 1 + lengthBytes + length;
        if (bytes > limit) return (refused = { ok: false, reason: 'too-large', type, bytes, limit });
        skip = length;
        type = -1;
      }
      return { ok: true };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The WebSocket frame scanner (pure): the ws library holds a whole message (all its fragments) before it hands
// it on, up to its server-wide maxPayload; before authentication the guard reads the frame headers on the raw
// socket and closes a connection whose message in progress would exceed the pre-authentication cap.

export type FrameVerdict = { ok: true } | { ok: false; reason: 'too-large'; bytes: number; limit: number };

export interface FrameScanner {
  /** Scans the next raw bytes after the upgrade; `limit` bounds the payload of one (possibly fragmented) message. */
  feed(chunk: Uint8Array, limit: number): FrameVerdict;
}

export function createFrameScanner(): FrameScanner {
  const header: number[] = []; // bytes of the frame header read so far
  let skip = 0; // payload bytes of the current frame still to come
  let message = 0; // payload bytes of the data message in progress
  let refused: FrameVerdict | null = null;
  /** The header's full length once its first two bytes are known. */
  const headerLength = () => 2 + ((header[1]! & 0x7f) === 126 ? 2 : (header[1]! & 0x7f) === 127 ? 8 : 0) + (header[1]! & 0x80 ? 4 : 0);
  return {
    feed(chunk, limit) {
      if (refused) return refused;
      let i = 0;
      while (i < chunk.length) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - i);
          skip -= n;
          i += n;
          continue;
        }
        header.push(chunk[i++]!);
        if (header.length < 2 || header.length < headerLength()) continue;
        const fin = (header[0]! & 0x80) !== 0;
        const opcode = header[0]! & 0x0f;
        const len7 = header[1]! & 0x7f;
        let length = len7;
        if (len7 === 126) length = header[2]! * 256 + header[3]!;
        else if (len7 === 127) {
          length = 0;
          for (let k = 2; k < 10; k++) length = length * 256 + header[k]!; // beyond 2^53 it is too large anyway
        }
        header.length = 0;
        if (opcode < 8) {
          // data (1 text, 2 binary) starts a message, 0 continues it; control frames (ping, pong, close) are
          // at most 125 bytes and ws refuses larger ones itself
          message = opcode === 0 ? message + length : length;
          if (message > limit) return (refused = { ok: false, reason: 'too-large', bytes: message, limit });
          if (fin) message = 0;
        }
        skip = length;
      }
      return { ok: true };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The pending-connection ledger (pure): connections not yet authenticated, per remote address and in all.

export type Admission = 'ok' | 'address-full' | 'all-full';

export class PendingLedger {
  private readonly perAddress = new Map<string, number>();
  private total = 0;
  constructor(private readonly limits: Pick<ConnectionLimits, 'maxPendingPerAddress' | 'maxPending'>) {}

  /** Counts a new connection from `address` when the limits allow it. */
  admit(address: string): Admission {
    const n = this.perAddress.get(address) ?? 0;
    if (n >= this.limits.maxPendingPerAddress) return 'address-full';
    if (this.total >= this.limits.maxPending) return 'all-full';
    this.perAddress.set(address, n + 1);
    this.total++;
    return 'ok';
  }

  /** The connection authenticated or closed: it no longer counts. */
  release(address: string): void {
    const n = this.perAddress.get(address);
    if (!n) return;
    if (n === 1) this.perAddress.delete(address);
    else this.perAddress.set(address, n - 1);
    this.total--;
  }

  pending(address?: string): number {
    return address === undefined ? this.total : (this.perAddress.get(address) ?? 0);
  }
}

/** One key per client host: an IPv4 address reached over an IPv6 socket counts as the IPv4 address. */
export function addressKey(remoteAddress: string): string {
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.') ? remoteAddress.slice(7) : remoteAddress;
}

// ---------------------------------------------------------------------------------------------------------
// The guard (thin I/O).

export interface ConnectionGuard {
  /**
   * Admits a socket just accepted (plain TCP, TLS, or the HTTP socket under a WebSocket): closes it at once when
   * its address (or everyone) has too many connections not yet authenticated, else starts its connect time-out.
   * Returns whether it was admitted.
   */
  admit(socket: Socket): boolean;
  /**
   * Hands the MQTT byte stream of an admitted socket - the socket itself, a TLS socket over it, or the WebSocket
   * stream over it - to `handle` (aedes' handle) and checks the size of every packet read from it from then on.
   */
  handle(socket: Socket, stream: Duplex, handle: (stream: Duplex) => void): void;
  /**
   * handle() for a WebSocket: `socket` is the upgraded HTTP socket, `stream` the MQTT stream over the WebSocket.
   * Until the connection authenticated, a message whose frames add up to more than the pre-authentication cap
   * closes it as its frame headers arrive (ws itself would hold the message up to its maxPayload first).
   */
  handleWebSocket(socket: Socket, stream: Duplex, handle: (stream: Duplex) => void): void;
  /** admit + handle for a socket that carries MQTT itself (TCP, TLS): the one call a listener needs. */
  accept(socket: Socket, handle: (stream: Duplex) => void): void;
  /** The connection of this MQTT stream authenticated: its time-out stops, it no longer counts as pending and its packets may be up to maxPacketBytes. */
  authenticated(stream: Duplex): void;
  /** Connections not yet authenticated (from `address`, or all). */
  pending(address?: string): number;
  /** Connections refused or closed so far, per kind (address-full, all-full, timeout, too-large-*, not-connect, malformed). */
  refusals(): Record<string, number>;
}

interface Entry {
  socket: Socket;
  address: string;
  authenticated: boolean;
  released: boolean;
  timer: NodeJS.Timeout;
}

export function createConnectionGuard(opts: { limits: ConnectionLimits; log: Logger }): ConnectionGuard {
  const { limits, log } = opts;
  const ledger = new PendingLedger(limits);
  const bySocket = new WeakMap<Socket, Entry>();
  const byStream = new WeakMap<Duplex, Entry>();
  // a flood must not flood the log: one warning per kind of refusal per 10 s, with the count since the last one
  const refusals = new Map<string, { count: number; loggedAt: number }>();
  const totals: Record<string, number> = {}; // never reset: the counters of /metrics
  const warn = (kind: string, msg: string, fields: Record<string, unknown>) => {
    totals[kind] = (totals[kind] ?? 0) + 1;
    const r = refusals.get(kind) ?? { count: 0, loggedAt: 0 };
    r.count++;
    refusals.set(kind, r);
    const now = Date.now();
    if (now - r.loggedAt < 10_000) return;
    log.warn(msg, { ...fields, ...(r.count > 1 ? { refusedSinceLastWarning: r.count } : {}) });
    r.count = 0;
    r.loggedAt = now;
  };

  /**
   * The entry of an admitted socket. A TLS connection is admitted as its TCP socket, from the first byte and
   * before any handshake, and handed on as the TLS socket over it: node's TLSSocket keeps the socket it wraps
   * as `_parent`.
   */
  const entryOf = (socket: Socket): Entry | undefined => bySocket.get(socket) ?? bySocket.get((socket as Socket & { _parent?: Socket })._parent as Socket);

  const release = (e: Entry) => {
    if (e.released) return;
    e.released = true;
    clearTimeout(e.timer);
    ledger.release(e.address);
  };

  const guard: ConnectionGuard = {
    admit(socket) {
      const remote = socket.remoteAddress;
      if (!remote) {
        socket.destroy(); // closed before it was accepted
        return false;
      }
      const address = addressKey(remote);
      const admission = ledger.admit(address);
      if (admission !== 'ok') {
        socket.destroy();
        if (admission === 'address-full') warn(admission, 'connection refused: too many unauthenticated connections from this address', { address, limit: limits.maxPendingPerAddress });
        else warn(admission, 'connection refused: too many unauthenticated connections', { address, limit: limits.maxPending });
        return false;
      }
      const entry: Entry = {
        socket, address, authenticated: false, released: false,
        timer: setTimeout(() => {
          warn('timeout', 'connection closed: not authenticated in time', { address, timeoutMs: limits.connectTimeoutMs });
          socket.destroy();
        }, limits.connectTimeoutMs),
      };
      entry.timer.unref();
      bySocket.set(socket, entry);
      socket.once('close', () => release(entry));
      return true;
    },

    handle(socket, stream, handle) {
      const entry = entryOf(socket);
      if (!entry) {
        // a listener that skipped admit(): a bug, but never an unguarded connection (nor a throw in an event)
        log.error('connection guard: a socket that was not admitted; closed', { address: socket.remoteAddress });
        stream.destroy();
        socket.destroy();
        return;
      }
      byStream.set(stream, entry);
      handle(stream);
      // aedes reads the stream in paused mode (read() on 'readable'); a 'data' listener added after its
      // 'readable' one sees each chunk as aedes reads it and does not switch the stream to flowing mode
      const scanner = createPacketScanner();
      const onData = (chunk: Buffer) => {
        const verdict = scanner.feed(chunk, entry.authenticated ? limits.maxPacketBytes : limits.preAuthMaxPacketBytes);
        if (verdict.ok) return;
        stream.off('data', onData);
        const fields = { address: entry.address, authenticated: entry.authenticated, ...verdict };
        if (verdict.reason === 'too-large') warn(`too-large-${entry.authenticated}`, 'connection closed: packet too large', fields);
        else warn(verdict.reason, 'connection closed: not an MQTT connection', fields);
        stream.destroy();
        socket.destroy();
      };
      stream.on('data', onData);
    },

    handleWebSocket(socket, stream, handle) {
      guard.handle(socket, stream, handle);
      const entry = entryOf(socket);
      if (!entry || socket.destroyed) return;
      // ws reads the socket in flowing mode ('data'); a second listener sees the same chunks, the bytes that
      // came with the upgrade request too (ws unshifts them and they flow on the next tick)
      const frames = createFrameScanner();
      const onData = (chunk: Buffer) => {
        if (entry.authenticated) return void socket.off('data', onData); // ws' maxPayload (maxPacketBytes) from here on
        const verdict = frames.feed(chunk, limits.preAuthMaxPacketBytes);
        if (verdict.ok) return;
        socket.off('data', onData);
        warn('too-large-false', 'connection closed: packet too large', { address: entry.address, authenticated: false, websocketMessage: true, ...verdict });
        stream.destroy();
        socket.destroy();
      };
      socket.on('data', onData);
    },

    accept(socket, handle) {
      if (guard.admit(socket)) guard.handle(socket, socket, handle);
    },

    authenticated(stream) {
      const entry = byStream.get(stream);
      if (!entry || entry.authenticated) return;
      entry.authenticated = true;
      release(entry);
    },

    pending: (address) => ledger.pending(address),
    refusals: () => ({ ...totals }),
  };
  return guard;
}
