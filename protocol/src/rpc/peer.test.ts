import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCodec } from '../codec.js';
import { RpcEndpoint } from './endpoint.js';
import { RpcPeer } from './peer.js';
import { defineService } from './service.js';
import { Slot } from './frame.js';

const codec = createCodec();
const mathService = defineService('math', {
  add: { params: z.object({ a: z.number(), b: z.number() }), result: z.object({ sum: z.number() }) },
  count: { params: z.object({ to: z.number().int().max(1000) }), result: z.number(), streaming: true },
  fail: { params: z.object({}), result: z.object({}) },
  hang: { params: z.object({}), result: z.object({}) },
});

function pair() {
  const warnings: string[] = [];
  let aborted = 0;
  let started = 0;
  const endpoint = new RpcEndpoint<{ who: string }>().add(mathService, {
    add: ({ a, b }) => ({ sum: a + b }),
    count: async ({ to }, ctx) => {
      for (let i = 1; i <= to; i++) ctx.emit(i);
    },
    fail: () => {
      throw new Error('boom');
    },
    hang: (_p, ctx) => {
      started++;
      return new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => { aborted++; reject(new Error('aborted')); }));
    },
  });
  const wire: { toOwner: Uint8Array[] } = { toOwner: [] };
  // queueMicrotask models asynchronous delivery through a broker
  let owner!: RpcPeer<{ who: string }>;
  const caller = new RpcPeer({ role: 'caller', codec, send: (b) => { wire.toOwner.push(b); queueMicrotask(() => owner.receive(b)); }, peer: 'owner' });
  owner = new RpcPeer({
    role: 'owner', codec, endpoint, meta: { who: 'x' }, peer: 'caller',
    send: (b) => queueMicrotask(() => caller.receive(b)),
    log: { warn: (m) => warnings.push(m) },
  });
  return { caller, owner, warnings, wire, stats: () => ({ aborted, started }) };
}

describe('RpcPeer', () => {
  it('resolves a service through the locator and calls it', async () => {
    const { caller } = pair();
    expect(await caller.call(mathService, 'add', { a: 2, b: 3 })).toEqual({ sum: 5 });
    const list = await caller.callRaw('locator', 'list', {});
    expect(list[0]).toEqual({ services: [{ name: 'locator', methods: ['resolve', 'list'] }, { name: 'math', methods: ['add', 'count', 'fail', 'hang'] }] });
  });

  it('streams chunks and ends with choke', async () => {
    const { caller } = pair();
    const got: unknown[] = [];
    await caller.call(mathService, 'count', { to: 5 }, { onChunk: (c) => got.push(c) });
    expect(got).toEqual([1, 2, 3, 4, 5]);
  });

  it('turns handler exceptions and bad params into error frames', async () => {
    const { caller } = pair();
    await expect(caller.call(mathService, 'fail', {})).rejects.toMatchObject({ code: 'E_INTERNAL', message: 'boom' });
    await expect(caller.callRaw('math', 'add', { a: 'x' })).rejects.toMatchObject({ code: 'E_INVALID', message: expect.stringContaining('a:') });
    await expect(caller.callRaw('nope', 'x', {})).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });

  it('answers malformed frames with an error on their channel and keeps serving', async () => {
    const { caller, owner, warnings } = pair();
    const replies: unknown[] = [];
    const raw = new RpcPeer({ role: 'caller', codec, send: () => {}, peer: 'x' });
    void raw;
    const probe = new RpcPeer({ role: 'owner', codec, endpoint: new RpcEndpoint(), send: (b) => replies.push(codec.decode(b)), log: { warn: (m) => warnings.push(m) } });
    probe.receive(codec.encode([10, 0, 'not-an-array']));
    probe.receive(Uint8Array.from([0x93, 0x0c, 0xc1])); // channel 12, then an invalid byte
    probe.receive(codec.encode([14, 99, []])); // unknown slot
    probe.receive(Uint8Array.from([0xc1, 0xc1]));
    expect(replies).toEqual([
      [10, Slot.error, ['E_BAD_FRAME', 'args must be an array']],
      [12, Slot.error, [expect.stringMatching(/E_DECODE/), expect.any(String)]],
      [14, Slot.error, ['E_UNKNOWN_SLOT', 'no method at slot 99']],
    ]);
    expect(warnings.length).toBeGreaterThan(0);
    expect(await caller.call(mathService, 'add', { a: 1, b: 1 })).toEqual({ sum: 2 });
    void owner;
  });

  it('never runs a redelivered opening frame twice', async () => {
    const { caller, owner, wire, stats } = pair();
    const p = caller.call(mathService, 'hang', {}, { timeoutMs: 5_000 }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 5));
    const opening = wire.toOwner.at(-1)!;
    owner.receive(opening);
    owner.receive(opening);
    expect(stats().started).toBe(1);
    await caller.callRaw('math', 'add', { a: 1, b: 2 });
    void p;
  });

  it('times out, cancels the remote handler, and ignores late replies', async () => {
    const { caller, stats } = pair();
    await expect(caller.call(mathService, 'hang', {}, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'E_TIMEOUT' });
    await new Promise((r) => setTimeout(r, 10));
    expect(stats().aborted).toBe(1);
    const ac = new AbortController();
    const p = caller.call(mathService, 'hang', {}, { signal: ac.signal, timeoutMs: 5_000 });
    setTimeout(() => ac.abort(), 10);
    await expect(p).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(caller.pendingCount).toBe(0);
  });

  it('fails pending calls when closed', async () => {
    const { caller } = pair();
    const p = caller.call(mathService, 'hang', {}, { timeoutMs: 5_000 });
    caller.close('gone');
    await expect(p).rejects.toMatchObject({ code: 'E_UNAVAILABLE', message: 'gone' });
  });
});
