// Rig mode: which GPUs the runs hold, from the job manager's run updates. A run holds GPUs while it is
// assigned, pulling or running: the ones the rig placed it on (ProfitSwitch.place, read back through
// gpusOf), else the engine's first N NVIDIA cards (by the driver's index); the miner gives those up
// (MiningRig.setJobGpus, through onChange) and takes them back when the run ends. Also what the running
// runs pay per second (compute's side of the rig ledger). Shared by the agent (app.ts) and the bench.
import type { RigGpu } from './flight-sheet.js';

interface RunLike { id: string; spec: { bid: bigint; resources: { gpus?: { count: number; vendor?: string } } } }

export interface RunGpusDeps {
  gpus: RigGpu[];
  /** Where the job manager placed a run (its record), when the rig chose. */
  gpusOf(id: string): number[] | undefined;
  /** The GPUs all runs hold now changed (sorted inventory indices). */
  onChange(jobGpus: number[]): void;
}

export class RunGpus {
  private readonly held = new Map<string, number[]>();
  private readonly bids = new Map<string, bigint>();
  constructor(private readonly d: RunGpusDeps) {}

  private firstN(n: number): number[] {
    return this.d.gpus.filter((g) => (g as { vendor?: string }).vendor === 'nvidia' && (g.vendorIndex ?? g.index) < n).map((g) => g.index);
  }

  /** The GPUs runs hold, sorted. */
  jobGpus(): number[] {
    return [...new Set([...this.held.values()].flat())].sort((a, b) => a - b);
  }

  /** What the running runs pay per second, together. */
  computePerSec(): bigint {
    return [...this.bids.values()].reduce((a, b) => a + b, 0n);
  }

  /** A run's state changed (JobEvents.update). */
  update(job: RunLike, report: { state: string }): void {
    if (report.state === 'running') this.bids.set(job.id, job.spec.bid);
    else this.bids.delete(job.id);
    const g = job.spec.resources.gpus;
    const n = g && (g.vendor ?? 'nvidia') === 'nvidia' && ['assigned', 'pulling', 'running'].includes(report.state) ? g.count : 0;
    const want = n ? (this.d.gpusOf(job.id) ?? this.firstN(n)) : [];
    const had = this.held.get(job.id) ?? [];
    if (had.length === want.length && had.every((x, i) => x === want[i])) return;
    if (want.length) this.held.set(job.id, want);
    else this.held.delete(job.id);
    this.d.onChange(this.jobGpus());
  }
}
