// Pure parser for display controllers on the PCI bus (/sys/bus/pci/devices/<address>/). Lists GPUs
// that no driver claims, or that the vendor tool cannot see: an NVIDIA card without a working driver
// still shows up here. Class codes per the PCI Code and ID Assignment spec: 0x0300xx VGA, 0x0302xx 3D.
import type { GpuCandidate } from './nvidia-parser.js';
import { PCI_VENDORS, parseUevent, pcieGenFromSpeed } from './drm-parser.js';
import { compact, normalizePciBusId, normalizePciId, toCount } from './parse-util.js';

export const PCI_DEVICE_FILES = [
  'class',
  'vendor',
  'device',
  'uevent',
  'current_link_speed',
  'current_link_width',
  'max_link_speed',
  'max_link_width',
] as const;

export interface PciDisplayDevice {
  gpu: GpuCandidate;
  driver?: string;
}

export function parsePciDisplayDevice(address: string, files: Readonly<Record<string, string>>): PciDisplayDevice | undefined {
  const cls = (files['class'] ?? '').trim().toLowerCase();
  if (!/^0x030[02]/u.test(cls)) return undefined;
  const vendorId = normalizePciId(files['vendor']);
  const vendor = vendorId ? PCI_VENDORS[vendorId] : undefined;
  const busId = normalizePciBusId(address);
  if (!vendor || !vendorId || !busId) return undefined;
  const deviceId = normalizePciId(files['device']);
  const driver = parseUevent(files['uevent'])['DRIVER'];
  const label = vendor === 'nvidia' ? 'NVIDIA' : vendor === 'amd' ? 'AMD' : 'Intel';
  const gpu: GpuCandidate = compact({
    vendor,
    name: `${label} GPU [${vendorId.slice(2)}:${(deviceId ?? '0x????').slice(2)}]`,
    pciBusId: busId,
    pciVendorId: vendorId,
    pciDeviceId: deviceId,
    vramBytes: 0,
    driver,
    pcie: compact({
      genCurrent: pcieGenFromSpeed(files['current_link_speed']),
      genMax: pcieGenFromSpeed(files['max_link_speed']),
      widthCurrent: toCount(files['current_link_width']),
      widthMax: toCount(files['max_link_width']),
    }),
    power: {},
    clocks: {},
    throttleReasons: [],
    state: driver ? ('ok' as const) : ('error' as const),
    reason: driver ? undefined : 'no kernel driver bound',
    source: 'pci',
  });
  return compact({ gpu, driver });
}
