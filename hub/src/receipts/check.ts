// Whether a receipt a device sent with its run report may be stored (pure): it parses, it is about this
// run on this device, its fields are what the hub recorded for the run, and it verifies with the
// device's registered key.
import { canonicalJson, describeIssues, runBilledSeconds, SignedReceipt, verifySignedReceipt } from '@sosna/protocol';

export interface RunFacts {
  id: string;
  jobId: string;
  deviceId: string;
  exitCode: number | null;
  digest: string | null;
  finishedAt: number | null;
  runtimeMs: number | null;
  timeoutSec: number;
  /** The job input's info hash (null: no input): the receipt must name it as btih:HASH. */
  inputInfoHash: string | null;
}

export type ReceiptVerdict = { ok: true; signed: SignedReceipt } | { ok: false; reason: string };

export function checkReceipt(value: unknown, run: RunFacts, registeredKey: string | null): ReceiptVerdict {
  const parsed = SignedReceipt.safeParse(value);
  if (!parsed.success) return { ok: false, reason: `malformed receipt: ${describeIssues(parsed.error, 'receipt')}` };
  const s = parsed.data;
  const r = s.receipt;
  if (!registeredKey) return { ok: false, reason: `device ${run.deviceId} has no registered key` };
  if (s.publicKey !== registeredKey) return { ok: false, reason: `signed with key ${s.publicKey}, not device ${run.deviceId}'s registered key ${registeredKey}` };
  if (!verifySignedReceipt(s)) return { ok: false, reason: `bad signature: does not verify with device ${run.deviceId}'s registered key` };
  const expected: Record<string, unknown> = {
    runId: run.id, jobId: run.jobId, deviceId: run.deviceId, exitCode: run.exitCode, outputDigest: run.digest,
    finishedAt: run.finishedAt, billedSeconds: runBilledSeconds(run.runtimeMs, run.timeoutSec),
    inputHash: run.inputInfoHash ? `btih:${run.inputInfoHash}` : null,
  };
  const wrong = Object.entries(expected).filter(([k, v]) => canonicalJson((r as Record<string, unknown>)[k]) !== canonicalJson(v));
  if (wrong.length) return { ok: false, reason: `receipt disagrees with the run's report: ${wrong.map(([k, v]) => `${k} ${canonicalJson((r as Record<string, unknown>)[k])} (reported ${canonicalJson(v)})`).join(', ')}` };
  return { ok: true, signed: s };
}
