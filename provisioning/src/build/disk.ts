// Disk image assembly: a FAT filesystem image (mkfs.vfat + mtools, no mount, no root), a GPT laid out
// with sfdisk on a plain file, and filesystem images copied in at their partitions' offsets (zero
// blocks skipped, so the file stays sparse).
import { closeSync, openSync, readSync, ftruncateSync, writeSync, rmSync } from 'node:fs';
import { posix } from 'node:path';
import { run } from './tools.js';
import type { DiskLayout, LayoutPartition } from './types.js';

const SECTOR = 512;
const ALIGN = 2048; // 1 MiB

export interface PartitionSpec {
  name: string;
  type: string;
  sizeBytes: number;
  /** Partition GUID (for root=PARTUUID=...); random when absent. */
  uuid?: string;
}

/** Partitions back to back from sector 2048, each 1 MiB aligned, and 1 MiB at the end for the backup GPT. */
export function planLayout(parts: PartitionSpec[]): DiskLayout {
  let next = ALIGN;
  const partitions: LayoutPartition[] = parts.map((p, i) => {
    const sectors = Math.ceil(p.sizeBytes / SECTOR / ALIGN) * ALIGN;
    const lp: LayoutPartition = { index: i + 1, name: p.name, type: p.type, startSector: next, sectors, ...(p.uuid ? { uuid: p.uuid } : {}) };
    next += sectors;
    return lp;
  });
  return { sectorSize: SECTOR, totalSectors: next + ALIGN, partitions };
}

/** The sfdisk script for a layout. */
export function sfdiskScript(layout: DiskLayout): string {
  const lines = ['label: gpt', `first-lba: ${ALIGN}`, `last-lba: ${layout.totalSectors - 34}`];
  for (const p of layout.partitions) lines.push(`start=${p.startSector}, size=${p.sectors}, type=${p.type}, name="${p.name}"${p.uuid ? `, uuid=${p.uuid}` : ''}`);
  return lines.join('\n') + '\n';
}

const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1', MTOOLS_NO_VFAT: '0' };

/** A FAT32 filesystem image holding `files` (host path -> absolute path on the filesystem). */
export async function makeFat(file: string, sizeBytes: number, label: string, files: { from: string; to: string }[], dirs: string[] = []): Promise<void> {
  rmSync(file, { force: true });
  await run('mkfs.vfat', ['-F', '32', '-n', label, '-C', file, String(Math.floor(sizeBytes / 1024))]);
  const all = new Set<string>();
  for (const d of [...dirs, ...files.map((f) => posix.dirname(f.to))]) {
    for (let p = d; p !== '/' && p !== '.'; p = posix.dirname(p)) all.add(p);
  }
  const sorted = [...all].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  if (sorted.length) await run('mmd', ['-i', file, ...sorted.map((d) => `::${d}`)], { env: mtoolsEnv });
  for (const f of files) await run('mcopy', ['-i', file, '-o', f.from, `::${f.to}`], { env: mtoolsEnv });
}

/** Copies `file` into `image` at `offset`, leaving holes where the source has zero blocks. */
export function copyInto(image: string, offset: number, file: string): void {
  const src = openSync(file, 'r');
  const dst = openSync(image, 'r+');
  const buf = Buffer.alloc(1 << 20);
  try {
    for (let pos = 0; ; ) {
      const n = readSync(src, buf, 0, buf.length, pos);
      if (n <= 0) break;
      let zero = true;
      for (let i = 0; i < n; i += 8) {
        if (buf.readBigUInt64LE(Math.min(i, n - 8)) !== 0n) {
          zero = false;
          break;
        }
      }
      if (!zero) writeSync(dst, buf, 0, n, offset + pos);
      pos += n;
    }
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

/** Creates the sparse image file, writes its GPT with sfdisk and copies the filesystem images in. */
export async function assembleDisk(image: string, layout: DiskLayout, files: Record<string, string | undefined>): Promise<void> {
  rmSync(image, { force: true });
  const fd = openSync(image, 'w');
  ftruncateSync(fd, layout.totalSectors * SECTOR);
  closeSync(fd);
  await run('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', image], { input: sfdiskScript(layout) });
  for (const p of layout.partitions) {
    const f = files[p.name];
    if (f) copyInto(image, p.startSector * SECTOR, f);
  }
}
