// Hardware inventory (what a device is) and hardware profiles (what a family of hardware can do), each
// defined once: the schema is the runtime check and its inferred type the static one.
//
// Inventory objects are loose (z.looseObject): a newer agent may add fields and an older hub still
// accepts the message. New fields must be optional; enum values only change with a new schemaVersion.
// Profiles are authored in this repository (hardware-profiles/*.json), so their objects are strict:
// a typo in a data file fails validation instead of being ignored.
import { z } from 'zod';

export const HARDWARE_INVENTORY_SCHEMA_VERSION = 1;

const Text = (max = 256) => z.string().max(max);
const NonNegInt = z.number().int().nonnegative();
const NonNeg = z.number().nonnegative();
const Percent = z.number().min(0).max(100);
/** Celsius; sensors report below zero outdoors, and broken ones report nonsense, which parsers drop. */
const Celsius = z.number().min(-100).max(300);

export const HardwareWarning = z.looseObject({
  /** Which detector or tool produced it, e.g. `nvidia-smi`, `sysfs:drm`, `cgminer:10.0.0.5:4028`. */
  source: Text(128),
  message: Text(1024),
});
export type HardwareWarning = z.infer<typeof HardwareWarning>;

export const CpuArch = z.enum(['x86_64', 'arm64', 'armv7', 'other']);
export type CpuArch = z.infer<typeof CpuArch>;

export const HardwareCpuFlags = z.looseObject({
  avx2: z.boolean(),
  avx512f: z.boolean(),
  /** SHA extensions: `sha_ni` on x86, `sha2` on ARM. */
  sha: z.boolean(),
  aes: z.boolean(),
  /** Advanced SIMD: `asimd` on arm64, `neon` on armv7. */
  neon: z.boolean(),
});
export type HardwareCpuFlags = z.infer<typeof HardwareCpuFlags>;

export const HardwareCpu = z.looseObject({
  model: Text(),
  vendor: Text(128),
  arch: CpuArch,
  /** Physical cores. */
  cores: NonNegInt,
  /** Logical processors (hardware threads). */
  threads: NonNegInt,
  baseMHz: NonNeg.optional(),
  maxMHz: NonNeg.optional(),
  flags: HardwareCpuFlags,
  temperatureC: Celsius.optional(),
});
export type HardwareCpu = z.infer<typeof HardwareCpu>;

export const HardwareMemory = z.looseObject({
  totalBytes: NonNeg,
  availableBytes: NonNeg.optional(),
});
export type HardwareMemory = z.infer<typeof HardwareMemory>;

export const DiskType = z.enum(['nvme', 'ssd', 'hdd', 'emmc', 'sd', 'usb', 'unknown']);
export type DiskType = z.infer<typeof DiskType>;

export const HardwareDisk = z.looseObject({
  /** Kernel name, e.g. `sda`, `nvme0n1`, `mmcblk0`. */
  name: Text(128),
  model: Text().optional(),
  sizeBytes: NonNeg,
  type: DiskType,
  /** Free bytes over the mounted filesystems on this disk, where any are mounted. */
  freeBytes: NonNeg.optional(),
  removable: z.boolean().optional(),
});
export type HardwareDisk = z.infer<typeof HardwareDisk>;

export const HardwareNetworkInterface = z.looseObject({
  name: Text(64),
  mac: Text(64),
  /** Link speed in Mbit/s where the kernel knows it. */
  speedMbps: NonNeg.optional(),
  ipv4: z.array(Text(64)).max(64),
  virtual: z.boolean().optional(),
  up: z.boolean().optional(),
});
export type HardwareNetworkInterface = z.infer<typeof HardwareNetworkInterface>;

export const GpuVendor = z.enum(['nvidia', 'amd', 'intel']);
export type GpuVendor = z.infer<typeof GpuVendor>;

export const HardwareDeviceState = z.enum(['ok', 'error']);
export type HardwareDeviceState = z.infer<typeof HardwareDeviceState>;

export const HardwarePcieLink = z.looseObject({
  genCurrent: NonNegInt.optional(),
  genMax: NonNegInt.optional(),
  widthCurrent: NonNegInt.optional(),
  widthMax: NonNegInt.optional(),
});
export type HardwarePcieLink = z.infer<typeof HardwarePcieLink>;

