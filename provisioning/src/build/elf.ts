// What a dynamically linked ELF binary needs, read from the file itself (never by running it): its machine,
// its program interpreter (PT_INTERP) and the shared libraries it names (DT_NEEDED). This is how the arm64
// image finds Node's libraries on an x86_64 build host, where `ldd` cannot run an arm64 binary.
import { closeSync, openSync, readSync } from 'node:fs';

export const ELF_MACHINE = { x86_64: 62, aarch64: 183 } as const;

export interface ElfInfo {
  machine: number;
  /** PT_INTERP (e.g. /lib/ld-linux-aarch64.so.1); null for a static binary. */
  interp: string | null;
  /** DT_NEEDED sonames in file order. */
  needed: string[];
  soname: string | null;
}

/** Reads `length` bytes at `offset` of the file (fewer at its end). */
export type ElfReader = (offset: number, length: number) => Buffer;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_SONAME = 14n;

/** Parses a 64-bit little-endian ELF file (x86_64, aarch64); throws naming `what` for anything else. */
export function parseElf(read: ElfReader, what = 'file'): ElfInfo {
  const h = read(0, 64);
  if (h.length < 64 || h.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${what} is not an ELF file`);
  if (h[4] !== 2 || h[5] !== 1) throw new Error(`${what}: only 64-bit little-endian ELF is supported (class ${h[4]}, data ${h[5]})`);
  const machine = h.readUInt16LE(18);
  const phoff = Number(h.readBigUInt64LE(32));
  const phentsize = h.readUInt16LE(54);
  const phnum = h.readUInt16LE(56);
  const ph = read(phoff, phentsize * phnum);
  const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
  let interp: string | null = null;
  let dynamic: { offset: number; size: number } | null = null;
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize;
    const type = ph.readUInt32LE(at);
    const offset = ph.readBigUInt64LE(at + 8);
    const vaddr = ph.readBigUInt64LE(at + 16);
    const filesz = ph.readBigUInt64LE(at + 32);
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    else if (type === PT_INTERP) interp = cString(read(Number(offset), Number(filesz)), 0);
    else if (type === PT_DYNAMIC) dynamic = { offset: Number(offset), size: Number(filesz) };
  }
  if (!dynamic) return { machine, interp, needed: [], soname: null };
  const dyn = read(dynamic.offset, dynamic.size);
  const neededAt: bigint[] = [];
  let sonameAt: bigint | null = null;
  let strtab: bigint | null = null;
  for (let at = 0; at + 16 <= dyn.length; at += 16) {
    const tag = dyn.readBigInt64LE(at);
    const val = dyn.readBigUInt64LE(at + 8);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) neededAt.push(val);
    else if (tag === DT_STRTAB) strtab = val;
    else if (tag === DT_SONAME) sonameAt = val;
  }
  if (strtab === null) throw new Error(`${what}: dynamic section without DT_STRTAB`);
  const seg = loads.find((l) => strtab! >= l.vaddr && strtab! < l.vaddr + l.filesz);
  if (!seg) throw new Error(`${what}: DT_STRTAB 0x${strtab.toString(16)} lies in no PT_LOAD segment`);
  const strOff = Number(strtab - seg.vaddr + seg.offset);
  const str = (off: bigint) => cString(read(strOff + Number(off), 4096), 0);
  return { machine, interp, needed: neededAt.map(str), soname: sonameAt === null ? null : str(sonameAt) };
}

function cString(buf: Buffer, at: number): string {
  const end = buf.indexOf(0, at);
  return buf.subarray(at, end < 0 ? buf.length : end).toString('latin1');
}

/** parseElf over a file on disk (reads only the headers and the dynamic section). */
export function readElf(file: string): ElfInfo {
  const fd = openSync(file, 'r');
  try {
    return parseElf((offset, length) => {
      const buf = Buffer.alloc(length);
      const n = readSync(fd, buf, 0, length, offset);
      return buf.subarray(0, n);
    }, file);
  } finally {
    closeSync(fd);
  }
}

/**
 * The shared libraries a binary loads, transitively, resolved by soname in `find` (which looks in the
 * unpacked Debian packages of the target architecture). Throws naming every soname that nothing provides.
 */
export function resolveNeeded(root: ElfInfo, find: (soname: string) => { path: string; info: ElfInfo } | null): { soname: string; path: string }[] {
  const out: { soname: string; path: string }[] = [];
  const seen = new Set<string>();
  const missing: string[] = [];
  const queue = [...root.needed];
  while (queue.length) {
    const so = queue.shift()!;
    if (seen.has(so)) continue;
    seen.add(so);
    const hit = find(so);
    if (!hit) {
      missing.push(so);
      continue;
    }
    out.push({ soname: so, path: hit.path });
    queue.push(...hit.info.needed);
  }
  if (missing.length) throw new Error(`no package provides ${missing.join(', ')} (needed by the binary)`);
  return out;
}
