// A private Docker Engine for the job tests: its own dockerd (socket, data root, exec root and pid file
// under a temporary folder; cgroupfs, no systemd), its own bridge (so that several can run side by side
// and none touches docker0), test images built offline (Debian's busybox-static imported as an image),
// and a local registry (Debian's docker-registry) for the pull path. `scripts/test-deps/docker.sh`
// installs the packages. stop() removes every container, stops the daemons and removes everything.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Docker from 'dockerode';
import { freePort } from './procs.js';
import { waitFor } from './helpers.js';

/** Where no Docker Engine can run (no root), SOSNA_SKIP_DOCKER_TESTS=1 skips the tests that need one instead of failing them. */
export const SKIP_DOCKER = process.env.SOSNA_SKIP_DOCKER_TESTS === '1';
export const BUSYBOX = '/bin/busybox';
export const TEST_IMAGE = 'sosna-test/busybox:1';

export interface PrivateDocker {
  /** DOCKER_HOST for agents and clients: unix:///tmp/.../docker.sock */
  host: string;
  docker: Docker;
  dir: string;
  /** Local registry `127.0.0.1:PORT`, with `${registry}/sosna/busybox:1` pushed (and not present locally). */
  registry: string;
  images: { local: string; pulled: string };
  log(): string;
  stop(): Promise<void>;
}

/** Why a private dockerd cannot run here, or null. */
export function dockerUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (dockerd, a bridge interface)';
  for (const [bin, pkg] of [['dockerd', 'docker.io'], ['docker-registry', 'docker-registry']] as const) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} is missing: run scripts/test-deps/docker.sh (installs ${pkg})`;
  }
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing: run scripts/test-deps/docker.sh (installs busybox-static)`;
  return null;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout || `exit ${r.status}`}`);
}

/** A /24 in 10.200-249.x.0 that no route uses yet. */
function freeSubnet(): string {
  const routes = spawnSync('ip', ['-4', 'route'], { encoding: 'utf8' }).stdout ?? '';
  for (let i = 0; i < 50; i++) {
    const b = randomBytes(2);
    const net = `10.${200 + (b[0]! % 50)}.${b[1]}`;
    if (!routes.includes(`${net}.`)) return net;
  }
  throw new Error('no free 10.x subnet for the test bridge');
}

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

async function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  await new Promise<void>((ok, fail) => docker.modem.followProgress(stream, (err: Error | null) => (err ? fail(err) : ok())));
}

/** A root filesystem with busybox and its applets, as a tar stream for `docker import`. */
function busyboxRootfs(dir: string): string {
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  for (const d of ['tmp', 'etc', 'proc', 'sys', 'dev', 'www', 'out']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  const applets = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(root, 'bin', a));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  const tar = join(dir, 'rootfs.tar');
  run('tar', ['-C', root, '-cf', tar, '.']);
  rmSync(root, { recursive: true, force: true });
  return tar;
}

export interface PrivateDockerOptions {
  /** The daemon's config file (daemon.json), e.g. the sosna image's own (provisioning's dockerDaemonConfig()). */
  daemonConfig?: Record<string, unknown>;
  /** Folders put first on dockerd's PATH (e.g. a fake nvidia-container-runtime-hook: dockerd then offers the "nvidia" device driver). */
  path?: string[];
}

export async function startPrivateDocker(opts: PrivateDockerOptions = {}): Promise<PrivateDocker> {
  const why = dockerUnavailable();
  if (why) throw new Error(`cannot start a private dockerd: ${why}`);
  const dir = mkdtempSync('/tmp/sosna-dockerd-');
  const bridge = `sosna${randomBytes(3).toString('hex')}`;
  const net = freeSubnet();
  const children: ChildProcess[] = [];
  const logFile = join(dir, 'dockerd.log');
  let docker: Docker | null = null;

  const stop = async () => {
    if (docker) {
      try {
        const all = await docker.listContainers({ all: true });
        await Promise.all(all.map((c) => docker!.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
      } catch {
        /* the daemon may be gone already */
      }
    }
    for (const c of children.reverse()) {
      c.kill('SIGTERM');
      await waitExit(c, 20_000);
    }
    spawnSync('ip', ['link', 'del', bridge]);
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(dir)).sort().reverse();
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    run('ip', ['addr', 'add', `${net}.1/24`, 'dev', bridge]);
    run('ip', ['link', 'set', bridge, 'up']);
    const socket = join(dir, 'docker.sock');
    const out = openSync(logFile, 'a');
    writeFileSync(join(dir, 'daemon.json'), JSON.stringify(opts.daemonConfig ?? {}));
    // a remapped root (userns-remap) must pass through the folders above its data root (mkdtemp makes 0700)
    if (opts.daemonConfig?.['userns-remap']) chmodSync(dir, 0o711);
    const dockerd = spawn(
      'dockerd',
      [
        '--host', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'),
        '--exec-opt', 'native.cgroupdriver=cgroupfs', '--bridge', bridge, '--iptables=false', '--ip-masq=false', '--ip6tables=false',
        '--storage-driver', 'overlay2', '--log-level', 'warn', '--userland-proxy=true', '--config-file', join(dir, 'daemon.json'),
      ],
      { stdio: ['ignore', out, out], ...(opts.path?.length ? { env: { ...process.env, PATH: `${opts.path.join(':')}:${process.env.PATH ?? ''}` } } : {}) },
    );
    children.push(dockerd);
    docker = new Docker({ socketPath: socket });
    const d = docker;
    await waitFor('the private dockerd', async () => {
      if (dockerd.exitCode !== null) throw new Error(`dockerd exited (${dockerd.exitCode}):\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
      return (await d.ping()) !== undefined;
    }, 60_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    });

    // the test image, offline: busybox-static as a root filesystem
    const tar = busyboxRootfs(dir);
    await follow(d, (await d.importImage(tar, { repo: 'sosna-test/busybox', tag: '1' })) as NodeJS.ReadableStream);
    rmSync(tar, { force: true });

    // a local registry with the same image under another name, for the pull path
    const port = await freePort();
    const registry = `127.0.0.1:${port}`;
    writeFileSync(join(dir, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\nhttp:\n  addr: ${registry}\n`);
    const reg = spawn('docker-registry', ['serve', join(dir, 'registry.yml')], { stdio: ['ignore', out, out] });
    children.push(reg);
    await waitFor('the local registry', async () => (await fetch(`http://${registry}/v2/`)).ok, 30_000, 100);
    const pulled = `${registry}/sosna/busybox:1`;
    await d.getImage(TEST_IMAGE).tag({ repo: `${registry}/sosna/busybox`, tag: '1' });
    // the engine wants an X-Registry-Auth header on every push, even for a registry without auth
    await follow(d, (await d.getImage(pulled).push({ authconfig: { username: '', password: '', serveraddress: registry } })) as NodeJS.ReadableStream);
    await d.getImage(pulled).remove();

    return { host: `unix://${socket}`, docker: d, dir, registry, images: { local: TEST_IMAGE, pulled }, log: () => readFileSync(logFile, 'utf8'), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Containers of the private engine with a sosna label (what agents started). */
export async function sosnaContainers(docker: Docker, all = true): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all, filters: { label: ['sosna.job'] } });
}
