// Mounts that an image build leaves below its work folder (debootstrap mounts /proc, /sys, /dev/pts in the
// rootfs): unmounted on every path, a signal included, and those of an earlier build that was killed are
// cleaned up when the next build starts (else `rm -rf` fails with EBUSY and a GB stays in the temp folder).
// The planning is pure (mount table text in, what to unmount and remove out); the I/O is passed in.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The file in a build's work folder naming the process that owns it. */
export const OWNER_FILE = '.owner-pid';
/** A build's work folder: `<out>/.build-<variant>-<arch>-XXXXXX` (mkdtemp). */
const BUILD_DIR = /^(.*\/\.build-[a-z]+-[a-z0-9_]+-[A-Za-z0-9]{6})(?:\/|$)/;

/** Mount points from /proc/self/mountinfo text (field 5, octal escapes such as \040 decoded). */
export function parseMountinfo(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5 || !f[4]) continue;
    out.push(f[4].replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

const depth = (p: string) => p.split('/').filter(Boolean).length;
const below = (p: string, root: string) => p === root || p.startsWith(root.endsWith('/') ? root : `${root}/`);

/** The mounts at or below `root`, deepest first (a mount inside another goes before it); each once. */
export function planUnmounts(mountPoints: readonly string[], root: string): string[] {
  const r = root.replace(/\/+$/, '');
  return [...new Set(mountPoints.filter((m) => below(m, r)))].sort((a, b) => depth(b) - depth(a) || b.length - a.length);
}

/**
 * Leftovers of killed builds: the work folders in the mount table (anywhere) or in `outDir` whose owner is
 * not running (`isStale`), the mounts below them to unmount (deepest first), then the folders to remove.
 */
export function planLeftoverCleanup(mountPoints: readonly string[], outDirEntries: readonly string[], isStale: (buildDir: string) => boolean): { unmount: string[]; remove: string[] } {
  const dirs = new Set<string>();
  for (const p of [...mountPoints, ...outDirEntries]) {
    const m = BUILD_DIR.exec(p);
    if (m) dirs.add(m[1]!);
  }
  const remove = [...dirs].filter((d) => isStale(d)).sort();
  const unmount = remove.flatMap((d) => planUnmounts(mountPoints, d));
  return { unmount: [...new Set(unmount)].sort((a, b) => depth(b) - depth(a) || b.length - a.length), remove };
}

export interface MountIo {
  mountinfo(): string;
  /** Unmounts one mount point (synchronously: also used in a signal handler). */
  umount(path: string): void;
  alive(pid: number): boolean;
}

export const systemMountIo: MountIo = {
  mountinfo: () => (existsSync('/proc/self/mountinfo') ? readFileSync('/proc/self/mountinfo', 'utf8') : ''),
  umount: (path) => {
    try {
      execFileSync('umount', [path], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', path], { stdio: 'ignore' }); // busy: detach now, freed when the last user goes
    }
  },
  alive: (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
};

/** Marks `work` as this process's build (so that a later build can tell a killed one from a running one). */
export function claimWorkDir(work: string): void {
  writeFileSync(join(work, OWNER_FILE), String(process.pid));
}

/**
 * A work folder is stale when its owner file names a process that is not running. Without an owner file (a
 * build of an older version, or one that has not written it yet) only one in this build's own output folder
 * (`ownOutDir`) that is over an hour old: elsewhere on the machine it may be a running build's.
 */
export function isStaleWorkDir(dir: string, io: Pick<MountIo, 'alive'> = systemMountIo, ownOutDir = false, now = Date.now()): boolean {
  let text: string;
  try {
    text = readFileSync(join(dir, OWNER_FILE), 'utf8');
  } catch {
    if (!ownOutDir) return false;
    try {
      return now - statSync(dir).mtimeMs > 60 * 60_000;
    } catch {
      return false; // gone already
    }
  }
  const pid = Number(text.trim());
  if (pid === process.pid) return false;
  return !(pid > 0 && io.alive(pid));
}

/** Removes `dir` unless something is still mounted below it (rm would reach into that file system). */
export function removeUnmounted(dir: string, io: Pick<MountIo, 'mountinfo'> = systemMountIo): boolean {
  const still = planUnmounts(parseMountinfo(io.mountinfo()), dir);
  if (still.length) return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}

/** Unmounts everything below `dir`, deepest first; errors are collected, not thrown. Synchronous. */
export function unmountBelowSync(dir: string, io: MountIo = systemMountIo): string[] {
  const errors: string[] = [];
  for (const m of planUnmounts(parseMountinfo(io.mountinfo()), dir)) {
    try {
      io.umount(m);
    } catch (err) {
      errors.push(`${m}: ${(err as Error).message}`);
    }
  }
  return errors;
}

/** Unmounts and removes the work folders of earlier builds that were killed. Returns what it removed. */
export function cleanLeftoverBuilds(outDirEntries: readonly string[], io: MountIo = systemMountIo): string[] {
  const own = new Set(outDirEntries);
  const plan = planLeftoverCleanup(parseMountinfo(io.mountinfo()), outDirEntries, (d) => isStaleWorkDir(d, io, own.has(d)));
  for (const m of plan.unmount) {
    try {
      io.umount(m);
    } catch {
      // removal below fails for what stays mounted; reported there
    }
  }
  const removed: string[] = [];
  for (const d of plan.remove) {
    try {
      if (removeUnmounted(d, io)) removed.push(d);
    } catch {
      // still busy: the next build tries again
    }
  }
  return removed;
}
