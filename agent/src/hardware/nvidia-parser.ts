// Pure parsers for nvidia-smi output. Query fields and their units are documented by
// `nvidia-smi --help-query-gpu`; with `--format=csv,noheader,nounits` every line is one GPU, values in
// the order asked, separated by ", ". Unavailable values read "[N/A]" or "[Not Supported]"; a failing
// card reads "[Unknown Error]", "[GPU is lost]" or "ERR!", or is left out with a line
// "Unable to determine the device handle for GPU 0000:0A:00.0: Unknown Error".
import type { HardwareGpu } from '@sosna/protocol/hardware';
import type { KnownKeys } from './types.js';
import { clip, compact, normalizePciBusId, scaled, toCelsius, toCount, toNonNegative, toPercent } from './parse-util.js';

/** A GPU before it gets its inventory-wide index. */
export type GpuCandidate = Omit<KnownKeys<HardwareGpu>, 'index'>;

export const THROTTLE_REASONS = [
  'gpu_idle',
  'applications_clocks_setting',
  'sw_power_cap',
  'hw_slowdown',
  'hw_thermal_slowdown',
  'hw_power_brake_slowdown',
  'sw_thermal_slowdown',
  'sync_boost',
] as const;

/** Bits of `clocks_throttle_reasons.active` (NVML nvmlClocksThrottleReason* / nvmlClocksEventReason*). */
const THROTTLE_BITS: ReadonlyArray<readonly [number, string]> = [
  [0x1, 'gpu_idle'],
  [0x2, 'applications_clocks_setting'],
  [0x4, 'sw_power_cap'],
  [0x8, 'hw_slowdown'],
  [0x10, 'sync_boost'],
  [0x20, 'sw_thermal_slowdown'],
  [0x40, 'hw_thermal_slowdown'],
  [0x80, 'hw_power_brake_slowdown'],
  [0x100, 'display_clock_setting'],
];

/** What we ask for. Older drivers lack some (compute_cap before R510); the runner drops those and retries. */
export const NVIDIA_QUERY_FIELDS: readonly string[] = [
  'index',
  'uuid',
  'name',
  'pci.bus_id',
  'pci.device_id',
  'driver_version',
  'compute_cap',
  'memory.total',
  'memory.used',
  'pcie.link.gen.current',
  'pcie.link.gen.max',
  'pcie.link.width.current',
  'pcie.link.width.max',
  'power.draw',
  'power.limit',
  'power.default_limit',
  'power.max_limit',
  'temperature.gpu',
  'temperature.memory',
  'fan.speed',
  'utilization.gpu',
  'clocks.sm',
  'clocks.mem',
  'clocks.max.sm',
  'clocks.max.mem',
  'clocks_throttle_reasons.active',
  ...THROTTLE_REASONS.map((r) => `clocks_throttle_reasons.${r}`),
];

export interface NvidiaParse {
  gpus: GpuCandidate[];
  /** Lines that were neither a GPU row nor a known error, and rows we could not read. */
  problems: string[];
  /** The driver refused to talk (NVML failed to initialise, driver not loaded, version mismatch). */
  driverFailure?: string;
}

