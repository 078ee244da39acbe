// The agent's remote service with a real PTY (util-linux `script`) and a real shell: output, resize, Ctrl-C,
// the exit code, the owner's opt-in, the idle time-out, and the log tail with follow.
import { describe, expect, it } from 'vitest';
import { DeviceConfig, silentLogger } from '@sosna/protocol';
import type { CallContext, RemoteChunk } from '@sosna/protocol';
import { LogTail } from '../dashboard/logtail.js';
import { journalSource, remoteHandlers } from './service.js';
import { ByteBucket } from './rate.js';
import { scriptArgv, shellQuote } from './pty.js';

const base = DeviceConfig.parse({ hub: { url: 'mqtt://127.0.0.1:1883' }, stateDir: '/tmp/x' }).remoteShell;

async function until(what: string, fn: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function ctx<T>(): { ctx: CallContext<unknown>; chunks: T[]; abort: () => void } {
  const ac = new AbortController();
  const chunks: T[] = [];
  return { ctx: { peer: 'hub', meta: undefined, signal: ac.signal, emit: (c) => chunks.push(c as T) }, chunks, abort: () => ac.abort() };
}

const deps = (over: Partial<Parameters<typeof remoteHandlers>[0]> = {}) =>
  remoteHandlers({ deviceId: () => 'rig-1', config: { ...base, enabled: true, command: ['/bin/sh'] }, bytesPerSec: 256 * 1024, configPath: '/boot/sosna/config.json', log: silentLogger, engine: null, containerOf: () => null, logTail: null, journal: null, ...over });

describe('remote shell on the device', () => {
  it('is refused unless the owner enabled it, naming the field and the file', async () => {
    const h = deps({ config: base });
    const c = ctx<RemoteChunk>();
    await expect(Promise.resolve(h.open({ sessionId: 's-0000000000000001', operator: 'ada', cols: 80, rows: 24 }, c.ctx))).rejects.toThrow(/remoteShell\.enabled: true in \/boot\/sosna\/config\.json/);
  });

  it('runs a shell on a PTY: output, resize, Ctrl-C, exit code', async () => {
    const h = deps();
    const id = 's-00000000000000a1';
    const c = ctx<RemoteChunk>();
    const text = () => c.chunks.map((x) => (x.kind === 'out' ? x.data : '')).join('');
    const done = Promise.resolve(h.open({ sessionId: id, operator: 'ada', cols: 91, rows: 27 }, c.ctx));
    // input is taken from the first chunk on, before the shell has even printed its prompt
    await until('started', () => c.chunks.length > 0);
    expect(c.chunks[0]).toEqual({ kind: 'started', sessionId: id, deviceId: 'rig-1' });
    await h.input({ sessionId: id, data: 'stty size\n' }, c.ctx);
    await until('27 91', () => /27 91/.test(text()));
    await h.resize({ sessionId: id, cols: 120, rows: 40 }, c.ctx);
    await h.input({ sessionId: id, data: 'stty size\n' }, c.ctx);
    await until('40 120', () => /40 120/.test(text()));
    await h.input({ sessionId: id, data: 'sleep 60; echo not-interrupted\n' }, c.ctx);
    await new Promise((r) => setTimeout(r, 300));
    await h.input({ sessionId: id, data: '\x03' }, c.ctx);
    await h.input({ sessionId: id, data: 'echo after-$((40+2))\n' }, c.ctx);
    await until('after-42', () => /after-42/.test(text()));
    expect(text()).not.toMatch(/^not-interrupted/m); // only the echoed command line has it
    await h.input({ sessionId: id, data: 'exit 3\n' }, c.ctx);
    await done;
    expect(c.chunks.at(-1)).toEqual({ kind: 'exit', code: 3 });
    await expect((async () => h.input({ sessionId: id, data: 'x' }, c.ctx))()).rejects.toThrow(/no remote shell session/);
  }, 30_000);

  it('slows output down to the rate bound without losing any of it', async () => {
    const h = deps({ bytesPerSec: 40_000 });
    const c = ctx<RemoteChunk>();
    const done = Promise.resolve(h.open({ sessionId: 's-00000000000000d1', operator: 'ada', cols: 80, rows: 24 }, c.ctx));
    await until('started', () => c.chunks.length > 0);
    // 100,000 bytes at 40,000 a second: the PTY's reader pauses, the program waits, nothing is dropped
    await h.input({ sessionId: 's-00000000000000d1', data: 'stty -echo; head -c 100000 /dev/zero | tr "\\0" x; echo; exit 0\n' }, c.ctx);
    await done;
    const text = c.chunks.map((x) => (x.kind === 'out' ? x.data : '')).join('');
    expect(text.match(/x{100000}/)).not.toBeNull();
    expect(c.chunks.some((x) => x.kind === 'dropped')).toBe(false);
    expect(c.chunks.at(-1)).toEqual({ kind: 'exit', code: 0 });
  }, 30_000);

  it('ends a session idle for remoteShell.idleTimeoutSec', async () => {
    const h = deps({ config: { ...base, enabled: true, command: ['/bin/sh'], idleTimeoutSec: 1 } });
    const c = ctx<RemoteChunk>();
    await h.open({ sessionId: 's-00000000000000b2', operator: 'ada', cols: 80, rows: 24 }, c.ctx);
    expect(c.chunks.at(-1)).toMatchObject({ kind: 'exit', code: 124, reason: expect.stringMatching(/idle for 1 s/) });
  }, 30_000);

  it('refuses more sessions than remoteShell.maxSessions, and ends its shells when the hub cancels', async () => {
    const h = deps({ config: { ...base, enabled: true, command: ['/bin/sh'], maxSessions: 1 } });
    const a = ctx<RemoteChunk>();
    const first = Promise.resolve(h.open({ sessionId: 's-00000000000000c1', operator: 'ada', cols: 80, rows: 24 }, a.ctx));
    const b = ctx<RemoteChunk>();
    await expect(Promise.resolve(h.open({ sessionId: 's-00000000000000c2', operator: 'ada', cols: 80, rows: 24 }, b.ctx))).rejects.toThrow(/remoteShell\.maxSessions is 1/);
    a.abort();
    await first;
    expect(a.chunks.at(-1)).toMatchObject({ kind: 'exit', reason: 'closed by the hub' });
  }, 30_000);
});

describe('agent log', () => {
  it('sends the tail, then follows new lines until cancelled', async () => {
    const tail = new LogTail(10);
    for (let i = 0; i < 15; i++) tail.push(`line ${i}`);
    const h = deps({ logTail: tail });
    const c = ctx<{ lines: string[]; dropped: number }>();
    const following = Promise.resolve(h.logs({ lines: 3, follow: true }, c.ctx));
    await until('the tail', () => c.chunks.length > 0);
    expect(c.chunks[0]!.lines).toEqual(['line 12', 'line 13', 'line 14']);
    tail.push('a new line');
    await until('the new line', () => c.chunks.some((x) => x.lines.includes('a new line')));
    c.abort();
    await following;
  });

  it('drops lines over the rate and counts them', async () => {
    const tail = new LogTail(1000, 2000);
    for (let i = 0; i < 100; i++) tail.push('x'.repeat(1000));
    const h = deps({ logTail: tail, bytesPerSec: 10_000, now: () => 0 });
    const c = ctx<{ lines: string[]; dropped: number }>();
    await h.logs({ lines: 100, follow: false }, c.ctx);
    const sent = c.chunks.reduce((n, x) => n + x.lines.length, 0);
    const dropped = c.chunks.reduce((n, x) => n + x.dropped, 0);
    expect(sent).toBe(9);
    expect(dropped).toBe(91 * 1001);
  });
});

describe('agent log from journald', () => {
  it('runs journalctl with -n and -f, sends its lines, and stops it when cancelled', async () => {
    // a stand-in journalctl: prints its arguments and two lines, then (with -f) one line a moment later and waits
    const fake = ['/bin/sh', '-c', 'echo "args: $*"; echo j-one; echo j-two; case "$*" in *-f*) sleep 0.2; echo j-three; exec sleep 60;; esac', 'journalctl', '-u', 'sosna-agent', '-o', 'cat'];
    const once = ctx<{ lines: string[]; source: string }>();
    await deps({ journal: { command: fake } }).logs({ lines: 5, follow: false }, once.ctx);
    expect(once.chunks.flatMap((c) => c.lines)).toEqual(['args: -u sosna-agent -o cat -n 5', 'j-one', 'j-two']);
    expect(once.chunks[0]!.source).toBe('journald');
    const f = ctx<{ lines: string[] }>();
    const following = Promise.resolve(deps({ journal: { command: fake } }).logs({ lines: 2, follow: true }, f.ctx));
    await until('j-three', () => f.chunks.some((c) => c.lines.includes('j-three')));
    expect(f.chunks[0]!.lines[0]).toBe('args: -u sosna-agent -o cat -n 2 -f');
    f.abort();
    await following; // journalctl was stopped, or this would wait for its sleep
  });

  it('is used when systemd started the agent and journalctl is there', () => {
    const all = () => true;
    expect(journalSource({ INVOCATION_ID: 'abc' }, all)).toEqual({ command: ['/usr/bin/journalctl', '-u', 'sosna-agent', '-o', 'cat', '--no-pager'] });
    expect(journalSource({}, all)).toBeNull();
    expect(journalSource({ INVOCATION_ID: 'abc' }, (p) => p !== '/run/systemd/journal/socket')).toBeNull();
  });
});

describe('pure parts', () => {
  it('quotes words for sh and builds the script command line', () => {
    expect(shellQuote('/bin/bash')).toBe('/bin/bash');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(scriptArgv(['/bin/sh', '-l'], 100, 30)).toEqual(['script', '-qfec', 'stty cols 100 rows 30 2>/dev/null; exec /bin/sh -l', '/dev/null']);
  });
  it('a byte bucket says how long to wait', () => {
    let t = 0;
    const b = new ByteBucket(1000, () => t);
    expect(b.take(500)).toBe(0);
    expect(b.take(1000)).toBe(500);
    t = 500;
    expect(b.tryTake(1)).toBe(false);
    t = 1500;
    expect(b.tryTake(900)).toBe(true);
  });
});
