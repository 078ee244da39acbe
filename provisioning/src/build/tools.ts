// Host tools the image build runs, with the Debian package that provides each: a missing tool stops the
// build before any work, with the exact `apt-get install` line that fixes it.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const TOOL_PACKAGES: Record<string, string> = {
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'dpkg-deb': 'dpkg',
  sfdisk: 'fdisk',
  'mkfs.vfat': 'dosfstools',
  mcopy: 'mtools',
  mmd: 'mtools',
  zstd: 'zstd',
  xz: 'xz-utils',
  ldd: 'libc-bin',
  'grub-mkstandalone': 'grub-common',
  'grub-mkimage': 'grub-common',
  // files, not commands (an absolute path is checked for existence): GRUB's platform folders
  '/usr/lib/grub/i386-pc/boot.img': 'grub-pc-bin',
  '/usr/lib/grub/x86_64-efi/kernel.img': 'grub-efi-amd64-bin',
  debootstrap: 'debootstrap',
  'mkfs.ext4': 'e2fsprogs',
  'qemu-system-x86_64': 'qemu-system-x86',
  npm: 'npm',
  tar: 'tar',
  '/usr/lib/grub/arm64-efi/kernel.img': 'grub-efi-arm64-bin',
  'qemu-system-aarch64': 'qemu-system-arm',
  '/usr/share/AAVMF/AAVMF_CODE.fd': 'qemu-efi-aarch64',
  'qemu-aarch64-static': 'qemu-user-static',
  chroot: 'coreutils',
  du: 'coreutils',
  umount: 'mount',
};

export class MissingToolsError extends Error {
  constructor(readonly tools: string[], readonly packages: string[]) {
    super(
      `missing host tool${tools.length > 1 ? 's' : ''}: ${tools.join(', ')}\n` +
        `install with: sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`,
    );
    this.name = 'MissingToolsError';
  }
}

const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of a command on PATH (or the sbin folders, which a user's PATH may lack); null if absent. */
export function which(cmd: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of [...path.split(delimiter).filter(Boolean), ...SEARCH]) {
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

/** Throws MissingToolsError naming every missing tool and one apt-get line for all of them. */
export function requireTools(tools: string[], find: (cmd: string) => string | null = (c) => (c.startsWith('/') ? (existsSync(c) ? c : null) : which(c))): Record<string, string> {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const t of tools) {
    const p = find(t);
    if (p) found[t] = p;
    else missing.push(t);
  }
  if (missing.length) throw new MissingToolsError(missing, [...new Set(missing.map((t) => TOOL_PACKAGES[t] ?? t))].sort());
  return found;
}

/** Runs a tool to completion; rejects with its stderr tail and the command line. */
export function run(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.once('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}): ${err.trim().split('\n').slice(-5).join('\n')}`));
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // a tool that exits without reading its input: its exit code tells
      child.stdin.end(opts.input);
    }
  });
}

/** Shared libraries a dynamically linked binary loads, from `ldd` output; [] for a static binary. */
export function parseLdd(text: string): string[] {
  const libs: string[] = [];
  for (const line of text.split('\n')) {
    const arrow = /=>\s+(\/\S+)\s+\(/.exec(line);
    const direct = /^\s*(\/\S+)\s+\(/.exec(line);
    const p = arrow?.[1] ?? direct?.[1];
    if (p) libs.push(p);
  }
  return libs;
}

export function lddLibs(binary: string): string[] {
  const r = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (r.status !== 0) return []; // "not a dynamic executable"
  return parseLdd(r.stdout);
}
