// Benchmark results are cached in the state directory under a fingerprint of the hardware that matters
// for them; a changed fingerprint (new CPU, more memory, another disk, a GPU added) runs them again.
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const BenchmarkCache = z.object({
  fingerprint: z.string(),
  at: z.number(),
  results: z.record(z.string(), z.number()),
});
export type BenchmarkCache = z.infer<typeof BenchmarkCache>;
export const BENCHMARK_FILE = 'benchmarks.json';

/** Pure: the parts of an inventory whose change invalidates the benchmarks. */
export function hardwareFingerprint(inventory: Record<string, unknown>): string {
  const inv = inventory as {
    cpu?: { model?: string; threads?: number };
    memory?: { totalBytes?: number };
    disks?: { name?: string; sizeBytes?: number; type?: string }[];
    gpus?: { name?: string; uuid?: string; vramBytes?: number }[];
  };
  const key = {
    cpu: [inv.cpu?.model ?? '', inv.cpu?.threads ?? 0],
    // memory moves a little with kernel reservations: round to 256 MiB
    mem: Math.round((inv.memory?.totalBytes ?? 0) / 2 ** 28),
    disks: (inv.disks ?? []).map((d) => [d.name ?? '', d.type ?? '', d.sizeBytes ?? 0]).sort(),
    gpus: (inv.gpus ?? []).map((g) => [g.name ?? '', g.vramBytes ?? 0]).sort(),
  };
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
}

/** Pure: cached results when they belong to this hardware, else null (run again). */
export function cachedResults(cache: BenchmarkCache | undefined, fingerprint: string): Record<string, number> | null {
  return cache && cache.fingerprint === fingerprint ? cache.results : null;
}
