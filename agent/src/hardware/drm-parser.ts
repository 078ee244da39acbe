// Pure parser for one GPU as the Linux kernel exposes it under /sys/class/drm/cardN. Attribute
// meanings: Documentation/gpu/amdgpu/thermal.rst and amdgpu-driver docs (mem_info_vram_total,
// gpu_busy_percent, pp_dpm_*), Documentation/hwmon/sysfs-interface.rst (temp*_input in millidegrees,
// power*_average/power*_input/power*_cap in microwatts, pwm1 0-255, fan1_input RPM, freq*_input Hz),
// and the PCI sysfs ABI (current_link_speed like "16.0 GT/s PCIe", current_link_width like "16").
import type { GpuVendor } from '@sosna/protocol/hardware';
import type { GpuCandidate } from './nvidia-parser.js';
import { clip, compact, normalizePciBusId, normalizePciId, toCelsius, toCount, toNonNegative, toNumber, toPercent } from './parse-util.js';

/** The files read for one card, by name relative to the directory they live in. */
export interface DrmCardSnapshot {
  /** `card0` */
  card: string;
  /** Files in cardN/device (the PCI device). */
  device: Readonly<Record<string, string>>;
  /** Files in the card's first hwmon directory (cardN/device/hwmon/hwmonM). */
  hwmon: Readonly<Record<string, string>>;
  /** Files in cardN itself (Intel i915 frequency attributes live here). */
  cardFiles: Readonly<Record<string, string>>;
}

export const DRM_DEVICE_FILES = [
  'vendor',
  'device',
  'class',
  'uevent',
  'product_name',
  'mem_info_vram_total',
  'mem_info_vram_used',
  'gpu_busy_percent',
  'current_link_speed',
  'current_link_width',
  'max_link_speed',
  'max_link_width',
  'pp_dpm_sclk',
  'pp_dpm_mclk',
] as const;

export const DRM_HWMON_FILES = [
  'name',
  'temp1_input',
  'temp1_label',
  'temp2_input',
  'temp2_label',
  'temp3_input',
  'temp3_label',
  'power1_average',
  'power1_input',
  'power1_cap',
  'power1_cap_default',
  'power1_cap_max',
  'power1_max',
  'pwm1',
  'pwm1_max',
  'fan1_input',
  'freq1_input',
  'freq2_input',
] as const;

export const DRM_CARD_FILES = ['gt_cur_freq_mhz', 'gt_max_freq_mhz', 'gt_RP0_freq_mhz'] as const;

export const PCI_VENDORS: Readonly<Record<string, GpuVendor>> = {
  '0x10de': 'nvidia',
  '0x1002': 'amd',
  '0x8086': 'intel',
};

const VENDOR_LABEL: Readonly<Record<GpuVendor, string>> = { nvidia: 'NVIDIA', amd: 'AMD', intel: 'Intel' };

/** Key=value lines of a uevent file. */
export function parseUevent(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of (text ?? '').split(/\r?\n/u)) {
    const idx = line.indexOf('=');
    if (idx > 0) out[line.slice(0, idx).trim()] = line.slice(idx + 1).trim();
  }
  return out;
}

/** "16.0 GT/s PCIe" -> 4. Each PCIe generation doubles the transfer rate from 2.5 GT/s (gen 3 is 8). */
export function pcieGenFromSpeed(speed: string | undefined): number | undefined {
  const m = /([\d.]+)\s*GT\/s/iu.exec(speed ?? '');
  if (!m) return undefined;
  const gts = Number(m[1]);
  const table: Array<[number, number]> = [
    [2.5, 1],
    [5, 2],
    [8, 3],
    [16, 4],
    [32, 5],
    [64, 6],
    [128, 7],
  ];
  for (const [rate, gen] of table) if (Math.abs(gts - rate) < 0.3) return gen;
  return undefined;
}

/** pp_dpm_* lists levels like "1: 1800Mhz *"; returns the active level and the highest, in MHz. */
export function parseDpmLevels(text: string | undefined): { current?: number; max?: number } {
  let current: number | undefined;
  let max: number | undefined;
  for (const line of (text ?? '').split(/\r?\n/u)) {
    const m = /^\s*\d+:\s*(\d+)\s*Mhz\s*(\*)?/iu.exec(line);
    if (!m) continue;
    const mhz = Number(m[1]);
    if (max === undefined || mhz > max) max = mhz;
    if (m[2]) current = mhz;
  }
  return compact({ current, max });
}