export const HardwareGpu = z.looseObject({
  /** Position in this inventory (all vendors, ordered by PCI bus id); telemetry keys use it. */
  index: NonNegInt,
  /** The vendor tool's own index (nvidia-smi index, DRM card number), when there is one. */
  vendorIndex: NonNegInt.optional(),
  vendor: GpuVendor,
  uuid: Text(128).optional(),
  name: Text(),
  /** Normalised `dddd:bb:dd.f`, lower case. */
  pciBusId: Text(32),
  pciVendorId: Text(8).optional(),
  pciDeviceId: Text(8).optional(),
  vramBytes: NonNeg,
  vramUsedBytes: NonNeg.optional(),
  /** Kernel driver or driver version, e.g. `550.54.14`, `amdgpu`, `i915`. */
  driver: Text(128).optional(),
  cuda: z
    .looseObject({
      /** CUDA version the driver supports, e.g. `12.4`. */
      version: Text(32).optional(),
      /** Compute capability, e.g. `8.6`. */
      computeCapability: Text(16).optional(),
    })
    .optional(),
  pcie: HardwarePcieLink,
  power: z.looseObject({
    drawW: NonNeg.optional(),
    limitW: NonNeg.optional(),
    defaultLimitW: NonNeg.optional(),
    maxLimitW: NonNeg.optional(),
  }),
  temperatureC: Celsius.optional(),
  memoryTemperatureC: Celsius.optional(),
  fanPct: Percent.optional(),
  fanRpm: NonNeg.optional(),
  utilizationPct: Percent.optional(),
  clocks: z.looseObject({
    coreMHz: NonNeg.optional(),
    memoryMHz: NonNeg.optional(),
    maxCoreMHz: NonNeg.optional(),
    maxMemoryMHz: NonNeg.optional(),
  }),
  /** Active clock throttle reasons, e.g. `sw_power_cap`, `hw_thermal_slowdown`. */
  throttleReasons: z.array(Text(64)).max(32),
  state: HardwareDeviceState,
  /** Why the state is `error` (or a note on an `ok` device). */
  reason: Text(512).optional(),
  /** Which source reported the device: `nvidia-smi`, `sysfs`, `pci`. */
  source: Text(32),
});
export type HardwareGpu = z.infer<typeof HardwareGpu>;

export const HardwareAsicChain = z.looseObject({
  index: NonNegInt,
  /** Hottest chip on the chain. */
  chipTempC: Celsius.optional(),
  boardTempC: Celsius.optional(),
  hashrateHs: NonNeg.optional(),
  chips: NonNegInt.optional(),
  hwErrors: NonNegInt.optional(),
});
export type HardwareAsicChain = z.infer<typeof HardwareAsicChain>;

export const HardwareAsic = z.looseObject({
  host: Text(255),
  port: z.number().int().min(1).max(65535),
  /** Bitmain, MicroBT, Canaan, or `unknown`. */
  maker: Text(64),
  /** E.g. `Antminer S19j Pro`, `WhatsMiner M30S++`. */
  model: Text(128),
  /** Mining software and version as the API reports it, e.g. `bmminer 1.0.0`. */
  software: Text(128).optional(),
  firmware: Text(128).optional(),
  /** Hashes per second (H/s), normalised from whatever unit the firmware reports. */
  hashrate5s: NonNeg.optional(),
  hashrateAvg: NonNeg.optional(),
  chains: z.array(HardwareAsicChain).max(32),
  fansRpm: z.array(NonNeg).max(16),
  hwErrors: NonNegInt.optional(),
  powerW: NonNeg.optional(),
  uptimeS: NonNeg.optional(),
  poolUrl: Text(512).optional(),
  state: HardwareDeviceState,
  reason: Text(512).optional(),
});
export type HardwareAsic = z.infer<typeof HardwareAsic>;

export const BoardKind = z.enum(['raspberry-pi', 'jetson', 'generic-arm', 'x86']);
export type BoardKind = z.infer<typeof BoardKind>;

export const HardwareBoard = z.looseObject({
  kind: BoardKind,
  /** Device-tree model (`Raspberry Pi 5 Model B Rev 1.0`) or DMI vendor + board name on x86. */
  model: Text(),
  /** Raspberry Pi revision code, Jetson L4T release, or BIOS version. */
  revision: Text(128).optional(),
  /** SoC, e.g. `BCM2712`, `tegra234`, `rockchip,rk3588`. */
  soc: Text(128).optional(),
  memoryBytes: NonNeg.optional(),
  manufacturer: Text(128).optional(),
});
export type HardwareBoard = z.infer<typeof HardwareBoard>;

export const HardwareOs = z.looseObject({
  platform: Text(64),
  distro: Text(128).optional(),
  release: Text(128).optional(),
  kernel: Text(128).optional(),
});
export type HardwareOs = z.infer<typeof HardwareOs>;

export const HardwareInventory = z.looseObject({
  schemaVersion: z.literal(HARDWARE_INVENTORY_SCHEMA_VERSION),
  /** Milliseconds since the epoch when detection finished. */
  detectedAt: NonNegInt,
  hostname: Text(255).optional(),
  os: HardwareOs.optional(),
  /** Absent only when CPU detection failed (a warning says why). */
  cpu: HardwareCpu.optional(),
  memory: HardwareMemory.optional(),
  disks: z.array(HardwareDisk).max(128),
  network: z.array(HardwareNetworkInterface).max(128),
  gpus: z.array(HardwareGpu).max(64),
  asics: z.array(HardwareAsic).max(1024),
  board: HardwareBoard.optional(),
  warnings: z.array(HardwareWarning).max(200),
});
export type HardwareInventory = z.infer<typeof HardwareInventory>;

// ---------------------------------------------------------------------------------------------------
// Hardware profiles: one data file per hardware family (hardware-profiles/*.json).

