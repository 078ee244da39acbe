// npm run bench trust: the trust simulation (trust-sim.ts) for each population of cheaters, over the hub's
// real scheduler and verdict code: the fraction of accepted results that are wrong and the compute
// overhead (runs per accepted result), with the adaptive policy (also with every owner staked), and two baselines (no checks, fixed 2x).
import { runTrustSim } from './trust-sim.js';
import type { Cheat, SimResult } from './trust-sim.js';
import { DEFAULT_TRUST_POLICY } from '../../hub/src/jobs/trust.js';

const JOBS = Number(process.env.BENCH_TRUST_JOBS ?? 10_000);
const DEVICES = Number(process.env.BENCH_TRUST_DEVICES ?? 40);
const KINDS: Cheat[] = ['honest', 'always-wrong', 'wrong-10%', 'lazy', 'colluding', 'colluding-always'];

const pct = (x: number) => `${(x * 100).toFixed(3)}%`;

export async function benchTrust(): Promise<SimResult[]> {
  console.log(`== trust: ${DEVICES} devices of distinct owners (10% cheat), ${JOBS} buyer jobs, the hub's scheduler in process`);
  const out: SimResult[] = [];
  const rows: string[][] = [['population', 'policy', 'accepted', 'wrong accepted', 'wrong %', 'runs / accepted', 'ringer runs', 'failed jobs']];
  const runs: { cheat: Cheat; mode: 'adaptive' | 'none' | 'fixed'; staked?: boolean }[] = [
    ...KINDS.map((cheat) => ({ cheat, mode: 'adaptive' as const })),
    // every owner stakes 3x the minimum (the most boost): less replication, and cheaters pay for it
    { cheat: 'honest', mode: 'adaptive', staked: true },
    { cheat: 'wrong-10%', mode: 'adaptive', staked: true },
    { cheat: 'lazy', mode: 'adaptive', staked: true },
    ...(['wrong-10%', 'colluding-always'] as Cheat[]).flatMap((cheat) => [{ cheat, mode: 'none' as const }, { cheat, mode: 'fixed' as const }]),
  ];
  for (const { cheat, mode, staked } of runs) {
    const r = await runTrustSim({ cheat, mode, jobs: JOBS, devices: DEVICES, seed: 1, ...(staked ? { stake: () => DEFAULT_TRUST_POLICY.minStake * 3n } : {}) });
    out.push(r);
    const policy = mode === 'fixed' ? 'fixed 2 replicas' : mode === 'none' ? 'none' : staked ? 'adaptive, all staked 3x min' : 'adaptive';
    rows.push([cheat, policy, String(r.accepted), String(r.wrongAccepted), pct(r.wrongRate), `${r.overhead.toFixed(3)}x`, String(r.ringerRuns), String(r.failedJobs)]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(`| ${r.map((v, c) => v.padEnd(widths[c]!)).join(' | ')} |`);
  return out;
}
