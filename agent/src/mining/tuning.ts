// Rig tuning (issue 15 item 4): per-GPU power limit and clocks from the flight sheet, applied when mining
// starts and restored when it stops. NVIDIA through nvidia-smi (`-pl W`, `-lgc X,X` / `-rgc`, `-lmc X,X` /
// `-rmc`; the power limit goes back to the card's default), AMD through the amdgpu sysfs files under the
// card's device directory (`hwmon/hwmonN/power1_cap` in microwatts, put back to what it was;
// `pp_od_clk_voltage`: `s 1 MHz` / `m 1 MHz` then `c`, restored with `r` then `c`). The plan is pure;
// applying it runs each step, keeps the restore steps of those that worked, and reports every failure with
// the field, the value and the reason. Needs root on a real rig; tests pass a fake nvidia-smi and a
// temporary sysfs root.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MiningConfig } from '@sosna/protocol';
import type { ExecFn } from '../hardware/exec.js';
import type { RigGpu } from './flight-sheet.js';

export type TuneAction =
  | { kind: 'smi'; args: string[] }
  | { kind: 'sysfs'; path: string; data: string[] }
  /** AMD power cap: written in microwatts; the value before is read first so that it can be put back. */
  | { kind: 'amd-power'; device: string; microwatts: number };

export interface TuneStep {
  gpu: number;
  field: string;
  value: number;
  apply: TuneAction | null;
  /** Why the step cannot be done (unsupported vendor, ...); then `apply` is null. */
  refused?: string;
  restore: TuneAction | null;
  /** Why it cannot be restored (the card's default is unknown). */
  noRestore?: string;
}

export interface TuneResult {
  gpu: number;
  field: string;
  value: number;
  ok: boolean;
  /** What happened: the tool's words on failure. */
  detail: string;
}

/** Pure: the steps for the sheet's tuning (per GPU; the sheet-wide powerLimitW for GPUs with none of their own). */
export function tuningPlan(sheet: MiningConfig, gpus: RigGpu[], sysfsRoot = '/sys'): TuneStep[] {
  const steps: TuneStep[] = [];
  const own = new Map(sheet.tuning.map((t, n) => [t.gpu, { t, n }]));
  for (const i of sheet.gpus) {
    const g = gpus.find((x) => x.index === i);
    if (!g) continue;
    const entry = own.get(i);
    const v = String(g.vendorIndex ?? i);
    const vendor = g.vendor ?? 'nvidia';
    const device = join(sysfsRoot, 'class', 'drm', `card${v}`, 'device');
    const wants: { field: string; key: 'power' | 'core' | 'mem'; value: number }[] = [];
    const power = entry?.t.powerLimitW ?? sheet.powerLimitW;
    if (power !== undefined) wants.push({ field: entry?.t.powerLimitW !== undefined ? `mining.tuning.${entry.n}.powerLimitW` : 'mining.powerLimitW', key: 'power', value: power });
    if (entry?.t.coreClockMhz !== undefined) wants.push({ field: `mining.tuning.${entry.n}.coreClockMhz`, key: 'core', value: entry.t.coreClockMhz });
    if (entry?.t.memClockMhz !== undefined) wants.push({ field: `mining.tuning.${entry.n}.memClockMhz`, key: 'mem', value: entry.t.memClockMhz });
    for (const w of wants) {
      const base = { gpu: i, field: w.field, value: w.value };
      if (vendor === 'nvidia') {
        if (w.key === 'power') {
          const back = g.power?.defaultLimitW ?? g.power?.limitW;
          steps.push({ ...base, apply: { kind: 'smi', args: ['-i', v, '-pl', String(w.value)] }, restore: back !== undefined ? { kind: 'smi', args: ['-i', v, '-pl', String(back)] } : null, ...(back === undefined ? { noRestore: 'the card reports no default power limit' } : {}) });
        } else {
          const [set, reset] = w.key === 'core' ? ['-lgc', '-rgc'] : ['-lmc', '-rmc'];
          steps.push({ ...base, apply: { kind: 'smi', args: ['-i', v, set!, `${w.value},${w.value}`] }, restore: { kind: 'smi', args: ['-i', v, reset!] } });
        }
      } else if (vendor === 'amd') {
        if (w.key === 'power') steps.push({ ...base, apply: { kind: 'amd-power', device, microwatts: Math.round(w.value * 1_000_000) }, restore: null });
        else {
          const od = join(device, 'pp_od_clk_voltage');
          steps.push({ ...base, apply: { kind: 'sysfs', path: od, data: [`${w.key === 'core' ? 's' : 'm'} 1 ${w.value}`, 'c'] }, restore: { kind: 'sysfs', path: od, data: ['r', 'c'] } });
        }
      } else {
        steps.push({ ...base, apply: null, refused: `GPU ${i} is ${vendor}: tuning is done for NVIDIA (nvidia-smi) and AMD (sysfs) only`, restore: null });
      }
    }
  }
  return steps;
}

