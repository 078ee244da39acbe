// The hub as a fallback seed (input-seeds.ts) over real sockets: it fetches a job input from the buyer's
// seed, serves it to a device once the buyer is gone, refuses what is off or over its bound (named), and
// removes its copy when the job ends. End to end with the CLI and agents: test/jobs-data-hub-seed.e2e.test.ts.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@sosna/protocol';
import type { JobInput } from '@sosna/protocol';
import { makeTorrent, openSwarm } from '@sosna/protocol/data';
import type { Swarm } from '@sosna/protocol/data';
import { InputSeeds } from './input-seeds.js';

const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'sosna-hub-seed-'));
  dirs.push(d);
  return d;
};
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const log = createLogger({ level: 'error', scope: 'test' });
const waitUntil = async (what: string, ok: () => boolean, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

async function buyerInput(bytes: number): Promise<{ input: JobInput; seed: Swarm; data: Buffer }> {
  const root = join(tmp(), 'dataset');
  const data = randomBytes(bytes);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'big.bin'), data);
  const meta = await makeTorrent(root, { pieceLength: 64 * 1024 });
  const seed = await openSwarm(meta.torrent, { dir: join(root, '..') });
  closers.push(() => seed.close());
  return { seed, data, input: { infoHash: meta.infoHash, torrent: meta.torrent.toString('base64'), seeds: [`127.0.0.1:${seed.port}`], mount: '/input', hubSeed: true } };
}

describe('the hub as a fallback seed of job inputs', () => {
  it('fetches from the buyer, serves a device after the buyer is gone, and removes its copy at the end', async () => {
    const dir = tmp();
    const seeds = new InputSeeds({ dir, config: { enabled: true, maxBytes: 1024 * 1024, host: '127.0.0.1', port: 0 }, log });
    closers.push(() => seeds.stop());
    const { input, seed, data } = await buyerInput(512 * 1024);
    seeds.start('j-one', input);
    await waitUntil('the hub seeding', () => seeds.status('j-one')?.state === 'seeding');
    expect(seeds.status('j-one')).toEqual({ state: 'seeding', have: data.length, total: data.length });
    expect(seeds.used()).toBe(data.length);
    await seed.close(); // the buyer goes offline

    const endpoint = seeds.endpoint('j-one')!;
    expect(endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    const device = await openSwarm(Buffer.from(input.torrent, 'base64'), { dir: tmp(), peers: [...input.seeds, endpoint], seeds: input.seeds });
    closers.push(() => device.close());
    await device.complete;
    expect(device.have()).toBe(data.length);

    await seeds.release('j-one');
    expect(existsSync(join(dir, 'j-one'))).toBe(false);
    expect(seeds.status('j-one')).toBeUndefined();
    expect(seeds.used()).toBe(0);
  }, 60_000);

  it('refuses an input over what is left of its bound, and any when off, naming the config key', async () => {
    const seeds = new InputSeeds({ dir: tmp(), config: { enabled: true, maxBytes: 300 * 1024, host: '127.0.0.1', port: 0 }, log });
    closers.push(() => seeds.stop());
    const a = await buyerInput(200 * 1024);
    seeds.start('j-a', a.input);
    const b = await buyerInput(200 * 1024);
    expect(() => seeds.check(b.input)).toThrow(`input.hubSeed: the input is ${200 * 1024} bytes and the hub holds ${200 * 1024} of at most ${300 * 1024} bytes of job inputs (hub config jobs.inputSeed.maxBytes)`);
    const off = new InputSeeds({ dir: tmp(), config: { enabled: false, maxBytes: 1e9, host: '127.0.0.1', port: 0 }, log });
    expect(() => off.check(a.input)).toThrow(/this hub does not seed job inputs \(hub config jobs\.inputSeed\.enabled is false\)/);
  }, 60_000);
});
