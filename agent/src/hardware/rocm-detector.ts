// Optional runner for rocm-smi: only adds marketing names to AMD cards found in sysfs.
import type { ExecFn } from './exec.js';
import { parseRocmSmiJson, type RocmCard } from './rocm-parser.js';
import { warn, type Warning } from './types.js';

export async function detectRocm(opts: { exec: ExecFn; command: string; timeoutMs: number }): Promise<{ cards: RocmCard[]; warnings: Warning[] }> {
  const res = await opts.exec(opts.command, ['--showproductname', '--showbus', '--json'], { timeoutMs: opts.timeoutMs });
  if (res.status === 'missing') return { cards: [], warnings: [] };
  if (res.status === 'timeout') return { cards: [], warnings: [warn('rocm-smi', `no answer within ${opts.timeoutMs} ms; killed`)] };
  if (res.status === 'error') return { cards: [], warnings: [warn('rocm-smi', res.message ?? 'could not run')] };
  const parsed = parseRocmSmiJson(res.stdout);
  return { cards: parsed.cards, warnings: parsed.error ? [warn('rocm-smi', parsed.error)] : [] };
}