export const HardwareClass = z.enum(['cpu', 'gpu', 'asic', 'board']);
export type HardwareClass = z.infer<typeof HardwareClass>;

/** Capability benchmarks the agent knows how to run; a profile lists the ones that apply. */
export const BenchmarkId = z.enum([
  'cpu-integer',
  'cpu-sha256',
  'cpu-aes',
  'memory-bandwidth',
  'disk-sequential-io',
  'network-throughput',
  'gpu-fp32',
  'gpu-fp16-tensor',
  'gpu-memory-bandwidth',
  'gpu-cuda-matmul',
  'gpu-opencl',
  'gpu-vulkan-compute',
  'asic-hashrate-check',
  'container-startup',
]);
export type BenchmarkId = z.infer<typeof BenchmarkId>;

export const HashAlgorithm = z.enum(['sha256d', 'etchash', 'kawpow', 'autolykos2', 'kheavyhash', 'randomx', 'scrypt']);
export type HashAlgorithm = z.infer<typeof HashAlgorithm>;

const PciId = z.string().regex(/^0x[0-9a-f]{4}$/, 'must be a lower-case 0x-prefixed 4-digit hex id');

const RegexSource = z.string().min(1).max(256).refine((source) => {
  try {
    new RegExp(source, 'i');
    return true;
  } catch {
    return false;
  }
}, 'must be a valid regular expression');

const Range = z
  .strictObject({ min: NonNeg, max: NonNeg })
  .refine((r) => r.min <= r.max, 'min must not exceed max');

/** All rules are alternatives: any one that matches selects the profile; the strongest rule wins. */
export const HardwareProfileMatch = z.strictObject({
  pciVendor: PciId.optional(),
  /** Needs `pciVendor` (on the profile or its parent). */
  pciDevices: z.array(PciId).optional(),
  /** Case-insensitive regular expressions over the component name (GPU name, CPU model). */
  namePatterns: z.array(RegexSource).optional(),
  /** Case-insensitive regular expressions over the device-tree model (boards). */
  deviceTreeModels: z.array(RegexSource).optional(),
  /** Case-insensitive regular expressions over the model an ASIC reports. */
  asicModels: z.array(RegexSource).optional(),
  /** CPU architectures; the weakest rule, for generic fallback profiles. */
  arch: z.array(CpuArch).optional(),
});
export type HardwareProfileMatch = z.infer<typeof HardwareProfileMatch>;

export const FanPolicy = z.strictObject({
  /** `auto`: agent curve toward targetTempC; `firmware`: leave to the device; `passive`: no fan. */
  mode: z.enum(['auto', 'firmware', 'fixed', 'passive']),
  targetTempC: Celsius.optional(),
  /** Above this the agent stops work on the component. */
  maxTempC: Celsius,
  minPct: Percent.optional(),
  maxPct: Percent.optional(),
});
export type FanPolicy = z.infer<typeof FanPolicy>;

export const HardwareCapabilities = z.strictObject({
  architecture: z.string().max(128).optional(),
  /** VRAM sizes the family ships with. */
  vramBytes: z.array(NonNeg).optional(),
  /** RAM sizes (boards). */
  memoryBytes: z.array(NonNeg).optional(),
  computeCapability: z.string().regex(/^\d+\.\d+$/).optional(),
  cores: z.number().int().positive().optional(),
  /** Typical rates per algorithm in H/s; approximate public figures, the benchmarks measure the real ones. */
  hashrates: z
    .array(z.strictObject({ algorithm: HashAlgorithm, hashrateHs: Range, note: z.string().max(256).optional() }))
    .optional(),
  power: z
    .strictObject({
      /** Vendor TDP / rated board power, W. */
      tdpW: Range,
      /** Power limits the agent may set, W. */
      safeLimitW: Range,
    })
    .optional(),
  fanPolicy: FanPolicy.optional(),
});
export type HardwareCapabilities = z.infer<typeof HardwareCapabilities>;

export const HardwareProfileVariant = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  name: z.string().min(1).max(128),
  match: HardwareProfileMatch,
  /** Overrides the family's capabilities, key by key. */
  capabilities: HardwareCapabilities,
});
export type HardwareProfileVariant = z.infer<typeof HardwareProfileVariant>;

export const HardwareProfile = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be kebab-case'),
  name: z.string().min(1).max(128),
  class: HardwareClass,
  vendor: z.string().min(1).max(64),
  /** Breaks ties between profiles whose rules are equally strong (higher wins). */
  priority: z.number().int().min(-100).max(100).optional(),
  match: HardwareProfileMatch,
  capabilities: HardwareCapabilities,
  variants: z.array(HardwareProfileVariant).optional(),
  benchmarks: z.array(BenchmarkId),
  /** Where the numbers come from (vendor spec sheets, documentation pages). */
  sources: z.array(z.string().max(512)).optional(),
  notes: z.string().max(2048).optional(),
});
export type HardwareProfile = z.infer<typeof HardwareProfile>;
