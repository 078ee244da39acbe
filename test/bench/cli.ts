// npm run bench (cli part): how long one `sosna` call takes from process start to exit, beside bare node
// measured in the same run (interleaved, so a busy machine slows all alike): `node -e 0`, `sosna --help`
// and `sosna console devices` against a hub this bench starts (no devices). Medians; never fails on time.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, freePort, ROOT, start } from '../procs.js';
import { tempDir } from '../helpers.js';

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 9);
const BIN = join(ROOT, 'cli', 'bin', 'sosna.js'); // what npx sosna runs

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timeOnce(args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

export async function benchCli(): Promise<Record<string, unknown>> {
  const tmp = tempDir('sosna-bench-cli-');
  const hubDir = join(tmp.dir, 'hub');
  const port = await freePort();
  const hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--log-level', 'warn']);
  try {
    await hub.waitFor(/hub \S+ ready/);
    const cases: [string, string[]][] = [
      ['node -e 0', ['-e', '0']],
      ['sosna --help', [BIN, '--help']],
      ['sosna console devices', [BIN, 'console', 'devices', '--profile', join(hubDir, 'console.json')]],
    ];
    console.log(`== cli: start-to-exit time of one call, median of ${RUNS} interleaved runs (a hub process with no devices)`);
    const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    for (const [, args] of cases) timeOnce(args); // warm the file cache
    for (let i = 0; i < RUNS; i++) for (const [name, args] of cases) times.get(name)!.push(timeOnce(args));
    const base = median(times.get('node -e 0')!);
    const out: Record<string, unknown> = { runs: RUNS };
    for (const [name] of cases) {
      const m = median(times.get(name)!);
      out[name] = { medianMs: Math.round(m), overNodeMs: Math.round(m - base) };
      console.log(`  ${name.padEnd(24)} ${(m / 1000).toFixed(2)} s${name === 'node -e 0' ? '' : `  (+${((m - base) / 1000).toFixed(2)} s over node -e 0; target within 0.3 s)`}`);
    }
    return out;
  } finally {
    await hub.stop();
    tmp.cleanup();
  }
}