const micro = (v: string | undefined): number | undefined => {
  const n = toNonNegative(v);
  return n === undefined ? undefined : Math.round(n / 1e4) / 100; // µW -> W, two decimals
};
const milliC = (v: string | undefined): number | undefined => {
  const n = toNumber(v);
  return n === undefined ? undefined : toCelsius(n / 1000);
};
const hzToMHz = (v: string | undefined): number | undefined => {
  const n = toNonNegative(v);
  return n === undefined ? undefined : Math.round(n / 1e6);
};

function labelledTemp(hwmon: Readonly<Record<string, string>>, label: string): number | undefined {
  for (const i of [1, 2, 3]) {
    if ((hwmon[`temp${i}_label`] ?? '').toLowerCase() === label) return milliC(hwmon[`temp${i}_input`]);
  }
  return undefined;
}

export function parseDrmCard(snap: DrmCardSnapshot): GpuCandidate | undefined {
  const d = snap.device;
  const vendorId = normalizePciId(d['vendor']);
  const vendor = vendorId ? PCI_VENDORS[vendorId] : undefined;
  if (!vendor || !vendorId) return undefined;
  const uevent = parseUevent(d['uevent']);
  const busId = normalizePciBusId(uevent['PCI_SLOT_NAME'] ?? '');
  if (!busId) return undefined;
  const deviceId = normalizePciId(d['device']);
  const h = snap.hwmon;

  const pwm = toNonNegative(h['pwm1']);
  const pwmMax = toNonNegative(h['pwm1_max']) || 255;
  const fanPct = pwm !== undefined ? toPercent(Math.round((pwm / pwmMax) * 100)) : undefined;
  const sclk = parseDpmLevels(d['pp_dpm_sclk']);
  const mclk = parseDpmLevels(d['pp_dpm_mclk']);
  const edge = labelledTemp(h, 'edge') ?? milliC(h['temp1_input']);
  const memTemp = labelledTemp(h, 'mem');
  const cardNo = /^card(\d+)$/u.exec(snap.card)?.[1];
  const productName = d['product_name']?.trim();
  const name = productName
    ? clip(productName, 256)
    : `${VENDOR_LABEL[vendor]} GPU [${vendorId.slice(2)}:${(deviceId ?? '0x????').slice(2)}]`;

  return compact({
    vendorIndex: cardNo !== undefined ? Number(cardNo) : undefined,
    vendor,
    name,
    pciBusId: busId,
    pciVendorId: vendorId,
    pciDeviceId: deviceId,
    vramBytes: toNonNegative(d['mem_info_vram_total']) ?? 0,
    vramUsedBytes: toNonNegative(d['mem_info_vram_used']),
    driver: uevent['DRIVER'] ? clip(uevent['DRIVER'], 128) : undefined,
    pcie: compact({
      genCurrent: pcieGenFromSpeed(d['current_link_speed']),
      genMax: pcieGenFromSpeed(d['max_link_speed']),
      widthCurrent: toCount(d['current_link_width']),
      widthMax: toCount(d['max_link_width']),
    }),
    power: compact({
      drawW: micro(h['power1_average']) ?? micro(h['power1_input']),
      limitW: micro(h['power1_cap']) ?? micro(h['power1_max']),
      defaultLimitW: micro(h['power1_cap_default']),
      maxLimitW: micro(h['power1_cap_max']),
    }),
    temperatureC: edge,
    memoryTemperatureC: memTemp,
    fanPct,
    fanRpm: toNonNegative(h['fan1_input']),
    utilizationPct: toPercent(d['gpu_busy_percent']),
    clocks: compact({
      coreMHz: sclk.current ?? hzToMHz(h['freq1_input']) ?? toNonNegative(snap.cardFiles['gt_cur_freq_mhz']),
      memoryMHz: mclk.current ?? hzToMHz(h['freq2_input']),
      maxCoreMHz: sclk.max ?? toNonNegative(snap.cardFiles['gt_max_freq_mhz']) ?? toNonNegative(snap.cardFiles['gt_RP0_freq_mhz']),
      maxMemoryMHz: mclk.max,
    }),
    throttleReasons: [],
    state: 'ok' as const,
    source: 'sysfs',
  });
}
