// Runner for the PCI display-controller scan: <sysfsRoot>/bus/pci/devices/*.
import { join } from 'node:path';
import { listDir, readFiles, readValue } from './fs-read.js';
import { PCI_DEVICE_FILES, parsePciDisplayDevice, type PciDisplayDevice } from './pci-parser.js';

export interface PciDetectOptions {
  sysfsRoot: string;
  readTimeoutMs: number;
}

export async function detectPciDisplays(opts: PciDetectOptions): Promise<PciDisplayDevice[]> {
  const root = join(opts.sysfsRoot, 'bus', 'pci', 'devices');
  const addresses = await listDir(root, opts.readTimeoutMs);
  const found = await Promise.all(
    addresses.map(async (address) => {
      // Read the class first: a rig has dozens of bridges and controllers we do not care about.
      const cls = await readValue(join(root, address, 'class'), opts.readTimeoutMs);
      if (!cls || !/^0x030[02]/iu.test(cls)) return undefined;
      const files = await readFiles(join(root, address), PCI_DEVICE_FILES, opts.readTimeoutMs);
      return parsePciDisplayDevice(address, files);
    }),
  );
  return found.filter((d): d is PciDisplayDevice => d !== undefined);
}
