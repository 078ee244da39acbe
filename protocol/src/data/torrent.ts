// Torrent metadata (BEP 3) for a file or a folder: the files in a fixed order (sorted by path), a fixed
// piece length and no creation date in the info dictionary, so that the same bytes always give the same
// info hash. That info hash is what a job's input is named by and what replicas' outputs are compared by.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat, open, readdir } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { bdecode, bencode } from './bencode.js';
import type { Bencodable } from './bencode.js';

/**
 * The piece length for `bytes` of data: the smallest power of two from 256 KiB to 4 MiB that makes at most
 * 1024 pieces (a 1 GiB input: 1 MiB pieces), as common clients choose. Blocks travel in 16 KiB requests
 * whatever the piece length; the number of pieces is what costs: every piece is a hash, a `have` to every
 * peer, and an entry each fetcher scans when it picks what to ask for next. It depends only on the size,
 * so the same bytes still give the same info hash.
 */
export function pieceLengthFor(bytes: number): number {
  let len = 256 * 1024;
  while (len < 4 * 1024 * 1024 && bytes / len > 1024) len *= 2;
  return len;
}

/** A path that cannot be packed: `path` and `reason` say which and why. */
export class DataPathError extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: ${reason}`);
  }
}

export interface DataFile {
  /** Path below the root, with / separators (the root's own name for a single file). */
  rel: string;
  abs: string;
  length: number;
}

export interface TorrentMeta {
  /** 40 lowercase hex digits: sha1 of the bencoded info dictionary. */
  infoHash: string;
  /** The whole .torrent (bencoded; no announce list: peers come from the hub). */
  torrent: Buffer;
  name: string;
  length: number;
  files: DataFile[];
  pieceLength: number;
}

const why = (err: unknown): string => {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'is not readable (permission denied)';
  if (code === 'ELOOP') return 'is a symbolic link loop';
  return (err as Error).message;
};

/** The regular files under `root` (or root itself), sorted; every one checked readable. Symlinks are refused. */
export async function listFiles(root: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<DataFile[]> {
  let st;
  try {
    st = await lstat(root);
  } catch (err) {
    throw new DataPathError(root, why(err));
  }
  const files: DataFile[] = [];
  let total = 0;
  const add = async (abs: string, rel: string, length: number) => {
    try {
      await access(abs, constants.R_OK);
      (await open(abs, 'r')).close();
    } catch (err) {
      throw new DataPathError(abs, why(err));
    }
    total += length;
    if (total > maxBytes) throw new DataPathError(root, `is larger than the limit of ${maxBytes} bytes`);
    files.push({ abs, rel, length });
  };
  if (st.isFile()) {
    await add(root, basename(root), st.size);
    return files;
  }
  if (!st.isDirectory()) throw new DataPathError(root, 'is neither a regular file nor a folder');
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (err) {
      throw new DataPathError(dir, why(err));
    }
    for (const n of names) {
      const abs = join(dir, n);
      const s = await lstat(abs).catch((err: unknown) => {
        throw new DataPathError(abs, why(err));
      });
      if (s.isDirectory()) await walk(abs);
      else if (s.isFile()) await add(abs, relative(root, abs).split(sep).join('/'), s.size);
      else throw new DataPathError(abs, 'is not a regular file or a folder (symbolic links and devices are not packed)');
    }
  };
  await walk(root);
  // sorting each folder's names is not a sort of whole paths ("a/b" vs "a-c"): sort the paths themselves
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  if (files.length === 0) throw new DataPathError(root, 'holds no files');
  return files;
}

/** Makes the torrent of `root` (a file or a folder). `name` replaces the root's own name (outputs: "output"). */
export async function makeTorrent(root: string, opts: { name?: string; pieceLength?: number; maxBytes?: number } = {}): Promise<TorrentMeta> {
  const files = await listFiles(root, opts.maxBytes);
  const pieceLength = opts.pieceLength ?? pieceLengthFor(files.reduce((n, f) => n + f.length, 0));
  const single = files.length === 1 && files[0]!.rel === basename(root);
  const name = opts.name ?? basename(root);
  const hashes: Buffer[] = [];
  const piece = Buffer.alloc(pieceLength);
  let fill = 0;
  let length = 0;
  for (const f of files) {
    const fh = await open(f.abs, 'r').catch((err: unknown) => {
      throw new DataPathError(f.abs, why(err));
    });
    try {
      for (;;) {
        const { bytesRead } = await fh.read(piece, fill, pieceLength - fill, null);
        if (bytesRead === 0) break;
        fill += bytesRead;
        length += bytesRead;
        if (fill === pieceLength) {
          hashes.push(createHash('sha1').update(piece).digest());
          fill = 0;
        }
      }
    } finally {
      await fh.close();
    }
  }
  if (fill > 0) hashes.push(createHash('sha1').update(piece.subarray(0, fill)).digest());
  const info: Bencodable = single
    ? { length, name, 'piece length': pieceLength, pieces: Buffer.concat(hashes) }
    : { files: files.map((f) => ({ length: f.length, path: f.rel.split('/') })), name, 'piece length': pieceLength, pieces: Buffer.concat(hashes) };
  const infoBuf = bencode(info);
  const infoHash = createHash('sha1').update(infoBuf).digest('hex');
  const torrent = Buffer.concat([Buffer.from('d4:info'), infoBuf, Buffer.from('e')]);
  return { infoHash, torrent, name, length, files, pieceLength };
}

/** The total size of the files a .torrent describes (its info dictionary's `length`, or its files' sum). */
export function torrentLength(torrent: Buffer): number {
  const meta = bdecode(torrent) as { info?: { length?: unknown; files?: { length?: unknown }[] } };
  const info = meta.info;
  if (!info || typeof info !== 'object') throw new Error('the torrent has no info dictionary');
  if (typeof info.length === 'number') return info.length;
  if (!Array.isArray(info.files)) throw new Error('the torrent names no length and no files');
  return info.files.reduce((n, f) => (typeof f.length === 'number' ? n + f.length : Number.NaN), 0);
}
