// Runner for NVIDIA GPUs: nvidia-smi with a hard time-out. Not installed means no NVIDIA driver, so no
// NVIDIA GPUs from here (the PCI scan still lists cards that have no driver).
import type { ExecFn, ExecResult } from './exec.js';
import {
  NVIDIA_QUERY_FIELDS,
  parseInvalidField,
  parseNvidiaSmiBanner,
  parseNvidiaSmiCsv,
  type GpuCandidate,
} from './nvidia-parser.js';
import { warn, type Warning } from './types.js';

export interface NvidiaDetectOptions {
  exec: ExecFn;
  /** Path or name of nvidia-smi. */
  command: string;
  timeoutMs: number;
  fields?: readonly string[];
}

export interface NvidiaDetection {
  gpus: GpuCandidate[];
  /** nvidia-smi ran (so the NVIDIA driver is present, even if it failed). */
  toolPresent: boolean;
  warnings: Warning[];
}

const SOURCE = 'nvidia-smi';
const MAX_FIELD_RETRIES = 4;

export async function detectNvidia(opts: NvidiaDetectOptions): Promise<NvidiaDetection> {
  const warnings: Warning[] = [];
  const started = Date.now();
  const remaining = (): number => Math.max(1, opts.timeoutMs - (Date.now() - started));
  let fields = [...(opts.fields ?? NVIDIA_QUERY_FIELDS)];

  const banner = opts.exec(opts.command, [], { timeoutMs: opts.timeoutMs });
  let res: ExecResult | undefined;
  for (let attempt = 0; attempt <= MAX_FIELD_RETRIES; attempt++) {
    res = await opts.exec(opts.command, [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'], {
      timeoutMs: remaining(),
    });
    if (res.status === 'missing' || res.status === 'timeout' || res.status === 'error') break;
    const invalid = parseInvalidField(`${res.stdout}\n${res.stderr}`);
    if (invalid === undefined || !fields.includes(invalid)) break;
    // Newer drivers renamed throttle reasons to event reasons; older ones lack some fields entirely.
    const renamed = invalid.replace(/^clocks_throttle_reasons\./u, 'clocks_event_reasons.');
    fields = fields.map((f) => (f === invalid && renamed !== invalid ? renamed : f)).filter((f) => f !== invalid);
  }
  if (!res || res.status === 'missing') {
    void banner.catch(() => undefined);
    return { gpus: [], toolPresent: false, warnings };
  }
  if (res.status === 'timeout') {
    warnings.push(warn(SOURCE, `no answer within ${opts.timeoutMs} ms; killed (a GPU may be hanging the driver)`));
    return { gpus: [], toolPresent: true, warnings };
  }
  if (res.status === 'error') {
    warnings.push(warn(SOURCE, `could not run: ${res.message ?? 'unknown error'}`));
    return { gpus: [], toolPresent: true, warnings };
  }

  const parsed = parseNvidiaSmiCsv(`${res.stdout}\n${res.stderr}`, fields);
  if (parsed.driverFailure) warnings.push(warn(SOURCE, parsed.driverFailure));
  for (const p of parsed.problems.slice(0, 5)) warnings.push(warn(SOURCE, p));
  if (res.status === 'exit' && parsed.gpus.length === 0 && !parsed.driverFailure && parsed.problems.length === 0) {
    const msg = (res.stderr || res.stdout).trim();
    if (msg && !/No devices were found/iu.test(msg)) warnings.push(warn(SOURCE, `exit code ${res.exitCode}: ${msg}`));
  }
  for (const gpu of parsed.gpus) {
    if (gpu.state === 'error') warnings.push(warn(SOURCE, `GPU ${gpu.pciBusId}: ${gpu.reason ?? 'error'}`));
  }

  const bannerRes = await banner;
  if (bannerRes.status === 'ok' || bannerRes.status === 'exit') {
    const { cudaVersion } = parseNvidiaSmiBanner(bannerRes.stdout);
    if (cudaVersion) {
      for (const gpu of parsed.gpus) if (gpu.state === 'ok') gpu.cuda = { ...gpu.cuda, version: cudaVersion };
    }
  }
  return { gpus: parsed.gpus, toolPresent: true, warnings };
}
