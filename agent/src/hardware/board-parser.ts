// Pure identification of the board: Raspberry Pi (device-tree model + revision code), NVIDIA Jetson
// (/etc/nv_tegra_release: "# R35 (release), REVISION: 4.1, GCID: ..., BOARD: ..., EABI: aarch64, DATE: ..."),
// other ARM boards (device-tree model and compatible list), x86 (DMI strings from /sys/class/dmi/id).
import type { CpuArch, HardwareBoard } from '@sosna/protocol/hardware';
import type { CpuInfo } from './cpuinfo-parser.js';
import { clip, compact } from './parse-util.js';
import { decodeRpiRevision } from './rpi-revision.js';

export interface BoardInputs {
  arch: CpuArch;
  /** /proc/device-tree/model (NUL terminator allowed). */
  dtModel?: string;
  /** /proc/device-tree/compatible: NUL-separated, most specific first. */
  dtCompatible?: string;
  cpuinfo?: CpuInfo;
  /** /etc/nv_tegra_release. */
  tegraRelease?: string;
  /** /sys/class/dmi/id/* by file name. */
  dmi?: Readonly<Record<string, string>>;
  memTotalBytes?: number;
}

export function parseCompatible(text: string | undefined): string[] {
  return (text ?? '')
    .split(/\0/u)
    .map((s) => s.trim())
    .filter((s) => s !== '' && s.length < 128);
}

export function parseNvTegraRelease(text: string): { release: string; revision?: string; board?: string } | undefined {
  const m = /#\s*R(\d+)\s*\(release\)/iu.exec(text);
  if (!m) return undefined;
  const rev = /REVISION:\s*([0-9.]+)/iu.exec(text)?.[1];
  const board = /BOARD:\s*([\w.-]+)/iu.exec(text)?.[1];
  return compact({ release: `R${m[1]}`, revision: rev, board });
}

/** DMI placeholders that vendors leave in cheap boards. */
const DMI_PLACEHOLDER = /^(to be filled by o\.e\.m\.|default string|system product name|system manufacturer|not applicable|none|o\.e\.m\.|x\.x|n\/a|0+|1234567890|)$/iu;

function dmiValue(dmi: Readonly<Record<string, string>> | undefined, key: string): string | undefined {
  const v = dmi?.[key]?.trim();
  return v && !DMI_PLACEHOLDER.test(v) ? v : undefined;
}

const clean = (s: string | undefined): string | undefined => {
  const v = s?.replace(/\0+/gu, '').trim();
  return v ? v : undefined;
};

/** `brcm,bcm2712` -> `BCM2712`; `nvidia,tegra234` -> `tegra234`; other vendors keep `vendor,soc`. */
function socFromCompatible(list: readonly string[]): string | undefined {
  const last = list[list.length - 1];
  if (!last) return undefined;
  if (/^brcm,bcm\d+/iu.test(last)) return last.split(',')[1]!.toUpperCase();
  const tegra = list.find((c) => /^nvidia,tegra\d+/iu.test(c));
  if (tegra) return tegra.split(',')[1];
  return last;
}

export function identifyBoard(input: BoardInputs): HardwareBoard | undefined {
  const model = clean(input.dtModel) ?? clean(input.cpuinfo?.model);
  const compatible = parseCompatible(input.dtCompatible);

  if (input.arch === 'x86_64') {
    const boardVendor = dmiValue(input.dmi, 'board_vendor');
    const boardName = dmiValue(input.dmi, 'board_name');
    const product = dmiValue(input.dmi, 'product_name');
    const sysVendor = dmiValue(input.dmi, 'sys_vendor');
    const name = boardName ? [boardVendor, boardName].filter(Boolean).join(' ') : [sysVendor, product].filter(Boolean).join(' ');
    return compact({
      kind: 'x86' as const,
      model: clip(name || 'x86_64 machine', 256),
      revision: dmiValue(input.dmi, 'bios_version') ? clip(dmiValue(input.dmi, 'bios_version')!, 128) : undefined,
      manufacturer: (sysVendor ?? boardVendor) ? clip((sysVendor ?? boardVendor)!, 128) : undefined,
      memoryBytes: input.memTotalBytes,
    });
  }
  if (input.arch !== 'arm64' && input.arch !== 'armv7') return undefined;

  if (/^Raspberry Pi/iu.test(model ?? '') || compatible.some((c) => c.startsWith('raspberrypi,'))) {
    const rev = input.cpuinfo?.revision ? decodeRpiRevision(input.cpuinfo.revision) : undefined;
    return compact({
      kind: 'raspberry-pi' as const,
      model: clip(model ?? `Raspberry Pi ${rev?.type ?? ''}`.trim(), 256),
      revision: rev?.code,
      soc: rev?.processor ?? socFromCompatible(compatible),
      memoryBytes: rev?.memoryBytes ?? input.memTotalBytes,
      manufacturer: rev?.manufacturer,
    });
  }

  const tegra = input.tegraRelease ? parseNvTegraRelease(input.tegraRelease) : undefined;
  if (tegra || /jetson/iu.test(model ?? '') || compatible.some((c) => /^nvidia,(tegra|p3\d{3})/iu.test(c))) {
    return compact({
      kind: 'jetson' as const,
      model: clip(model ?? 'NVIDIA Jetson', 256),
      revision: tegra ? `L4T ${tegra.release}${tegra.revision ? `.${tegra.revision}` : ''}` : undefined,
      soc: socFromCompatible(compatible),
      memoryBytes: input.memTotalBytes,
      manufacturer: 'NVIDIA',
    });
  }

  const vendorPrefix = compatible[0]?.split(',')[0];
  return compact({
    kind: 'generic-arm' as const,
    model: clip(model ?? `generic ${input.arch} board`, 256),
    soc: socFromCompatible(compatible),
    memoryBytes: input.memTotalBytes,
    manufacturer: vendorPrefix && compatible[0]!.includes(',') ? clip(vendorPrefix, 128) : undefined,
  });
}
