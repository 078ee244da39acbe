// The full arm64 image (Debian + systemd + Docker Engine + Node for arm64 + the agent service) end to end on
// an x86_64 host: `sosna image build --arch arm64 --variant full` (debootstrap --foreign, the second stage
// under qemu user emulation, cached per arch), configure with a fleet key of a real hub, a UEFI boot in
// qemu-system-aarch64 under TCG (AAVMF -> GRUB arm64 -> Debian's kernel and initramfs -> systemd), the
// device provisions itself, shows online with `arch: arm64` and the image's Docker engine, and a job runs in
// that engine: an arm64 busybox image as a `docker save` archive written here (Debian's busybox-static:arm64,
// never run on the host), served over http from the host, loaded by the guest's engine.
// Needs root (debootstrap, binfmt_misc) and scripts/test-deps/image.sh. The first run pays for debootstrap
// (about 45 minutes on 2 cores, nearly all of it the emulated second stage); the result is cached in $TMPDIR/sosna-image-cache.
// Not in `npm test` (a fresh machine would spend 45 minutes in it): run by hand with `npm run test:manual`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, cli, freePort, requireBuild, start, writeJson } from '../procs.js';
import type { Proc } from '../procs.js';
import { tempDir, waitFor } from '../helpers.js';
import type { Guest } from '../qemu.js';
import { arm64QemuMissing, bootArm64Image } from '../qemu-arm64.js';

const SKIP = process.env.SOSNA_SKIP_FULL_IMAGE_TEST === '1';
const tmp = tempDir('sosna-image-arm64-full-');
const hubDir = join(tmp.dir, 'hub');
const outDir = join(tmp.dir, 'images');
const image = join(outDir, 'sosna-full-arm64.img');
const cacheDir = join(tmpdir(), 'sosna-image-cache');
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const JOB_IMAGE = 'sosna-test/busybox-arm64:1';
let hub: Proc | undefined;
let guest: Guest | undefined;
let archiveServer: Server | undefined;
let archive: { url: string; sha256: string; bytes: number; requests: number } | undefined;
let buildSeconds = 0;

type Device = { id: string; name: string; online: boolean; inventory: { arch?: string; cpu?: { cores?: number }; jobs?: { engine?: { kind?: string; version?: string } | null } } | null };
interface Job { id: string; state: string; reason: string | null; digest: string | null; runs: { deviceId: string; state: string; exitCode: number | null; runtimeMs: number | null }[] }
type Manifest = { arch: string; versions: Record<string, { version: string }>; layout: { name: string; type: string; offset: number }[]; image: { size: number }; compressed: { size: number } };

async function devices(): Promise<Device[]> {
  const r = await cli(['console', 'devices', '--json'], { env: profile() });
  if (r.code !== 0) throw new Error(`console devices failed: ${r.output}`);
  return JSON.parse(r.stdout) as Device[];
}
async function showJob(jobId: string): Promise<Job> {
  const r = await cli(['console', 'jobs', 'show', jobId, '--json'], { env: profile() });
  if (r.code !== 0) throw new Error(`jobs show failed: ${r.output}`);
  return JSON.parse(r.stdout) as Job;
}
function sh(cmd: string, args: string[], cwd?: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}
const tar = (args: string[]) => sh('tar', args);

/** A `docker save` archive of an arm64 image holding Debian's busybox-static:arm64 (sh, echo, uname links). */
function arm64BusyboxArchive(dir: string): Buffer {
  // apt-get download: apt knows arm64 (scripts/test-deps/image.sh adds it for the arm64 images)
  const debs = join(dir, 'deb');
  mkdirSync(debs, { recursive: true });
  sh('apt-get', ['download', '-q', 'busybox-static:arm64'], debs);
  const deb = readdirSync(debs).find((f) => f.endsWith('_arm64.deb'));
  if (!deb) throw new Error(`apt-get download busybox-static:arm64 left no .deb in ${debs}`);
  sh('dpkg-deb', ['-x', join(debs, deb), join(dir, 'pkg')]);
  const root = join(dir, 'layer');
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(join(dir, 'pkg', 'bin', 'busybox'), join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'echo', 'uname', 'cat']) symlinkSync('busybox', join(root, 'bin', a));
  const out = join(dir, 'save');
  mkdirSync(join(out, 'layer'), { recursive: true });
  tar(['--numeric-owner', '--owner=0', '--group=0', '-cf', join(out, 'layer', 'layer.tar'), '-C', root, 'bin']);
  const diffId = sha(readFileSync(join(out, 'layer', 'layer.tar')));
  const config = JSON.stringify({
    architecture: 'arm64', os: 'linux', created: '2024-01-01T00:00:00Z',
    config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: '2024-01-01T00:00:00Z', created_by: 'sosna test: busybox-static:arm64' }],
  });
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  writeFileSync(join(out, configName), config);
  writeFileSync(join(out, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [JOB_IMAGE], Layers: ['layer/layer.tar'] }]));
  const file = join(dir, 'busybox-arm64.tar');
  tar(['--numeric-owner', '--owner=0', '--group=0', '-cf', file, '-C', out, 'manifest.json', configName, 'layer']);
  return readFileSync(file);
}

