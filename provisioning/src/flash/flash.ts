// `sosna flash`: streams an image (.img, or .img.zst / .img.xz through Debian's zstd / xz, since Node 20's
// zlib has neither) onto a disk or a file, hashing what it writes; syncs; reads the target back and
// compares the sha256. An `IMAGE.sha256` file beside the image is checked too (a corrupt download fails).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, existsSync, fsyncSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { write as fsWrite } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { compressionOf } from '../image/configure.js';
import { MissingToolsError, which } from '../build/tools.js';
import type { FlashTarget } from './target.js';

export class VerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifyError';
  }
}

export interface FlashProgress {
  phase: 'write' | 'verify';
  bytes: number;
  total: number | null;
  /** Bytes per second since the phase began. */
  rate: number;
  etaSec: number | null;
}

export interface FlashResult {
  bytes: number;
  sha256: string;
  writeSeconds: number;
  verifySeconds: number;
  verified: boolean;
  /** true/false when a .sha256 file named the image; null when there was none. */
  checksumFile: boolean | null;
  format: 'raw' | 'zstd' | 'xz';
}

function readHead(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** The sha256 an `IMAGE.sha256` (sha256sum format) gives for the image, if any. */
export function expectedSha256(image: string): string | null {
  const side = `${image}.sha256`;
  if (!existsSync(side)) return null;
  for (const line of readFileSync(side, 'utf8').split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/i.exec(line.trim());
    if (m && basename(m[2]!) === basename(image)) return m[1]!.toLowerCase();
  }
  return null;
}

/** Uncompressed size: from the build manifest beside the image, or the compressor's own listing. */
export function uncompressedSize(image: string, format: 'raw' | 'zstd' | 'xz'): number | null {
  if (format === 'raw') return statSync(image).size;
  const manifest = join(dirname(image), basename(image).replace(/\.img\.(zst|xz)$/, '.manifest.json'));
  try {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { compressed?: { file?: string }; image?: { size?: number } };
    if (m.compressed?.file === basename(image) && typeof m.image?.size === 'number') return m.image.size;
  } catch {
    // no manifest: ask the tool
  }
  if (format === 'xz') {
    const r = spawnSync('xz', ['--robot', '--list', image], { encoding: 'utf8' });
    const totals = r.stdout?.split('\n').find((l) => l.startsWith('totals'));
    const n = Number(totals?.split('\t')[4]);
    return Number.isFinite(n) && n > 0 ? n : null;
  }
  const r = spawnSync('zstd', ['-lv', image], { encoding: 'utf8' });
  const m = /Decompressed Size:.*\((\d+) B\)/.exec(`${r.stdout}${r.stderr}`);
  return m ? Number(m[1]) : null;
}

interface Source {
  stream: Readable;
  format: 'raw' | 'zstd' | 'xz';
  /** Hash of the image file as stored (compressed or not), ready when the stream ends. */
  fileSha256: () => string;
  done: Promise<void>;
}

function openSource(image: string): Source {
  const c = compressionOf(readHead(image, 8));
  if (c === 'gzip') throw new Error(`${image} is gzip-compressed: use .img, .img.zst or .img.xz`);
  const fileHash = createHash('sha256');
  const file = createReadStream(image, { highWaterMark: 1 << 20 });
  file.on('data', (d) => fileHash.update(d));
  if (!c) return { stream: file, format: 'raw', fileSha256: () => fileHash.digest('hex'), done: Promise.resolve() };
  const tool = c === 'zstd' ? 'zstd' : 'xz';
  if (!which(tool)) throw new MissingToolsError([tool], [c === 'zstd' ? 'zstd' : 'xz-utils']);
  const child = spawn(tool, ['-dcq'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  file.pipe(child.stdin);
  child.stdin.on('error', () => undefined); // EPIPE when the decompressor fails; reported below
  const done = new Promise<void>((resolve, reject) =>
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${image}: ${tool} could not decompress it (exit ${code}): ${err.trim()}`)))),
  );
  done.catch(() => undefined);
  return { stream: child.stdout, format: c, fileSha256: () => fileHash.digest('hex'), done };
}

function writeAt(fd: number, buf: Buffer, len: number, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number) =>
      fsWrite(fd, buf, off, len - off, pos + off, (err, n) => {
        if (err) return reject(err);
        if (off + n < len) step(off + n);
        else resolve();
      });
    step(0);
  });
}

function progressEmitter(phase: FlashProgress['phase'], total: number | null, cb?: (p: FlashProgress) => void) {
  const t0 = Date.now();
  let last = 0;
  return (bytes: number, force = false) => {
    const now = Date.now();
    if (!cb || (!force && now - last < 250)) return;
    last = now;
    const secs = Math.max((now - t0) / 1000, 1e-3);
    const rate = bytes / secs;
    cb({ phase, bytes, total, rate, etaSec: total && rate > 0 ? Math.max(0, (total - bytes) / rate) : null });
  };
}

const CHUNK = 4 << 20;

export async function flashImage(opts: {
  image: string;
  target: FlashTarget;
  verify?: boolean;
  onProgress?: (p: FlashProgress) => void;
  /** Runs after the write and sync, before verification (tests corrupt the target here). */
  afterWrite?: (path: string) => void | Promise<void>;
}): Promise<FlashResult> {
  const { image, target } = opts;
  const src = openSource(image);
  const total = uncompressedSize(image, src.format);
  if (target.kind === 'block' && total !== null && target.sizeBytes !== null && total > target.sizeBytes) {
    src.stream.destroy();
    throw new Error(`the image (${total} bytes) does not fit on ${target.path} (${target.sizeBytes} bytes)`);
  }
  // O_EXCL on a block device: the kernel refuses (EBUSY) if anything has it mounted or claimed
  const fd = target.kind === 'block' ? openSync(target.path, constants.O_WRONLY | constants.O_EXCL) : openSync(target.path, 'w', 0o644);
  const hash = createHash('sha256');
  const tick = progressEmitter('write', total, opts.onProgress);
  const t0 = Date.now();
  let bytes = 0;
  try {
    let buf = Buffer.allocUnsafe(CHUNK);
    let fill = 0;
    for await (const piece of src.stream as AsyncIterable<Buffer>) {
      for (let off = 0; off < piece.length; ) {
        const n = Math.min(piece.length - off, CHUNK - fill);
        piece.copy(buf, fill, off, off + n);
        fill += n;
        off += n;
        if (fill === CHUNK) {
          hash.update(buf);
          await writeAt(fd, buf, fill, bytes);
          bytes += fill;
          fill = 0;
          buf = Buffer.allocUnsafe(CHUNK);
          tick(bytes);
        }
      }
    }
    if (fill > 0) {
      hash.update(buf.subarray(0, fill));
      await writeAt(fd, buf, fill, bytes);
      bytes += fill;
    }
    await src.done;
    fsyncSync(fd);
    tick(bytes, true);
  } finally {
    closeSync(fd);
  }
  const writeSeconds = (Date.now() - t0) / 1000;
  const sha256 = hash.digest('hex');
  const fileSha = src.fileSha256();
  const expected = expectedSha256(image);
  if (expected && expected !== fileSha) throw new VerifyError(`${image} does not match ${basename(image)}.sha256 (got ${fileSha}): the download is corrupt; the target holds a bad copy`);

  if (opts.afterWrite) await opts.afterWrite(target.path);
  if (opts.verify === false) return { bytes, sha256, writeSeconds, verifySeconds: 0, verified: false, checksumFile: expected ? true : null, format: src.format };

  // read back what the device holds, not the page cache of what was just written
  if (target.kind === 'block' && which('blockdev')) spawnSync('blockdev', ['--flushbufs', target.path]);
  const t1 = Date.now();
  const vtick = progressEmitter('verify', bytes, opts.onProgress);
  const back = createHash('sha256');
  const rfd = openSync(target.path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < bytes; ) {
      const n = readSync(rfd, buf, 0, Math.min(CHUNK, bytes - pos), pos);
      if (n <= 0) throw new VerifyError(`verification failed: ${target.path} ends after ${pos} of ${bytes} bytes`);
      back.update(buf.subarray(0, n));
      pos += n;
      vtick(pos);
    }
    vtick(bytes, true);
  } finally {
    closeSync(rfd);
  }
  const got = back.digest('hex');
  if (got !== sha256) throw new VerifyError(`verification failed: ${target.path} reads back with sha256 ${got}, the image is ${sha256}; the medium may be failing, flash again or use another one`);
  return { bytes, sha256, writeSeconds, verifySeconds: (Date.now() - t1) / 1000, verified: true, checksumFile: expected ? true : null, format: src.format };
}

/** `  123.4/258.0 MiB  47%  85.3 MB/s  ETA 2s` */
export function formatProgress(p: FlashProgress): string {
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  const pct = p.total ? ` ${String(Math.floor((100 * p.bytes) / p.total)).padStart(3)}%` : '';
  const eta = p.etaSec === null ? '' : `  ETA ${p.etaSec < 60 ? `${Math.ceil(p.etaSec)}s` : `${Math.floor(p.etaSec / 60)}m${String(Math.ceil(p.etaSec % 60)).padStart(2, '0')}s`}`;
  return `${p.phase === 'write' ? 'writing  ' : 'verifying'} ${mib(p.bytes)}${p.total ? `/${mib(p.total)}` : ''} MiB${pct}  ${(p.rate / 1e6).toFixed(1)} MB/s${eta}`;
}