const UNAVAILABLE = /^\[?(N\/A|Not Supported|Requested functionality has been deprecated|Insufficient Permissions)\]?$/iu;
const FAILED = /^(\[(Unknown Error|GPU is lost|GPU requires reset)\]|ERR!|Unknown Error)$/iu;
const HANDLE_ERROR = /Unable to determine the device handle for (?:GPU|gpu)\s*([0-9a-fA-F:.]+)\s*:\s*(.*)$/u;
const DRIVER_FAILURE =
  /(NVIDIA-SMI has failed|Failed to initialize NVML|couldn't communicate with the NVIDIA driver|Driver\/library version mismatch|NVML library version)/iu;
const MIB = 1024 * 1024;

type Cell = { kind: 'value'; text: string } | { kind: 'unavailable' } | { kind: 'failed'; text: string };

function cell(raw: string | undefined): Cell {
  const text = (raw ?? '').trim();
  if (text === '' || UNAVAILABLE.test(text)) return { kind: 'unavailable' };
  if (FAILED.test(text)) return { kind: 'failed', text: text.replace(/^\[|\]$/gu, '') };
  return { kind: 'value', text };
}

/** Splits a row; a GPU name holding a comma would add columns, so extras are folded back into `name`. */
function splitRow(line: string, fields: readonly string[]): string[] | undefined {
  const parts = line.split(',');
  if (parts.length === fields.length) return parts;
  const nameAt = fields.indexOf('name');
  if (parts.length > fields.length && nameAt >= 0) {
    const extra = parts.length - fields.length;
    const name = parts.slice(nameAt, nameAt + extra + 1).join(',');
    return [...parts.slice(0, nameAt), name, ...parts.slice(nameAt + extra + 1)];
  }
  return undefined;
}

export function parseNvidiaSmiCsv(text: string, fields: readonly string[] = NVIDIA_QUERY_FIELDS): NvidiaParse {
  const result: NvidiaParse = { gpus: [], problems: [] };
  for (const rawLine of text.split(/\r?\n/u)) {
    const line = rawLine.trim();
    if (line === '') continue;
    const handle = HANDLE_ERROR.exec(line);
    if (handle) {
      const busId = normalizePciBusId(handle[1]!);
      if (busId) {
        result.gpus.push(errorGpu(busId, clip(handle[2]!.trim() || 'device handle unavailable', 400)));
        continue;
      }
    }
    if (DRIVER_FAILURE.test(line)) {
      result.driverFailure ??= clip(line, 400);
      continue;
    }
    if (/^No devices were found/iu.test(line)) continue;
    const parts = splitRow(line, fields);
    if (!parts) {
      result.problems.push(clip(`unreadable line: ${line}`, 400));
      continue;
    }
    const gpu = rowToGpu(fields, parts);
    if (gpu) result.gpus.push(gpu);
    else result.problems.push(clip(`row without a PCI bus id: ${line}`, 400));
  }
  return result;
}

export function errorGpu(pciBusId: string, reason: string, source = 'nvidia-smi'): GpuCandidate {
  return {
    vendor: 'nvidia',
    name: 'NVIDIA GPU (unreachable)',
    pciBusId,
    pciVendorId: '0x10de',
    vramBytes: 0,
    pcie: {},
    power: {},
    clocks: {},
    throttleReasons: [],
    state: 'error',
    reason,
    source,
  };
}

function rowToGpu(fields: readonly string[], parts: readonly string[]): GpuCandidate | undefined {
  const cells = new Map<string, Cell>();
  fields.forEach((f, i) => cells.set(f.replace(/^clocks_event_reasons\./u, 'clocks_throttle_reasons.'), cell(parts[i])));
  const failures: string[] = [];
  for (const [field, c] of cells) if (c.kind === 'failed') failures.push(`${field}: ${c.text}`);
  const text = (field: string): string | undefined => {
    const c = cells.get(field);
    return c?.kind === 'value' ? c.text : undefined;
  };
  const num = (field: string): number | undefined => toNonNegative(text(field));

  const busId = normalizePciBusId(text('pci.bus_id') ?? '');
  if (!busId) return undefined;
  const ids = /^0x([0-9a-f]{4})([0-9a-f]{4})$/iu.exec(text('pci.device_id') ?? '');
  const memTotal = num('memory.total');
  const memUsed = num('memory.used');

  const throttle: string[] = [];
  for (const reason of THROTTLE_REASONS) {
    if (/^active$/iu.test(text(`clocks_throttle_reasons.${reason}`) ?? '')) throttle.push(reason);
  }
  const mask = text('clocks_throttle_reasons.active');
  if (throttle.length === 0 && mask && /^0x[0-9a-f]+$/iu.test(mask)) {
    const bits = Number.parseInt(mask.slice(2), 16);
    for (const [bit, reason] of THROTTLE_BITS) if ((bits & bit) !== 0) throttle.push(reason);
  }

  const driver = text('driver_version');
  const cc = text('compute_cap');
  const gpu: GpuCandidate = compact({
    vendorIndex: toCount(text('index')),
    vendor: 'nvidia' as const,
    uuid: text('uuid') ? clip(text('uuid')!, 128) : undefined,
    name: clip(text('name') ?? 'NVIDIA GPU', 256),
    pciBusId: busId,
    pciVendorId: ids ? `0x${ids[2]!.toLowerCase()}` : '0x10de',
    pciDeviceId: ids ? `0x${ids[1]!.toLowerCase()}` : undefined,
    vramBytes: scaled(memTotal, MIB) ?? 0,
    vramUsedBytes: scaled(memUsed, MIB),
    driver: driver ? clip(driver, 128) : undefined,
    cuda: cc && /^\d+\.\d+$/u.test(cc) ? { computeCapability: cc } : undefined,
    pcie: compact({
      genCurrent: toCount(text('pcie.link.gen.current')),
      genMax: toCount(text('pcie.link.gen.max')),
      widthCurrent: toCount(text('pcie.link.width.current')),
      widthMax: toCount(text('pcie.link.width.max')),
    }),
    power: compact({
      drawW: num('power.draw'),
      limitW: num('power.limit'),
      defaultLimitW: num('power.default_limit'),
      maxLimitW: num('power.max_limit'),
    }),
    temperatureC: toCelsius(text('temperature.gpu')),
    memoryTemperatureC: toCelsius(text('temperature.memory')),
    fanPct: toPercent(text('fan.speed')),
    utilizationPct: toPercent(text('utilization.gpu')),
    clocks: compact({
      coreMHz: num('clocks.sm'),
      memoryMHz: num('clocks.mem'),
      maxCoreMHz: num('clocks.max.sm'),
      maxMemoryMHz: num('clocks.max.mem'),
    }),
    throttleReasons: throttle,
    state: failures.length > 0 ? ('error' as const) : ('ok' as const),
    reason: failures.length > 0 ? clip(failures.join('; '), 512) : undefined,
    source: 'nvidia-smi',
  });
  return gpu;
}

/** `Field "compute_cap" is not a valid field to query.` -> `compute_cap`. */
export function parseInvalidField(text: string): string | undefined {
  const m = /Field\s+"([^"]+)"\s+is not a valid field to query/iu.exec(text);
  return m ? m[1] : undefined;
}

/** The plain `nvidia-smi` banner holds the driver's CUDA version, which no query field reports. */
export function parseNvidiaSmiBanner(text: string): { driverVersion?: string; cudaVersion?: string } {
  const driver = /Driver Version:\s*([0-9][0-9.]*)/u.exec(text);
  const cuda = /CUDA Version:\s*([0-9][0-9.]*)/u.exec(text);
  return compact({ driverVersion: driver?.[1], cudaVersion: cuda?.[1] });
}
