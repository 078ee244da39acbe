// detectHardware: runs every detector concurrently, each under its own time-out, and assembles one
// inventory. It never throws: a detector that fails or hangs becomes a warning and its part is empty.
import { join } from 'node:path';
import { HARDWARE_INVENTORY_SCHEMA_VERSION, HardwareInventory, type HardwareWarning } from '@sosna/protocol/hardware';
import { detectAsics, type CgminerQuery } from './asic-detector.js';
import { detectBoard } from './board-detector.js';
import { errorMessage, withDeadline } from './deadline.js';
import { detectDrmGpus } from './drm-detector.js';
import { runCommand, type ExecFn } from './exec.js';
import { mergeGpus } from './gpu-merge.js';
import { detectNvidia } from './nvidia-detector.js';
import { detectPciDisplays } from './pci-detector.js';
import { detectRocm } from './rocm-detector.js';
import { detectSystem, systeminformationSource, type SystemDetection, type SystemInfoSource } from './system-detector.js';
import { normalizeArch } from './system-mapper.js';
import { warn, type Warning } from './types.js';

export type DetectorName = 'system' | 'gpu' | 'asic' | 'board';

export interface DetectTimeouts {
  /** Each systeminformation call. */
  systemMs: number;
  /** nvidia-smi (killed after this). */
  nvidiaMs: number;
  /** rocm-smi (killed after this). */
  rocmMs: number;
  /** Each sysfs/procfs file read. */
  fileReadMs: number;
  /** Everything asked of one ASIC host. */
  asicPerHostMs: number;
}

export const DEFAULT_TIMEOUTS: Readonly<DetectTimeouts> = {
  systemMs: 3000,
  nvidiaMs: 6000,
  rocmMs: 4000,
  fileReadMs: 1000,
  asicPerHostMs: 2500,
};

export interface DetectOptions {
  /** Filesystem root; `/etc/nv_tegra_release` is read below it. Default `/`. */
  fsRoot?: string;
  /** Default `<fsRoot>/sys`. */
  sysfsRoot?: string;
  /** Default `<fsRoot>/proc`. */
  procRoot?: string;
  /** Node-style (`x64`, `arm64`, `arm`) or ours (`x86_64`...). Default process.arch. */
  arch?: string;
  /** ASIC miners on the LAN: `host` or `host:port` (port 4028 when left out). */
  asicHosts?: readonly string[];
  /** Probe 127.0.0.1:4028 too. Default true. */
  probeLocalAsic?: boolean;
  timeouts?: Partial<DetectTimeouts>;
  commands?: { nvidiaSmi?: string; rocmSmi?: string };
  /** Which detectors run. Default all. */
  only?: readonly DetectorName[];
  /** Injection points for tests. */
  exec?: ExecFn;
  systemInfo?: SystemInfoSource;
  cgminerQuery?: CgminerQuery;
  now?: () => number;
}

export interface DetectResult {
  inventory: HardwareInventory;
  warnings: HardwareWarning[];
  durationMs: number;
}

const MAX_WARNINGS = 200;

export async function detectHardware(opts: DetectOptions = {}): Promise<DetectResult> {
  const started = Date.now();
  try {
    return await detect(opts ?? {}, started);
  } catch (e) {
    // Unreachable by design (every detector is guarded); kept so that a bug here cannot stop the agent.
    const warnings = [warn('detect', `detection failed: ${errorMessage(e)}`)];
    const inventory: HardwareInventory = {
      schemaVersion: HARDWARE_INVENTORY_SCHEMA_VERSION,
      detectedAt: Date.now(),
      disks: [],
      network: [],
      gpus: [],
      asics: [],
      warnings,
    };
    return { inventory, warnings, durationMs: Date.now() - started };
  }
}

