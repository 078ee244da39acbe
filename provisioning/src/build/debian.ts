// Debian packages for the image, without installing them on the build host: `apt-get download` into a
// cache folder, `dpkg-deb -x` into a folder per package version (kept, so a second build is fast).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './tools.js';

export interface DebPackage {
  name: string;
  version: string;
  deb: string;
  /** Folder the package was unpacked into. */
  root: string;
}

/** The versioned package a metapackage points at (linux-image-amd64 -> linux-image-6.1.0-56-amd64). */
export async function resolveMeta(meta: string, pattern: RegExp): Promise<string> {
  let out: string;
  try {
    out = await run('apt-cache', ['depends', meta]);
  } catch (err) {
    throw new Error(`apt-cache knows no package ${meta}: run 'apt-get update' first (${(err as Error).message})`);
  }
  const dep = out.split('\n').map((l) => /Depends:\s+(\S+)/.exec(l)?.[1]).find((n): n is string => !!n && pattern.test(n));
  if (!dep) throw new Error(`${meta} depends on no package like ${pattern}: run 'apt-get update' first`);
  return dep;
}

/**
 * Downloads (unless cached) and unpacks one package; `arch` other than the host's needs that arch in apt.
 * `aptOptions` (-o ...) point apt-cache/apt-get at another sources list (raspi-firmware: non-free-firmware).
 */
export async function fetchDeb(name: string, cacheDir: string, arch?: string, aptOptions: string[] = []): Promise<DebPackage> {
  const debs = join(cacheDir, 'debs');
  mkdirSync(debs, { recursive: true });
  const spec = arch ? `${name}:${arch}` : name;
  const version = (await run('apt-cache', [...aptOptions, 'policy', spec]).catch(() => '')).match(/Candidate:\s+(\S+)/)?.[1];
  if (!version || version === '(none)') throw new Error(`Debian package ${spec} is unknown to apt here: run 'apt-get update' first`);
  const fileVersion = version.replace(/:/g, '%3a');
  const find = () => readdirSync(debs).find((f) => f.startsWith(`${name}_${fileVersion}_`) && f.endsWith(arch ? `_${arch}.deb` : '.deb'));
  let deb = find();
  if (!deb) {
    await run('apt-get', [...aptOptions, 'download', '-q', `${spec}=${version}`], { cwd: debs });
    deb = find();
    if (!deb) throw new Error(`apt-get download ${spec}=${version} left no .deb in ${debs}`);
  }
  const root = join(cacheDir, 'unpacked', `${name}_${fileVersion}${arch ? `_${arch}` : ''}`);
  if (!existsSync(join(root, '.unpacked'))) {
    const tmp = `${root}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await run('dpkg-deb', ['-x', join(debs, deb), tmp]);
    writeFileSync(join(tmp, '.unpacked'), `${name} ${version}\n`);
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
  }
  return { name, version, deb: join(debs, deb), root };
}