beforeAll(async () => {
  if (SKIP) return;
  requireBuild();
  if (process.getuid?.() !== 0) throw new Error('the arm64 full image test needs root (debootstrap, binfmt_misc); SOSNA_SKIP_FULL_IMAGE_TEST=1 skips it');
  const missing = arm64QemuMissing();
  if (missing) throw new Error(missing);
  const port = await freePort();
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1']);
  const t0 = Date.now();
  const built = await cli(['image', 'build', '--arch', 'arm64', '--variant', 'full', '--out', outDir, '--cache-dir', cacheDir, '--compress-level', '3'], { timeoutMs: 1_800_000 });
  buildSeconds = (Date.now() - t0) / 1000;
  expect(built.code, built.output).toBe(0);
  console.log(built.output.split('\n').filter((l) => /\[\d\/\d\]|rootfs|root filesystem|kernel|emulation|done in/.test(l)).join('\n'));
  const tarball = arm64BusyboxArchive(join(tmp.dir, 'job-image'));
  const a = { url: '', sha256: sha(tarball), bytes: tarball.length, requests: 0 };
  archiveServer = createServer((req, res) => {
    a.requests++;
    if (req.url !== '/busybox-arm64.tar') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/x-tar', 'content-length': String(tarball.length) }).end(tarball);
  });
  await new Promise<void>((r) => archiveServer!.listen(0, '127.0.0.1', r));
  a.url = `http://10.0.2.2:${(archiveServer.address() as { port: number }).port}/busybox-arm64.tar`;
  archive = a;
  await hub.waitFor(/hub \S+ ready/);
  const key = await cli(['hub', 'keys', 'create', '--fleet', 'arm-full', '--max', '1', '--data-dir', hubDir]);
  expect(key.code, key.output).toBe(0);
  const config = writeJson(join(tmp.dir, 'device.json'), {
    hub: { url: `mqtt://10.0.2.2:${port}` },
    provisioningKey: key.stdout.trim(),
    name: 'arm-rig',
    mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 },
  });
  const configured = await cli(['image', 'configure', image, '--config', config]);
  expect(configured.code, configured.output).toBe(0);
}, 1_900_000);

afterAll(async () => {
  await guest?.stop();
  archiveServer?.close();
  await hub?.stop();
  tmp.cleanup();
}, 60_000);

describe.skipIf(SKIP)('the full arm64 image in qemu-system-aarch64', () => {
  it('the build leaves no binfmt_misc registration and a manifest with the arm64 kernel, Node and root partition', () => {
    expect(spawnSync('sh', ['-c', 'ls /proc/sys/fs/binfmt_misc/ 2>/dev/null'], { encoding: 'utf8' }).stdout).not.toMatch(/sosna/);
    const manifest = JSON.parse(readFileSync(join(outDir, 'sosna-full-arm64.manifest.json'), 'utf8')) as Manifest;
    expect(manifest.arch).toBe('arm64');
    expect(manifest.versions.kernel?.version).toMatch(/-arm64$/);
    expect(manifest.versions.node?.version).toMatch(/^v20\./);
    expect(manifest.versions.agent?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(manifest.layout.map((p) => p.name)).toEqual(['sosna-boot', 'sosna-root']); // no BIOS boot partition
    expect(manifest.layout[1]!.type).toBe('B921B045-1DF0-41C3-AF44-4C6F280D3FAE'); // root (arm64)
    const dir = spawnSync('mdir', ['-b', '-i', `${image}@@${manifest.layout[0]!.offset}`, '::/EFI/BOOT'], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    expect(dir.stdout.toLowerCase()).toContain('bootaa64.efi');
    console.log(`arm64 full image: built in ${buildSeconds.toFixed(0)} s; ${(manifest.image.size / 2 ** 20).toFixed(0)} MiB raw, ${(manifest.compressed.size / 2 ** 20).toFixed(0)} MiB zstd -3; docker ${manifest.versions.docker?.version}`);
  });

  it('boots by UEFI under TCG, shows online with arch arm64 and Docker, and runs an arm64 job in it', async () => {
    guest = bootArm64Image(image, tmp.dir, { memoryMiB: 2048, cpu: 'cortex-a72' });
    const g = guest;
    const fail = (err: Error): never => {
      throw new Error(`${err.message}\nguest console:\n${g.output().slice(-4000)}`);
    };
    const online = await waitFor('arm-rig online with a container engine', async () => (await devices()).find((d) => d.name === 'arm-rig' && d.online && d.inventory?.jobs?.engine), 600_000, 1000).catch(fail);
    const onlineAt = Date.now() - g.startedAt;
    const deviceId = online.id;
    expect(online.inventory?.arch).toBe('arm64');
    expect(online.inventory?.cpu?.cores).toBe(2);
    expect(g.output()).toMatch(/container engine engine=docker/);
    console.log(`arm64 full image UEFI boot (TCG, cortex-a72 x2, 2 GiB): online with Docker ${online.inventory?.jobs?.engine?.version} ${(onlineAt / 1000).toFixed(1)} s after qemu started`);

    const t0 = Date.now();
    const submitted = await cli(['console', 'jobs', 'submit', '--image', JOB_IMAGE, '--image-archive', archive!.url, '--image-sha256', archive!.sha256, '--bid', '1', '--', 'sh', '-c', 'echo "hello from $(uname -m) on $SOSNA_DEVICE_ID"'], { env: profile() });
    expect(submitted.code, submitted.output).toBe(0);
    const jobId = submitted.stdout.trim();
    const job = await waitFor(`${jobId} finished`, async () => {
      const j = await showJob(jobId);
      return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : null;
    }, 400_000, 1000).catch(fail);
    expect(job, JSON.stringify(job)).toMatchObject({ state: 'succeeded', digest: sha(`hello from aarch64 on ${deviceId}\n`) });
    expect(job.runs[0]).toMatchObject({ deviceId, exitCode: 0 });
    expect(archive!.requests).toBe(1);
    console.log(`arm64 full image: job (${(archive!.bytes / 2 ** 20).toFixed(1)} MiB archive) submitted to succeeded in ${((Date.now() - t0) / 1000).toFixed(1)} s, container ran ${job.runs[0]!.runtimeMs} ms`);
  }, 1_100_000);
});
