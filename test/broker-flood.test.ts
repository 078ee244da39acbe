// The hub's memory under an unauthenticated flood: a real `sosna hub` process (its memory read from /proc), 50 raw
// sockets each pushing a 64 MiB packet, and a console call that must still answer. How long the console call
// takes under the flood, beside without it, is `npm run bench flood` (no time bound here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cli, CLI, freePort, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir } from './helpers.js';
import { flood, memoryMiB } from './mqtt-raw.js';

const RSS_BOUND_MIB = 300;
const SOCKETS = 50;
const CLAIM = 64 * 1024 * 1024;

const tmp = tempDir();
const hubDir = join(tmp.dir, 'hub');
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });
let hub: Proc;
let port: number;

beforeAll(async () => {
  requireBuild();
  port = await freePort();
  // room for all 50 from one address, so that each socket gets as far as its packet: the packet cap is what
  // bounds them here, not mqtt.maxPendingPerAddress (its default, 32, would refuse 18 of them at once)
  const config = writeJson(join(tmp.dir, 'hub.json'), { mqtt: { maxPendingPerAddress: 64 } });
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--no-chain', '--log-level', 'warn', '--config', config]);
  await hub.waitFor(/hub \S+ ready/);
});
afterAll(async () => {
  await hub?.stop();
  tmp.cleanup();
});

describe('an unauthenticated flood', () => {
  it(`keeps the hub under ${RSS_BOUND_MIB} MiB while ${SOCKETS} sockets each send a 64 MiB packet, and a console call still answers`, async () => {
    const pid = hub.child.pid!;
    const before = await cli(['console', 'devices', '--json'], { env: profile() });
    expect(before.code, before.output).toBe(0);

    // watch the hub's memory; past the bound the flood stops (a hub that buffers it would take 3.2 GiB)
    const stop = new AbortController();
    const watch = setInterval(() => {
      if (memoryMiB(pid).rss > RSS_BOUND_MIB) stop.abort();
    }, 20);
    try {
      const attack = flood(port, { sockets: SOCKETS, claimBytes: CLAIM, signal: stop.signal });
      const during = await cli(['console', 'devices', '--json'], { env: profile(), timeoutMs: 60_000 });
      const results = await attack;
      const after = await cli(['console', 'devices', '--json'], { env: profile(), timeoutMs: 60_000 });
      const mem = memoryMiB(pid);
      console.log(`hub memory: ${mem.rss.toFixed(0)} MiB now, ${mem.peak.toFixed(0)} MiB peak; bytes the ${SOCKETS} sockets got into the kernel: max ${Math.max(...results.map((r) => r.sent))}`);
      expect(mem.peak).toBeLessThan(RSS_BOUND_MIB);
      expect(stop.signal.aborted).toBe(false);
      expect(results.every((r) => r.closedEarly)).toBe(true);
      expect(during.code, during.output).toBe(0);
      expect(JSON.parse(during.stdout)).toEqual([]);
      expect(after.code, after.output).toBe(0);
    } finally {
      clearInterval(watch);
      stop.abort();
    }
  }, 180_000);
});