export interface TunerDeps {
  exec: ExecFn;
  nvidiaSmi: string;
}

async function amdHwmon(device: string): Promise<string> {
  const names = (await readdir(join(device, 'hwmon'))).filter((n) => /^hwmon\d+$/.test(n)).sort();
  if (!names.length) throw new Error(`no hwmon directory under ${join(device, 'hwmon')}`);
  return join(device, 'hwmon', names[0]!, 'power1_cap');
}

/** Applies the tuning steps and keeps what to undo; restore() undoes them, the last first. */
export class Tuner {
  private undo: { step: TuneStep; action: TuneAction }[] = [];

  constructor(private readonly d: TunerDeps) {}

  private async run(a: TuneAction): Promise<{ ok: boolean; detail: string; restore?: TuneAction }> {
    try {
      if (a.kind === 'smi') {
        const r = await this.d.exec(this.d.nvidiaSmi, a.args, { timeoutMs: 10_000 });
        const words = (r.stdout + r.stderr).trim().split('\n').slice(-2).join(' ').slice(0, 300);
        return { ok: r.status === 'ok', detail: words || r.message || r.status };
      }
      if (a.kind === 'sysfs') {
        for (const line of a.data) await writeFile(a.path, `${line}\n`);
        return { ok: true, detail: `${a.data.join('; ')} written to ${a.path}` };
      }
      const path = await amdHwmon(a.device);
      const before = (await readFile(path, 'utf8')).trim();
      await writeFile(path, `${a.microwatts}\n`);
      return { ok: true, detail: `${a.microwatts} µW written to ${path} (was ${before})`, restore: /^\d+$/.test(before) ? { kind: 'sysfs', path, data: [before] } : undefined };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  async apply(steps: TuneStep[]): Promise<TuneResult[]> {
    const out: TuneResult[] = [];
    for (const s of steps) {
      const base = { gpu: s.gpu, field: s.field, value: s.value };
      if (!s.apply) {
        out.push({ ...base, ok: false, detail: s.refused ?? 'not supported' });
        continue;
      }
      const r = await this.run(s.apply);
      out.push({ ...base, ok: r.ok, detail: r.ok && s.noRestore ? `${r.detail} (not restored at stop: ${s.noRestore})` : r.detail });
      const back = r.restore ?? s.restore;
      if (r.ok && back) this.undo.push({ step: s, action: back });
    }
    return out;
  }

  /** Puts back what apply() changed (the last change first); each failure reported like apply's. */
  async restore(): Promise<TuneResult[]> {
    const out: TuneResult[] = [];
    const todo = this.undo.reverse();
    this.undo = [];
    const done = new Set<string>();
    for (const { step, action } of todo) {
      const key = JSON.stringify(action);
      if (done.has(key)) continue; // `r` + `c` once per card
      done.add(key);
      const r = await this.run(action);
      out.push({ gpu: step.gpu, field: step.field, value: step.value, ok: r.ok, detail: r.detail });
    }
    return out;
  }
}
