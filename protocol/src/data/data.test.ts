import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { bdecode, bencode, DataPathError, makeTorrent, openSwarm, pieceLengthFor, shuffledRanges, torrentLength } from './index.js';
import type { Swarm } from './index.js';

const dirs: string[] = [];
const swarms: Swarm[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'sosna-data-'));
  dirs.push(d);
  return d;
};
/** A holder of `data` (in.bin) that verifies its copy, then its disk goes bad under it: every piece it serves is wrong. */
async function corruptedHolder(torrent: Buffer, data: Buffer): Promise<Swarm> {
  const dir = tmp();
  writeFileSync(join(dir, 'in.bin'), data);
  const liar = await openSwarm(torrent, { dir });
  swarms.push(liar);
  const fd = openSync(join(dir, 'in.bin'), 'r+');
  writeSync(fd, randomBytes(data.length), 0, data.length, 0);
  closeSync(fd);
  return liar;
}
afterEach(async () => {
  await Promise.all(swarms.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('torrents of inputs and outputs', () => {
  it('gives the same info hash for the same files under another root name (named "output")', async () => {
    const a = join(tmp(), 'one');
    const b = join(tmp(), 'two');
    for (const root of [a, b]) {
      mkdirSync(join(root, 'sub'), { recursive: true });
      writeFileSync(join(root, 'sub', 'x.txt'), 'x');
      writeFileSync(join(root, 'a-c'), 'ac');
    }
    const ma = await makeTorrent(a, { name: 'output' });
    const mb = await makeTorrent(b, { name: 'output' });
    expect(ma.infoHash).toMatch(/^[0-9a-f]{40}$/);
    expect(ma.infoHash).toBe(mb.infoHash);
    writeFileSync(join(b, 'a-c'), 'AC');
    expect((await makeTorrent(b, { name: 'output' })).infoHash).not.toBe(ma.infoHash);
  });

  it('picks the piece length by size (at most 1024 pieces, 256 KiB to 4 MiB) and fetches pieces in a shuffled order of ranges', () => {
    const KiB = 1024;
    const MiB = 1024 * KiB;
    expect(pieceLengthFor(0)).toBe(256 * KiB);
    expect(pieceLengthFor(50 * MiB)).toBe(256 * KiB);
    expect(pieceLengthFor(256 * MiB + 1)).toBe(512 * KiB);
    expect(pieceLengthFor(1024 * MiB)).toBe(1 * MiB);
    expect(pieceLengthFor(64 * 1024 * MiB)).toBe(4 * MiB);
    for (const [n, most] of [[1, 256], [1000, 256], [1024, 256], [7, 3]] as const) {
      const ranges = shuffledRanges(n, most);
      expect(ranges.length).toBeLessThanOrEqual(most);
      const seen = ranges.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, k) => from + k)).sort((x, y) => x - y);
      expect(seen).toEqual(Array.from({ length: n }, (_, k) => k));
    }
  });

  it('names the path and the reason: missing, unreadable, over the limit', async () => {
    const d = tmp();
    await expect(makeTorrent(join(d, 'nope'))).rejects.toThrow(new DataPathError(join(d, 'nope'), 'does not exist'));
    const f = join(d, 'secret');
    writeFileSync(f, 'x');
    chmodSync(f, 0);
    if (process.getuid?.() !== 0) await expect(makeTorrent(d)).rejects.toThrow(`${f}: is not readable (permission denied)`);
    chmodSync(f, 0o644);
    writeFileSync(join(d, 'big'), Buffer.alloc(2000));
    await expect(makeTorrent(d, { maxBytes: 1000 })).rejects.toThrow(`${d}: is larger than the limit of 1000 bytes`);
  });

  it('fetches from a seed and between fetchers over real sockets, verifying each piece', async () => {
    const src = join(tmp(), 'in.bin');
    const data = randomBytes(3 * 1024 * 1024 + 123);
    writeFileSync(src, data);
    const meta = await makeTorrent(src, { pieceLength: 64 * 1024 });
    const seed = await openSwarm(meta.torrent, { dir: join(src, '..') });
    swarms.push(seed);
    await seed.complete;
    // b asks the seed only for pieces a does not have (yet)
    const seeds = [`127.0.0.1:${seed.port}`];
    const a = await openSwarm(meta.torrent, { dir: tmp(), peers: seeds, seeds });
    const b = await openSwarm(meta.torrent, { dir: tmp(), peers: [...seeds, `127.0.0.1:${a.port}`], seeds });
    swarms.push(a, b);
    await Promise.all([a.complete, b.complete]);
    expect(a.have()).toBe(data.length);
    expect(b.have()).toBe(data.length);
    expect(a.downloaded() + b.downloaded()).toBeGreaterThanOrEqual(2 * data.length);
  }, 60_000);

  it('refetches a corrupted piece from another peer and names the peer that sent it', async () => {
    const src = join(tmp(), 'in.bin');
    const data = randomBytes(1024 * 1024);
    writeFileSync(src, data);
    const meta = await makeTorrent(src, { pieceLength: 64 * 1024 });
    const good = await openSwarm(meta.torrent, { dir: join(src, '..') });
    swarms.push(good);
    const liar = await corruptedHolder(meta.torrent, data);
    const bad: string[] = [];
    const f = await openSwarm(meta.torrent, { dir: tmp(), peers: [`127.0.0.1:${liar.port}`, `127.0.0.1:${good.port}`], onInvalidPiece: (peer, _i, sole) => sole && bad.push(peer) });
    swarms.push(f);
    await f.complete;
    expect(bad.length).toBeGreaterThan(0);
    expect(new Set(bad)).toEqual(new Set([`127.0.0.1:${liar.port}`]));
    expect(f.have()).toBe(data.length);
  }, 60_000);

  it('drops a corrupting replica that also dialled in (known by its peer id) and takes its pieces from the seed', async () => {
    const src = join(tmp(), 'in.bin');
    const data = randomBytes(1024 * 1024);
    writeFileSync(src, data);
    const meta = await makeTorrent(src, { pieceLength: 64 * 1024 });
    const seed = await openSwarm(meta.torrent, { dir: join(src, '..') });
    swarms.push(seed);
    const liar = await corruptedHolder(meta.torrent, data);
    // the fetcher asks the seed only for what no other peer has: while the liar is connected (it has
    // every piece) the seed looks empty, so the liar must be dropped on every connection, the one it
    // opened to the fetcher (from an ephemeral port) too, for the seed to be asked
    const bad: string[] = [];
    const f = await openSwarm(meta.torrent, { dir: tmp(), peers: [`127.0.0.1:${liar.port}`, `127.0.0.1:${seed.port}`], seeds: [`127.0.0.1:${seed.port}`], onInvalidPiece: (peer, _i, sole) => sole && bad.push(peer) });
    swarms.push(f);
    liar.connect(`127.0.0.1:${f.port}`);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_ok, fail) => (timer = setTimeout(() => fail(new Error(`the fetch stalled at ${f.have()} of ${data.length} bytes; bad pieces from ${[...new Set(bad)].join(', ') || 'nobody'}`)), 45_000)));
    await Promise.race([f.complete, late]).finally(() => clearTimeout(timer));
    expect(f.have()).toBe(data.length);
    expect(bad.length).toBeGreaterThan(0);
    expect(bad).not.toContain(`127.0.0.1:${seed.port}`);
  }, 60_000);

  it('reads the total size back from a torrent (bdecode of what bencode made)', async () => {
    const root = join(tmp(), 'set');
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, 'a.bin'), randomBytes(70_000));
    writeFileSync(join(root, 'sub', 'b.bin'), randomBytes(5));
    const folder = await makeTorrent(root);
    expect(torrentLength(folder.torrent)).toBe(70_005);
    const file = await makeTorrent(join(root, 'a.bin'));
    expect(torrentLength(file.torrent)).toBe(70_000);
    expect(bdecode(bencode({ a: [1, -2, 'x'], b: 0 }))).toEqual({ a: [1, -2, Buffer.from('x')], b: 0 });
    expect(() => bdecode(Buffer.from('i01e'))).toThrow(/bad integer "01" at byte 0/);
    expect(() => bdecode(Buffer.from('5:ab'))).toThrow(/bad string length/);
    expect(() => bdecode(Buffer.from('i1ee'))).toThrow(/trailing bytes/);
  });

  it('downloads by info hash alone (metadata from the peers) and resumes what is already on disk', async () => {
    const root = join(tmp(), 'output');
    mkdirSync(join(root, 'sub'), { recursive: true });
    const data = randomBytes(512 * 1024);
    writeFileSync(join(root, 'sub', 'r.bin'), data);
    writeFileSync(join(root, 'a.txt'), 'a');
    const meta = await makeTorrent(root, { name: 'output', pieceLength: 64 * 1024 });
    const seed = await openSwarm(meta.torrent, { dir: join(root, '..') });
    swarms.push(seed);
    const out = tmp();
    const first = await openSwarm(`magnet:?xt=urn:btih:${meta.infoHash}`, { dir: out, peers: [`127.0.0.1:${seed.port}`] });
    await first.complete;
    await first.close();
    expect(readFileSync(join(out, 'output', 'sub', 'r.bin')).equals(data)).toBe(true);
    // half of it lost: the second download fetches only what is missing or wrong
    const fd = openSync(join(out, 'output', 'sub', 'r.bin'), 'r+');
    writeSync(fd, Buffer.alloc(100_000), 0, 100_000, 300_000);
    closeSync(fd);
    const again = await openSwarm(`magnet:?xt=urn:btih:${meta.infoHash}`, { dir: out, peers: [`127.0.0.1:${seed.port}`] });
    swarms.push(again);
    await again.complete;
    expect(again.downloaded()).toBeLessThan(data.length / 2);
    expect(readFileSync(join(out, 'output', 'sub', 'r.bin')).equals(data)).toBe(true);
  }, 60_000);
});
