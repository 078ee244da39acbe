// npm run bench trust: the trust simulation (trust-sim.ts) for each population of cheaters, over the hub's
// real scheduler and verdict code: the fraction of accepted results that are wrong and the compute
// overhead (runs per accepted result), with the adaptive policy (also with every owner staked), and two
// baselines (no checks, fixed 2 replicas). Each row sums three seeds (the wrong results come in rare
// bursts: one seed alone says little); "worst seed" is the highest wrong fraction of the three.
import { runTrustSim } from './trust-sim.js';
import type { Cheat, SimResult } from './trust-sim.js';
import { DEFAULT_TRUST_POLICY } from '../../hub/src/jobs/trust.js';

const JOBS = Number(process.env.BENCH_TRUST_JOBS ?? 10_000);
const DEVICES = Number(process.env.BENCH_TRUST_DEVICES ?? 40);
const SEEDS = [1, 2, 3];
const KINDS: Cheat[] = ['honest', 'always-wrong', 'wrong-10%', 'lazy', 'colluding', 'colluding-always'];

const pct = (x: number) => `${(x * 100).toFixed(3)}%`;

export interface TrustRow {
  cheat: Cheat;
  policy: string;
  accepted: number;
  wrongAccepted: number;
  wrongRate: number;
  worstSeedRate: number;
  overhead: number;
  ringerRuns: number;
  failedJobs: number;
}

export async function benchTrust(): Promise<TrustRow[]> {
  console.log(`== trust: ${DEVICES} devices of distinct owners (10% cheat), ${JOBS} buyer jobs x ${SEEDS.length} seeds per row, the hub's scheduler in process`);
  const out: TrustRow[] = [];
  const rows: string[][] = [['population', 'policy', 'accepted', 'wrong accepted', 'wrong %', 'worst seed', 'runs / accepted', 'ringer runs', 'failed jobs']];
  const runs: { cheat: Cheat; mode: 'adaptive' | 'none' | 'fixed'; staked?: boolean }[] = [
    ...KINDS.map((cheat) => ({ cheat, mode: 'adaptive' as const })),
    // every owner stakes 3x the minimum (the most boost): less replication, and cheaters pay for it
    { cheat: 'honest', mode: 'adaptive', staked: true },
    { cheat: 'wrong-10%', mode: 'adaptive', staked: true },
    { cheat: 'lazy', mode: 'adaptive', staked: true },
    ...(['wrong-10%', 'colluding-always'] as Cheat[]).flatMap((cheat) => [{ cheat, mode: 'none' as const }, { cheat, mode: 'fixed' as const }]),
  ];
  for (const { cheat, mode, staked } of runs) {
    const results: SimResult[] = [];
    for (const seed of SEEDS) {
      results.push(await runTrustSim({ cheat, mode, jobs: JOBS, devices: DEVICES, seed, ...(staked ? { stake: () => DEFAULT_TRUST_POLICY.minStake * 3n } : {}) }));
    }
    const sum = (f: (r: SimResult) => number) => results.reduce((a, r) => a + f(r), 0);
    const policy = mode === 'fixed' ? 'fixed 2 replicas' : mode === 'none' ? 'none' : staked ? 'adaptive, all staked 3x min' : 'adaptive';
    const row: TrustRow = {
      cheat, policy, accepted: sum((r) => r.accepted), wrongAccepted: sum((r) => r.wrongAccepted), wrongRate: sum((r) => r.wrongAccepted) / Math.max(1, sum((r) => r.accepted)),
      worstSeedRate: Math.max(...results.map((r) => r.wrongRate)), overhead: sum((r) => r.runs) / Math.max(1, sum((r) => r.accepted)),
      ringerRuns: sum((r) => r.ringerRuns), failedJobs: sum((r) => r.failedJobs),
    };
    out.push(row);
    rows.push([cheat, policy, String(row.accepted), String(row.wrongAccepted), pct(row.wrongRate), pct(row.worstSeedRate), `${row.overhead.toFixed(3)}x`, String(row.ringerRuns), String(row.failedJobs)]);
    console.log(`  ${cheat} / ${policy}: done`);
  }
  // newcomers: four fresh devices, one job at a time (the chaos run's starvation: one device of four got
  // 0-1 of 75 runs while two took 89-96%)
  for (const mode of ['none', 'adaptive'] as const) {
    const r = await runTrustSim({ cheat: 'honest', mode, devices: 4, jobs: 75, wave: 1, seed: 1 });
    console.log(`newcomers, 4 fresh devices, 75 jobs one at a time, ${mode === 'none' ? 'without the trust policy' : 'adaptive'}: runs per device ${JSON.stringify(r.runsPerDevice)}`);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(`| ${r.map((v, c) => v.padEnd(widths[c]!)).join(' | ')} |`);
  return out;
}
