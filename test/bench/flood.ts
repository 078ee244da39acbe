// npm run bench (flood part): a `sosna console devices` call against a hub process, with and without an
// unauthenticated flood running at the same time (50 raw sockets, each pushing a CONNECT that claims 64 MiB,
// fresh for every call), and the hub's resident memory (VmRSS before, VmHWM peak). Medians of interleaved runs,
// so a busy machine slows both alike; the with/without ratio is the figure. Never fails on time.
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, freePort, ROOT, start, writeJson } from '../procs.js';
import { tempDir } from '../helpers.js';
import { flood, memoryMiB } from '../mqtt-raw.js';

const RUNS = Number(process.env.BENCH_FLOOD_RUNS ?? 5);
const SOCKETS = 50;
const CLAIM = 64 * 1024 * 1024;
const BIN = join(ROOT, 'cli', 'bin', 'sosna.js');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One console call in a child process (async: the flood runs in this process meanwhile), in ms. */
function consoleCall(profile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    // execFile, not spawnSync: the flood runs on this process' event loop meanwhile
    execFile(process.execPath, [BIN, 'console', 'devices', '--json', '--profile', profile], { cwd: ROOT, timeout: 120_000 }, (err, _out, stderr) => {
      if (err) return reject(new Error(`sosna console devices failed: ${stderr}`));
      resolve(Number(process.hrtime.bigint() - t) / 1e6);
    });
  });
}

export async function benchFlood(): Promise<Record<string, unknown>> {
  const tmp = tempDir('sosna-bench-flood-');
  const hubDir = join(tmp.dir, 'hub');
  const profile = join(hubDir, 'console.json');
  const port = await freePort();
  // every socket admitted (the default admits 32 unauthenticated ones per address): the packet cap is measured
  const config = writeJson(join(tmp.dir, 'hub.json'), { mqtt: { maxPendingPerAddress: 64 } });
  const hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--no-chain', '--log-level', 'error', '--config', config]);
  try {
    await hub.waitFor(/hub \S+ ready/);
    const pid = hub.child.pid!;
    spawnSync(process.execPath, [BIN, '--help'], { stdio: 'ignore' }); // warm the file cache
    await consoleCall(profile);
    const rssBefore = memoryMiB(pid).rss;
    console.log(`== flood: sosna console devices with and without ${SOCKETS} unauthenticated sockets each pushing a ${CLAIM / 1024 / 1024} MiB packet, median of ${RUNS} interleaved runs`);
    const quiet: number[] = [];
    const loud: number[] = [];
    let closedEarly = 0;
    let attempts = 0;
    for (let i = 0; i < RUNS; i++) {
      quiet.push(await consoleCall(profile));
      const attack = flood(port, { sockets: SOCKETS, claimBytes: CLAIM });
      loud.push(await consoleCall(profile));
      const results = await attack;
      attempts += results.length;
      closedEarly += results.filter((r) => r.closedEarly).length;
    }
    const mem = memoryMiB(pid);
    const q = median(quiet);
    const l = median(loud);
    const out = {
      runs: RUNS, sockets: SOCKETS, claimMiB: CLAIM / 1024 / 1024,
      consoleCallMs: { withoutFlood: Math.round(q), underFlood: Math.round(l), ratio: Number((l / q).toFixed(2)) },
      hubMemoryMiB: { before: Math.round(rssBefore), peak: Math.round(mem.peak), after: Math.round(mem.rss) },
      socketsClosedByHubBeforeTheirPacketWasSent: `${closedEarly}/${attempts}`,
    };
    console.log(`  console call without flood   ${(q / 1000).toFixed(2)} s`);
    console.log(`  console call under flood     ${(l / 1000).toFixed(2)} s  (x${out.consoleCallMs.ratio}; target within x2)`);
    console.log(`  hub memory                   ${out.hubMemoryMiB.before} MiB before, ${out.hubMemoryMiB.peak} MiB peak (VmHWM; target under 300), ${out.hubMemoryMiB.after} MiB after`);
    console.log(`  flood sockets closed early   ${out.socketsClosedByHubBeforeTheirPacketWasSent}`);
    return out;
  } finally {
    await hub.stop();
    tmp.cleanup();
  }
}