async function detect(opts: DetectOptions, started: number): Promise<DetectResult> {
  const now = opts.now ?? Date.now;
  const warnings: Warning[] = [];
  const t: DetectTimeouts = { ...DEFAULT_TIMEOUTS, ...(opts.timeouts ?? {}) };
  const fsRoot = opts.fsRoot ?? '/';
  const sysfsRoot = opts.sysfsRoot ?? join(fsRoot, 'sys');
  const procRoot = opts.procRoot ?? join(fsRoot, 'proc');
  const arch = normalizeArch(opts.arch ?? process.arch);
  const exec = opts.exec ?? runCommand;
  const enabled = (d: DetectorName): boolean => opts.only === undefined || opts.only.includes(d);

  /** Runs one detector under an outer deadline (a safety net over the detector's own time-outs). */
  const guard = async <T>(name: string, timeoutMs: number, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await withDeadline(Promise.resolve().then(fn), timeoutMs, name);
    } catch (e) {
      warnings.push(warn(name, errorMessage(e)));
      return undefined;
    }
  };
  const slack = 500;

  const [system, nvidia, drm, pci, rocm, asics, board] = await Promise.all([
    enabled('system')
      ? guard('system', t.systemMs + slack, () =>
          detectSystem({ source: opts.systemInfo ?? systeminformationSource(sysfsRoot, t.fileReadMs), procRoot, sysfsRoot, arch, timeoutMs: t.systemMs }),
        )
      : undefined,
    enabled('gpu')
      ? guard('nvidia-smi', t.nvidiaMs + slack, () => detectNvidia({ exec, command: opts.commands?.nvidiaSmi ?? 'nvidia-smi', timeoutMs: t.nvidiaMs }))
      : undefined,
    enabled('gpu') ? guard('sysfs:drm', t.fileReadMs * 3 + slack, () => detectDrmGpus({ sysfsRoot, readTimeoutMs: t.fileReadMs })) : undefined,
    enabled('gpu') ? guard('sysfs:pci', t.fileReadMs * 3 + slack, () => detectPciDisplays({ sysfsRoot, readTimeoutMs: t.fileReadMs })) : undefined,
    enabled('gpu') ? guard('rocm-smi', t.rocmMs + slack, () => detectRocm({ exec, command: opts.commands?.rocmSmi ?? 'rocm-smi', timeoutMs: t.rocmMs })) : undefined,
    enabled('asic')
      ? guard('cgminer', t.asicPerHostMs * Math.ceil(((opts.asicHosts?.length ?? 0) + 1) / 32) + slack, () =>
          detectAsics({
            hosts: opts.asicHosts ?? [],
            probeLocalhost: opts.probeLocalAsic ?? true,
            perHostTimeoutMs: t.asicPerHostMs,
            ...(opts.cgminerQuery ? { query: opts.cgminerQuery } : {}),
          }),
        )
      : undefined,
    enabled('board')
      ? guard('board', t.fileReadMs * 2 + slack, () => detectBoard({ fsRoot, procRoot, sysfsRoot, arch, readTimeoutMs: t.fileReadMs }))
      : undefined,
  ]);

  const sys: SystemDetection = system ?? { disks: [], network: [], warnings: [] };
  warnings.push(...sys.warnings, ...(nvidia?.warnings ?? []), ...(drm?.warnings ?? []), ...(rocm?.warnings ?? []));
  const merged = mergeGpus({
    nvidia: nvidia?.gpus ?? [],
    nvidiaToolPresent: nvidia?.toolPresent ?? false,
    drm: drm?.gpus ?? [],
    pci: pci ?? [],
    rocm: rocm?.cards ?? [],
  });
  warnings.push(...merged.warnings, ...(asics?.warnings ?? []));

  const inventory: HardwareInventory = {
    schemaVersion: HARDWARE_INVENTORY_SCHEMA_VERSION,
    detectedAt: Math.max(0, Math.round(now())),
    disks: sys.disks,
    network: sys.network,
    gpus: merged.gpus,
    asics: asics?.asics ?? [],
    warnings: [],
  };
  if (sys.hostname) inventory.hostname = sys.hostname;
  if (sys.os) inventory.os = sys.os;
  if (sys.cpu) inventory.cpu = sys.cpu;
  if (sys.memory) inventory.memory = sys.memory;
  if (board) inventory.board = board;

  // Last line of defence: an inventory the hub would refuse is reported, with the offending paths.
  const check = HardwareInventory.safeParse({ ...inventory, warnings: warnings.slice(0, MAX_WARNINGS) });
  if (!check.success) {
    const issues = check.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.')}: ${i.message}`)
      .join('; ');
    warnings.unshift(warn('inventory', `does not match the inventory schema: ${issues}`));
  }
  const finalWarnings = warnings.slice(0, MAX_WARNINGS);
  inventory.warnings = finalWarnings;
  return { inventory, warnings: finalWarnings, durationMs: Date.now() - started };
}
