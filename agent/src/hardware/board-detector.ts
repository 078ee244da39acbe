// Runner for board identification: reads device-tree, cpuinfo, Jetson release and DMI files under the
// given roots (parameters, so tests read fixture trees).
import { join } from 'node:path';
import type { CpuArch, HardwareBoard } from '@sosna/protocol/hardware';
import { identifyBoard } from './board-parser.js';
import { parseCpuInfo } from './cpuinfo-parser.js';
import { readFiles, readText } from './fs-read.js';
import { parseMemTotal } from './system-mapper.js';

export interface BoardDetectOptions {
  fsRoot: string;
  procRoot: string;
  sysfsRoot: string;
  arch: CpuArch;
  readTimeoutMs: number;
}

const DMI_FILES = ['sys_vendor', 'product_name', 'board_vendor', 'board_name', 'bios_version'] as const;

export async function detectBoard(opts: BoardDetectOptions): Promise<HardwareBoard | undefined> {
  const t = opts.readTimeoutMs;
  const [dtModel, dtCompatible, cpuinfo, tegraRelease, meminfo, dmi] = await Promise.all([
    readText(join(opts.procRoot, 'device-tree', 'model'), t),
    readText(join(opts.procRoot, 'device-tree', 'compatible'), t),
    readText(join(opts.procRoot, 'cpuinfo'), t),
    readText(join(opts.fsRoot, 'etc', 'nv_tegra_release'), t),
    readText(join(opts.procRoot, 'meminfo'), t),
    opts.arch === 'x86_64' ? readFiles(join(opts.sysfsRoot, 'class', 'dmi', 'id'), DMI_FILES, t) : Promise.resolve({}),
  ]);
  return identifyBoard({
    arch: opts.arch,
    dtModel,
    dtCompatible,
    cpuinfo: cpuinfo !== undefined ? parseCpuInfo(cpuinfo) : undefined,
    tegraRelease,
    dmi,
    memTotalBytes: meminfo !== undefined ? parseMemTotal(meminfo) : undefined,
  });
}
