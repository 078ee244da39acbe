// The checks of a flight sheet that need the device itself: the miner program is there and executable,
// every GPU it names was detected (and is not faulty), a power limit is inside each card's range; and the
// argv with its placeholders filled in. The shape (algorithm names, pool form, ...) is the zod schema's
// job (protocol/src/mining.ts). Errors name the field, the value and why.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { MiningConfig } from '@sosna/protocol';

/** What the agent knows of one detected GPU (a subset of the hardware inventory's entry). */
export interface RigGpu {
  index: number;
  vendorIndex?: number;
  vendor?: string;
  name?: string;
  state?: string;
  reason?: string;
  power?: { limitW?: number; defaultLimitW?: number; maxLimitW?: number; minLimitW?: number };
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Where `command` runs from: a path (relative to `cwd`) or the first executable of that name on PATH; null when none. */
export function resolveCommand(command: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | null {
  if (command.includes('/')) {
    const p = isAbsolute(command) ? command : resolve(cwd, command);
    return executable(p) ? p : null;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, command);
    if (executable(p)) return p;
  }
  return null;
}

export interface SheetCheck {
  errors: string[];
  /** The command's resolved path, when found. */
  command: string | null;
}

/** Checks a parsed flight sheet against this device. `gpus`: the detected GPUs (inventory indices). */
export function checkFlightSheet(sheet: MiningConfig, gpus: RigGpu[], env: NodeJS.ProcessEnv = process.env): SheetCheck {
  const errors: string[] = [];
  const field = (f: string) => `mining.${f}`;
  const cmd = sheet.miner.command[0]!;
  const command = resolveCommand(cmd, env);
  if (!command) {
    errors.push(
      cmd.includes('/')
        ? `${field('miner.command.0')}: ${JSON.stringify(cmd)} is not an executable file (give the path of the miner program the owner installed; sosna ships none)`
        : `${field('miner.command.0')}: ${JSON.stringify(cmd)} is not found on PATH (${env.PATH ?? ''}); give the miner program's full path`,
    );
  }
  const known = gpus.map((g) => g.index);
  sheet.gpus.forEach((i, n) => {
    const gpu = gpus.find((g) => g.index === i);
    if (!gpu) {
      errors.push(`${field(`gpus.${n}`)}: GPU ${i} does not exist on this device (detected: ${known.length ? known.join(', ') : 'no GPUs'})`);
      return;
    }
    if (gpu.state === 'error') errors.push(`${field(`gpus.${n}`)}: GPU ${i} (${gpu.name ?? 'unknown'}) reports an error${gpu.reason ? `: ${gpu.reason}` : ''}; it is left out of mining`);
    const tn = sheet.tuning.findIndex((t) => t.gpu === i);
    const own = tn >= 0 ? sheet.tuning[tn]!.powerLimitW : undefined;
    const watts = own ?? sheet.powerLimitW;
    const f = own !== undefined ? field(`tuning.${tn}.powerLimitW`) : field('powerLimitW');
    if (watts !== undefined) {
      const max = gpu.power?.maxLimitW;
      const min = gpu.power?.minLimitW;
      if (max === undefined) errors.push(`${f}: GPU ${i} (${gpu.name ?? 'unknown'}) reports no power limit range, so ${watts} W cannot be checked; leave it out for this rig`);
      else if (watts > max || (min !== undefined && watts < min)) {
        errors.push(`${f}: ${watts} W is outside GPU ${i}'s range (${gpu.name ?? 'unknown'}: ${min !== undefined ? `${min}-` : 'at most '}${max} W)`);
      }
    }
  });
  return { errors, command };
}

/** The argv with its placeholders filled in; `{gpus}` gets the vendor tool's indices (what the miner counts by). */
export function minerArgv(sheet: MiningConfig, command: string, gpus: number[], allGpus: RigGpu[], worker: string): string[] {
  const vendor = gpus.map((i) => allGpus.find((g) => g.index === i)?.vendorIndex ?? i);
  const values: Record<string, string> = {
    '{pool}': sheet.pool, '{wallet}': sheet.wallet, '{worker}': sheet.worker ?? worker, '{algorithm}': sheet.algorithm,
    '{apiHost}': sheet.miner.api.host, '{apiPort}': String(sheet.miner.api.port), '{gpus}': vendor.join(','), '{threads}': String(sheet.cpuThreads),
  };
  const fill = (a: string) => a.replace(/\{(pool|wallet|worker|algorithm|apiHost|apiPort|gpus|threads)\}/g, (m) => values[m] ?? m);
  return [command, ...sheet.miner.command.slice(1).map(fill)];
}
