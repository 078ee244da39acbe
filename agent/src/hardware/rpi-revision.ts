// Pure decoder for Raspberry Pi revision codes ("Revision" in /proc/cpuinfo). New-style codes
// (Raspberry Pi documentation, "Raspberry Pi revision codes") pack fields into bits:
// NOQuuuWuFMMMCCCCPPPPTTTTTTTTRRRR - F (bit 23) marks new style; MMM memory; CCCC manufacturer;
// PPPP processor; TTTTTTTT type; RRRR board revision (1.x).

export interface RpiRevision {
  code: string;
  newStyle: boolean;
  /** Board type, e.g. `4B`, `5`, `CM4`. */
  type?: string;
  processor?: string;
  manufacturer?: string;
  memoryBytes?: number;
  /** Board revision, e.g. `1.4`. */
  revision?: string;
}

const TYPES: Readonly<Record<number, string>> = {
  0x00: 'A',
  0x01: 'B',
  0x02: 'A+',
  0x03: 'B+',
  0x04: '2B',
  0x05: 'Alpha',
  0x06: 'CM1',
  0x08: '3B',
  0x09: 'Zero',
  0x0a: 'CM3',
  0x0c: 'Zero W',
  0x0d: '3B+',
  0x0e: '3A+',
  0x10: 'CM3+',
  0x11: '4B',
  0x12: 'Zero 2 W',
  0x13: '400',
  0x14: 'CM4',
  0x15: 'CM4S',
  0x17: '5',
  0x18: 'CM5',
  0x19: '500',
  0x1a: 'CM5 Lite',
};
const PROCESSORS = ['BCM2835', 'BCM2836', 'BCM2837', 'BCM2711', 'BCM2712'];
const MANUFACTURERS = ['Sony UK', 'Egoman', 'Embest', 'Sony Japan', 'Embest', 'Stadium'];
const MIB = 1024 * 1024;

export function decodeRpiRevision(raw: string): RpiRevision | undefined {
  const code = raw.trim().toLowerCase().replace(/^0x/u, '');
  if (!/^[0-9a-f]{1,8}$/u.test(code)) return undefined;
  const n = Number.parseInt(code, 16);
  if ((n & (1 << 23)) === 0) {
    // Old-style codes (Pi 1 era, 0002-0015): sequential, no fields to decode.
    return { code, newStyle: false };
  }
  const out: RpiRevision = { code, newStyle: true };
  const mem = (n >>> 20) & 0x7;
  const manufacturer = MANUFACTURERS[(n >>> 16) & 0xf];
  const processor = PROCESSORS[(n >>> 12) & 0xf];
  const type = TYPES[(n >>> 4) & 0xff];
  if (type) out.type = type;
  if (processor) out.processor = processor;
  if (manufacturer) out.manufacturer = manufacturer;
  out.memoryBytes = 256 * MIB * 2 ** mem; // 0: 256MB ... 5: 8GB, 6: 16GB
  out.revision = `1.${n & 0xf}`;
  return out;
}
