// Housekeeping after a FAT filesystem was edited by a writer that updates only the first FAT copy and
// leaves the FSInfo hints stale (the pure-JS `fatfs` behind balena-image-fs does both): copy FAT #1 over
// the other copies and mark the FSInfo free-cluster hints unknown, so fsck.fat finds the volume clean.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

export interface FatGeometry {
  bytesPerSector: number;
  reservedSectors: number;
  fats: number;
  sectorsPerFat: number;
  /** FAT32 only: sector of the FSInfo structure, relative to the volume. */
  fsInfoSector: number | null;
}

/** Reads the BIOS parameter block of a FAT boot sector; null if the sector is not FAT. */
export function parseFatBootSector(sector: Buffer): FatGeometry | null {
  if (sector.length < 512 || sector[510] !== 0x55 || sector[511] !== 0xaa) return null;
  const bytesPerSector = sector.readUInt16LE(11);
  const reservedSectors = sector.readUInt16LE(14);
  const fats = sector[16]!;
  const fat16Size = sector.readUInt16LE(22);
  const fat32 = fat16Size === 0;
  const sectorsPerFat = fat32 ? sector.readUInt32LE(36) : fat16Size;
  if (![512, 1024, 2048, 4096].includes(bytesPerSector) || fats < 1 || fats > 4 || sectorsPerFat === 0 || reservedSectors === 0) return null;
  const fsInfo = fat32 ? sector.readUInt16LE(48) : 0;
  return { bytesPerSector, reservedSectors, fats, sectorsPerFat, fsInfoSector: fat32 && fsInfo > 0 && fsInfo < reservedSectors ? fsInfo : null };
}

/** Makes every FAT copy equal to the first and invalidates the FSInfo hints. Returns what it did. */
export function syncFatCopies(image: string, partitionOffset: number): { copies: number; fsInfo: boolean } {
  const fd = openSync(image, 'r+');
  try {
    const boot = Buffer.alloc(512);
    readSync(fd, boot, 0, 512, partitionOffset);
    const g = parseFatBootSector(boot);
    if (!g) throw new Error('the boot partition does not hold a FAT filesystem');
    const fatBytes = g.sectorsPerFat * g.bytesPerSector;
    const first = partitionOffset + g.reservedSectors * g.bytesPerSector;
    const chunk = Buffer.alloc(Math.min(fatBytes, 1 << 20));
    for (let copy = 1; copy < g.fats; copy++) {
      for (let pos = 0; pos < fatBytes; pos += chunk.length) {
        const n = readSync(fd, chunk, 0, Math.min(chunk.length, fatBytes - pos), first + pos);
        writeSync(fd, chunk, 0, n, first + copy * fatBytes + pos);
      }
    }
    let fsInfo = false;
    if (g.fsInfoSector !== null) {
      const at = partitionOffset + g.fsInfoSector * g.bytesPerSector;
      const s = Buffer.alloc(512);
      readSync(fd, s, 0, 512, at);
      if (s.readUInt32LE(0) === 0x41615252 && s.readUInt32LE(484) === 0x61417272) {
        s.writeUInt32LE(0xffffffff, 488); // free clusters: unknown
        s.writeUInt32LE(0xffffffff, 492); // next free: unknown
        writeSync(fd, s, 0, 512, at);
        fsInfo = true;
      }
    }
    return { copies: g.fats, fsInfo };
  } finally {
    closeSync(fd);
  }
}
