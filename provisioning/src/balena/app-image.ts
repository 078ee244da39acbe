// The balenaOS fleet app's container image, made offline (no registry needed): a base root filesystem
// with Node (this machine's node binary from its Debian package, the shared libraries it links, coreutils'
// env for the bundle's `#!/usr/bin/env -S node ...` line, busybox-static for a shell) as a tar for
// `docker import`, and the app's build context (os-image/balena: Dockerfile.template rendered for the
// architecture, docker-compose.yml, the one-file agent bundle). `docker build --build-arg BASE=<imported>`
// on that context is the same recipe `balena push` runs with balenalib's Node image as BASE.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** balena's architecture names (%%BALENA_ARCH%%) for Node's process.arch. */
const BALENA_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'aarch64' };

export class BalenaAppError extends Error {}

/** The shared objects an `ldd` listing names (absolute paths; the vDSO has none). Pure. */
export function lddPaths(output: string): string[] {
  const out = new Set<string>();
  for (const line of output.split('\n')) {
    const m = /=>\s*(\/\S+)\s+\(/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) out.add(m[1]!);
  }
  return [...out];
}

/** Dockerfile.template as balena's builder renders it for an architecture. Pure. */
export function renderTemplate(template: string, arch: string): string {
  return template.replaceAll('%%BALENA_ARCH%%', arch);
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new BalenaAppError(`${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout || `exit ${r.status}`).trim()}`);
  return r.stdout;
}

/** Copies a file (following links) to the same path under root. */
function copyInto(root: string, path: string, mode?: number): void {
  const dest = join(root, path);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(realpathSync(path), dest);
  if (mode !== undefined) chmodSync(dest, mode);
}

export interface BalenaAppOptions {
  /** os-image/balena: Dockerfile.template, docker-compose.yml. */
  appDir: string;
  /** The single-file agent (agent/dist/sosna-agent.mjs). */
  bundle: string;
  /** Output folder: base-rootfs.tar and context/. */
  out: string;
  /** Node binary for the image; default this one (the image's architecture is this machine's). */
  node?: string;
  busybox?: string;
}

export interface BalenaAppBuild {
  /** For `docker import`: the base root filesystem with Node. */
  baseTar: string;
  /** The build context (`docker build --build-arg BASE=...`, or `balena push` from it). */
  context: string;
  /** The files of the context, for an Engine API build. */
  files: string[];
  arch: string;
}

/** Writes the base rootfs tar and the app's build context. Needs `ldd` and `tar`; no network. */
export function writeBalenaApp(o: BalenaAppOptions): BalenaAppBuild {
  const node = o.node ?? process.execPath;
  const busybox = o.busybox ?? '/bin/busybox';
  const env = '/usr/bin/env';
  const arch = BALENA_ARCH[process.arch];
  if (!arch) throw new BalenaAppError(`this machine's architecture ${process.arch} has no balena image here: use x64 (amd64) or arm64 (aarch64)`);
  for (const [file, what] of [[node, 'the Node binary'], [busybox, 'busybox (Debian\'s busybox-static)'], [env, 'env (coreutils)'], [o.bundle, 'the agent bundle (npm run build)'], [join(o.appDir, 'Dockerfile.template'), 'the app\'s Dockerfile.template'], [join(o.appDir, 'docker-compose.yml'), 'the app\'s docker-compose.yml']] as const) {
    if (!existsSync(file)) throw new BalenaAppError(`${file}: no such file (${what})`);
  }
  const bb = spawnSync('ldd', [busybox], { encoding: 'utf8' });
  if (bb.status === 0 && !/not a dynamic|statically linked/.test(bb.stdout + bb.stderr)) throw new BalenaAppError(`${busybox}: not statically linked: install busybox-static`);
  mkdirSync(o.out, { recursive: true });
  const root = mkdtempSync(join(o.out, 'rootfs-'));
  try {
    const put = (from: string, to: string) => {
      mkdirSync(dirname(join(root, to)), { recursive: true });
      copyFileSync(realpathSync(from), join(root, to));
      chmodSync(join(root, to), 0o755);
    };
    put(node, '/usr/bin/node');
    copyInto(root, env, 0o755);
    const libs = new Set([...lddPaths(run('ldd', [node])), ...lddPaths(run('ldd', [env]))]);
    for (const lib of libs) copyInto(root, lib);
    put(busybox, '/bin/busybox');
    for (const applet of ['sh', 'ls', 'cat', 'mkdir', 'rm', 'chmod', 'ps', 'id']) symlinkSync('busybox', join(root, 'bin', applet));
    for (const d of ['tmp', 'data', 'etc', 'proc', 'sys', 'dev', 'run', 'var/run', 'opt/sosna']) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    writeFileSync(join(root, 'etc/os-release'), 'ID=sosna-balena-base\nNAME="sosna balena base (Node from the build machine)"\n');
    const baseTar = join(o.out, 'base-rootfs.tar');
    run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', baseTar, '.']);

    const context = join(o.out, 'context');
    rmSync(context, { recursive: true, force: true });
    mkdirSync(context, { recursive: true });
    writeFileSync(join(context, 'Dockerfile'), renderTemplate(readFileSync(join(o.appDir, 'Dockerfile.template'), 'utf8'), arch));
    copyFileSync(join(o.appDir, 'docker-compose.yml'), join(context, 'docker-compose.yml'));
    copyFileSync(o.bundle, join(context, 'sosna-agent.mjs'));
    return { baseTar, context, files: ['Dockerfile', 'docker-compose.yml', 'sosna-agent.mjs'], arch };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
