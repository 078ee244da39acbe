// The initramfs archive: cpio "newc" (the format the kernel unpacks), written in JS so the build needs no
// root for ownership and modes, and the entries come out in a fixed order (reproducible).
import { closeSync, lstatSync, openSync, readlinkSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';

export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  name: string;
  kind: 'dir' | 'file' | 'symlink' | 'chardev';
  mode: number;
  /** File contents come from this host path; a symlink's target or inline data may be given instead. */
  source?: string;
  data?: Buffer;
  target?: string;
  mtime?: number;
  /** Device numbers of a character device (e.g. /dev/console is 5:1). */
  major?: number;
  minor?: number;
}

const TYPE = { dir: 0o040000, file: 0o100000, symlink: 0o120000, chardev: 0o020000 } as const;
const hex = (n: number) => n.toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** The 110-byte newc header plus the NUL-terminated, padded name. */
export function newcHeader(ino: number, e: { name: string; mode: number; size: number; nlink: number; mtime: number; rdev?: [number, number] }): Buffer {
  const name = Buffer.from(`${e.name}\0`);
  const fields = [ino, e.mode, 0, 0, e.nlink, e.mtime, e.size, 0, 0, e.rdev?.[0] ?? 0, e.rdev?.[1] ?? 0, name.length, 0];
  const head = Buffer.from(`070701${fields.map(hex).join('')}`, 'latin1');
  return Buffer.concat([head, name, Buffer.alloc(pad4(head.length + name.length))]);
}

async function write(out: Writable, chunk: Buffer): Promise<void> {
  if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
}

/** Streams the entries (and the trailer) to `out`; file data is read in 1 MiB pieces. */
export async function writeCpio(entries: CpioEntry[], out: Writable, mtime = 0): Promise<void> {
  let ino = 1;
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const e of entries) {
    const t = e.mtime ?? mtime;
    if (e.kind === 'dir') {
      await write(out, newcHeader(ino++, { name: e.name, mode: TYPE.dir | e.mode, size: 0, nlink: 2, mtime: t }));
      continue;
    }
    if (e.kind === 'chardev') {
      await write(out, newcHeader(ino++, { name: e.name, mode: TYPE.chardev | e.mode, size: 0, nlink: 1, mtime: t, rdev: [e.major ?? 0, e.minor ?? 0] }));
      continue;
    }
    if (e.kind === 'symlink') {
      const target = Buffer.from(e.target ?? '');
      await write(out, newcHeader(ino++, { name: e.name, mode: TYPE.symlink | 0o777, size: target.length, nlink: 1, mtime: t }));
      await write(out, Buffer.concat([target, Buffer.alloc(pad4(target.length))]));
      continue;
    }
    if (e.data) {
      await write(out, newcHeader(ino++, { name: e.name, mode: TYPE.file | e.mode, size: e.data.length, nlink: 1, mtime: t }));
      await write(out, Buffer.concat([e.data, Buffer.alloc(pad4(e.data.length))]));
      continue;
    }
    const size = lstatSync(e.source!).size;
    await write(out, newcHeader(ino++, { name: e.name, mode: TYPE.file | e.mode, size, nlink: 1, mtime: t }));
    const fd = openSync(e.source!, 'r');
    try {
      for (let pos = 0; pos < size; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
        if (n <= 0) throw new Error(`${e.source}: file shrank while archiving`);
        await write(out, Buffer.from(buf.subarray(0, n)));
        pos += n;
      }
    } finally {
      closeSync(fd);
    }
    await write(out, Buffer.alloc(pad4(size)));
  }
  await write(out, newcHeader(0, { name: 'TRAILER!!!', mode: 0, size: 0, nlink: 1, mtime: 0 }));
}

/** Entries for a host folder tree (sorted, parents first), placed under `prefix` in the archive. */
export function treeEntries(dir: string, prefix: string): CpioEntry[] {
  const out: CpioEntry[] = [];
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const p = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out.push({ name: r, kind: 'symlink', mode: 0o777, target: readlinkSync(p) });
      else if (st.isDirectory()) {
        out.push({ name: r, kind: 'dir', mode: st.mode & 0o7777 });
        walk(p, r);
      } else if (st.isFile()) out.push({ name: r, kind: 'file', mode: st.mode & 0o7777, source: p });
    }
  };
  walk(dir, prefix);
  return out;
}
