// The digest of a declared output path, from the tar archive the engine returns for it
// (GET /containers/{id}/archive). Pure. One regular file: sha256 of its bytes (the same as
// `sha256sum FILE`). A directory: sha256 over its regular files in name order, each as
// `relative name NUL size NUL bytes`, so that names and contents both count.
import { createHash } from 'node:crypto';

export interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'other';
  data: Buffer;
}

function field(block: Buffer, start: number, len: number): string {
  const raw = block.subarray(start, start + len);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
}

function octal(block: Buffer, start: number, len: number): number {
  const text = field(block, start, len).trim();
  const n = text === '' ? 0 : parseInt(text, 8);
  if (!Number.isFinite(n) || n < 0) throw new Error('tar: bad size field');
  return n;
}

/** Reads a ustar/GNU archive held in memory (PAX and GNU long names included). */
export function readTar(archive: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  let longName: string | null = null;
  let paxPath: string | null = null;
  while (off + 512 <= archive.length) {
    const block = archive.subarray(off, off + 512);
    if (block.every((b) => b === 0)) break;
    const size = octal(block, 124, 12);
    const flag = String.fromCharCode(block[156] || 48);
    const prefix = field(block, 257, 6).startsWith('ustar') ? field(block, 345, 155) : '';
    const data = archive.subarray(off + 512, off + 512 + size);
    if (data.length < size) throw new Error('tar: truncated archive');
    off += 512 + Math.ceil(size / 512) * 512;
    if (flag === 'L') {
      longName = data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (flag === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      paxPath = m ? m[1]! : null;
      continue;
    }
    if (flag === 'g') continue;
    const name = paxPath ?? longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    longName = null;
    paxPath = null;
    const type = flag === '0' || flag === '\0' || flag === '7' ? 'file' : flag === '5' ? 'dir' : 'other';
    out.push({ name, type, data: Buffer.from(data) });
  }
  return out;
}

export function digestTar(archive: Buffer): string {
  const files = readTar(archive).filter((e) => e.type === 'file');
  const all = readTar(archive);
  if (files.length === 1 && all.length === 1) return `sha256:${createHash('sha256').update(files[0]!.data).digest('hex')}`;
  const root = all[0]?.name.replace(/\/$/, '') ?? '';
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const rel = f.name.startsWith(`${root}/`) ? f.name.slice(root.length + 1) : f.name;
    h.update(rel).update('\0').update(String(f.data.length)).update('\0').update(f.data);
  }
  return `sha256:${h.digest('hex')}`;
}
