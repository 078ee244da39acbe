// npm run bench trust: the trust simulation (trust-sim.ts) for each population of cheaters, over the hub's
// real scheduler and verdict code: the fraction of accepted results that are wrong and the compute
// overhead (runs per accepted result), with the adaptive policy, and two baselines (no checks, fixed 2x).
import { runTrustSim } from './trust-sim.js';
import type { Cheat, SimResult } from './trust-sim.js';

const JOBS = Number(process.env.BENCH_TRUST_JOBS ?? 10_000);
const DEVICES = Number(process.env.BENCH_TRUST_DEVICES ?? 40);
const KINDS: Cheat[] = ['honest', 'always-wrong', 'wrong-10%', 'lazy', 'colluding', 'colluding-always'];

const pct = (x: number) => `${(x * 100).toFixed(3)}%`;

export async function benchTrust(): Promise<SimResult[]> {
  console.log(`== trust: ${DEVICES} devices of distinct owners (10% cheat), ${JOBS} buyer jobs, the hub's scheduler in process`);
  const out: SimResult[] = [];
  const rows: string[][] = [['population', 'policy', 'accepted', 'wrong accepted', 'wrong %', 'runs / accepted', 'ringer runs', 'failed jobs']];
  for (const mode of ['adaptive', 'none', 'fixed'] as const) {
    for (const cheat of mode === 'adaptive' ? KINDS : (['wrong-10%', 'colluding-always'] as Cheat[])) {
      const r = await runTrustSim({ cheat, mode, jobs: JOBS, devices: DEVICES, seed: 1 });
      out.push(r);
      rows.push([cheat, mode === 'fixed' ? 'fixed 2 replicas' : mode, String(r.accepted), String(r.wrongAccepted), pct(r.wrongRate), `${r.overhead.toFixed(3)}x`, String(r.ringerRuns), String(r.failedJobs)]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(`| ${r.map((v, c) => v.padEnd(widths[c]!)).join(' | ')} |`);
  return out;
}
