// Pure parser for /proc/cpuinfo (x86 and ARM layouts). The kernel documents the format only by example:
// "key<TAB>: value" lines, one block per logical CPU, and on ARM some board-wide lines at the end.
import type { HardwareCpuFlags } from '@sosna/protocol/hardware';
import { lines } from './parse-util.js';

export interface CpuInfo {
  /** Logical processors (blocks with a `processor` line). */
  processors: number;
  modelName?: string;
  vendorId?: string;
  /** Union of `flags` (x86) or `Features` (ARM) over all processors. */
  flags: string[];
  /** ARM `CPU implementer` (e.g. 0x41 = Arm) and `CPU part`, first seen. */
  cpuImplementer?: string;
  cpuPart?: string;
  /** Board-wide lines some ARM kernels print (Raspberry Pi: Hardware, Revision, Model). */
  hardware?: string;
  revision?: string;
  model?: string;
  /** Distinct (physical id, core id) pairs on x86; undefined when the kernel does not say. */
  physicalCores?: number;
  /** MHz of the first processor as the kernel last saw it (x86 `cpu MHz`). */
  mhz?: number;
}

export function parseCpuInfo(text: string): CpuInfo {
  const info: CpuInfo = { processors: 0, flags: [] };
  const flags = new Set<string>();
  const cores = new Set<string>();
  let physicalId = '';
  for (const line of lines(text)) {
    const idx = line.indexOf(':');
    if (idx <= 0) continue;
    const key = line.slice(0, idx).trim().toLowerCase();
    const value = line.slice(idx + 1).trim();
    switch (key) {
      case 'processor':
        if (/^\d+$/u.test(value)) info.processors += 1;
        break;
      case 'model name':
        info.modelName ??= value || undefined;
        break;
      case 'vendor_id':
        info.vendorId ??= value || undefined;
        break;
      case 'flags':
      case 'features':
        for (const f of value.split(/\s+/u)) if (f) flags.add(f.toLowerCase());
        break;
      case 'cpu implementer':
        info.cpuImplementer ??= value || undefined;
        break;
      case 'cpu part':
        info.cpuPart ??= value || undefined;
        break;
      case 'hardware':
        info.hardware ??= value || undefined;
        break;
      case 'revision':
        info.revision ??= value || undefined;
        break;
      case 'model':
        // x86 has a numeric `model`; ARM boards print a human-readable one.
        if (!/^\d+$/u.test(value)) info.model ??= value || undefined;
        break;
      case 'physical id':
        physicalId = value;
        break;
      case 'core id':
        cores.add(`${physicalId}/${value}`);
        break;
      case 'cpu mhz': {
        const n = Number(value);
        if (info.mhz === undefined && Number.isFinite(n) && n > 0) info.mhz = n;
        break;
      }
      default:
        break;
    }
  }
  info.flags = [...flags].sort();
  if (cores.size > 0) info.physicalCores = cores.size;
  return info;
}

/** The flags that matter for scheduling, from x86 or ARM names. */
export function cpuFeatureFlags(flags: readonly string[]): HardwareCpuFlags {
  const has = new Set(flags.map((f) => f.toLowerCase()));
  return {
    avx2: has.has('avx2'),
    avx512f: has.has('avx512f'),
    sha: has.has('sha_ni') || has.has('sha2'),
    aes: has.has('aes'),
    neon: has.has('asimd') || has.has('neon'),
  };
}

/** ARM `CPU implementer` codes to vendor names (the common ones on boards). */
export function armImplementerName(code: string | undefined): string | undefined {
  switch (code?.toLowerCase()) {
    case '0x41':
      return 'ARM';
    case '0x4e':
      return 'NVIDIA';
    case '0x51':
      return 'Qualcomm';
    case '0x61':
      return 'Apple';
    case '0x48':
      return 'HiSilicon';
    case '0xc0':
      return 'Ampere';
    default:
      return undefined;
  }
}

/** Arm Ltd. core part numbers seen on boards and servers. */
export function armPartName(part: string | undefined): string | undefined {
  const names: Record<string, string> = {
    '0xd03': 'Cortex-A53',
    '0xd04': 'Cortex-A35',
    '0xd05': 'Cortex-A55',
    '0xd07': 'Cortex-A57',
    '0xd08': 'Cortex-A72',
    '0xd09': 'Cortex-A73',
    '0xd0b': 'Cortex-A76',
    '0xd0c': 'Neoverse-N1',
    '0xd40': 'Neoverse-V1',
    '0xd41': 'Cortex-A78',
    '0xd42': 'Cortex-A78AE',
    '0xd46': 'Cortex-A510',
    '0xd47': 'Cortex-A710',
    '0xd49': 'Neoverse-N2',
    '0xd4f': 'Neoverse-V2',
    '0xc07': 'Cortex-A7',
    '0xc09': 'Cortex-A9',
    '0xc0f': 'Cortex-A15',
  };
  return part === undefined ? undefined : names[part.toLowerCase()];
}
