import { describe, expect, it } from 'vitest';
import { addressKey, createFrameScanner, createPacketScanner, PendingLedger } from './limits.js';

/** MQTT remaining-length bytes. */
function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}
const packet = (type: number, bodyBytes: number) => Buffer.from([type << 4, ...varint(bodyBytes), ...new Array<number>(bodyBytes).fill(0)]);

describe('packet scanner', () => {
  it('follows packet boundaries across chunks and allows packets up to the limit', () => {
    const s = createPacketScanner();
    const stream = Buffer.concat([packet(1, 20), packet(3, 200), packet(12, 0), packet(3, 16_000)]);
    // split at every awkward place: inside headers, inside the remaining length, inside bodies
    for (const [a, b] of [[0, 1], [1, 2], [2, 23], [23, 24], [24, 100], [100, 226], [226, stream.length]]) {
      expect(s.feed(stream.subarray(a, b), 16_004)).toEqual({ ok: true });
    }
    expect(s.packets).toBe(4);
  });

  it('refuses a packet over the limit from its header alone, before its body', () => {
    const s = createPacketScanner();
    // a CONNECT claiming 64 MiB: 0x10 + 4 remaining-length bytes, nothing of the body yet
    const header = Buffer.from([0x10, ...varint(64 * 1024 * 1024)]);
    expect(s.feed(header, 8192)).toEqual({ ok: false, reason: 'too-large', type: 1, bytes: 1 + 4 + 64 * 1024 * 1024, limit: 8192 });
    expect(s.feed(Buffer.alloc(10), 1e9)).toMatchObject({ ok: false }); // once refused, always refused
  });

  it('applies the limit given with the chunk that completes a header', () => {
    const s = createPacketScanner();
    expect(s.feed(packet(1, 100), 200)).toEqual({ ok: true });
    expect(s.feed(packet(3, 1000), 200)).toMatchObject({ ok: false, reason: 'too-large', bytes: 1003 });
    const t = createPacketScanner();
    expect(t.feed(packet(1, 100), 200)).toEqual({ ok: true });
    expect(t.feed(packet(3, 1000), 2000)).toEqual({ ok: true });
  });

  it('refuses a first packet that is not a CONNECT, and a remaining length over 4 bytes', () => {
    expect(createPacketScanner().feed(Buffer.from('GET / HTTP/1.1\r\n'), 1e6)).toEqual({ ok: false, reason: 'not-connect', type: 4 });
    expect(createPacketScanner().feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]), 1e9)).toEqual({ ok: false, reason: 'malformed', type: 1 });
  });
});

/** A client's masked WebSocket frame: header and `payload` zero bytes. */
function frame(payload: number, o: { fin?: boolean; opcode?: number; headerOnly?: boolean } = {}): Buffer {
  const b0 = (o.fin === false ? 0 : 0x80) | (o.opcode ?? 2);
  const len = payload < 126 ? [0x80 | payload] : payload < 65536 ? [0x80 | 126, payload >> 8, payload & 0xff] : [0x80 | 127, 0, 0, 0, 0, ...[24, 16, 8, 0].map((s) => (payload / 2 ** s) & 0xff)];
  return Buffer.concat([Buffer.from([b0, ...len, 1, 2, 3, 4]), Buffer.alloc(o.headerOnly ? 0 : payload)]);
}

describe('WebSocket frame scanner', () => {
  it('follows frames of every header size across chunks; control frames do not count', () => {
    const s = createFrameScanner();
    const bytes = Buffer.concat([frame(10), frame(300), frame(5, { opcode: 9 }), frame(70_000, { fin: false }), frame(0, { opcode: 0 })]);
    for (let i = 0; i < bytes.length; i += 7) expect(s.feed(bytes.subarray(i, i + 7), 70_000)).toEqual({ ok: true });
  });

  it('refuses a frame announcing more than the limit from its header', () => {
    const header = frame(64 * 1024 * 1024, { headerOnly: true });
    expect(header.length).toBe(14);
    expect(createFrameScanner().feed(header, 8192)).toEqual({ ok: false, reason: 'too-large', bytes: 64 * 1024 * 1024, limit: 8192 });
  });

  it('adds up the fragments of a message, and starts again with the next message', () => {
    const s = createFrameScanner();
    expect(s.feed(Buffer.concat([frame(3000, { fin: false }), frame(3000, { opcode: 0, fin: false }), frame(2000, { opcode: 0 })]), 8192)).toEqual({ ok: true });
    expect(s.feed(frame(8000), 8192)).toEqual({ ok: true }); // a new message
    expect(s.feed(Buffer.concat([frame(5000, { fin: false }), frame(5000, { opcode: 0 })]), 8192)).toMatchObject({ ok: false, bytes: 10_000 });
  });
});

describe('pending-connection ledger', () => {
  it('bounds connections per address and in all, and frees a slot on release', () => {
    const l = new PendingLedger({ maxPendingPerAddress: 2, maxPending: 3 });
    expect(l.admit('a')).toBe('ok');
    expect(l.admit('a')).toBe('ok');
    expect(l.admit('a')).toBe('address-full');
    expect(l.admit('b')).toBe('ok');
    expect(l.admit('c')).toBe('all-full');
    l.release('a');
    expect(l.pending('a')).toBe(1);
    expect(l.admit('c')).toBe('ok');
    expect(l.pending()).toBe(3);
    l.release('zzz'); // never admitted: nothing changes
    expect(l.pending()).toBe(3);
  });

  it('counts an IPv4 client the same over IPv4 and IPv6 sockets', () => {
    expect(addressKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(addressKey('10.0.0.1')).toBe('10.0.0.1');
    expect(addressKey('2001:db8::1')).toBe('2001:db8::1');
  });
});
