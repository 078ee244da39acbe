// The smoke image end to end: `sosna image build` (Debian's kernel, busybox, Node and the agent bundle in an
// initramfs on a GPT disk with a FAT boot partition), `sosna image configure` with a fleet key of a real
// hub process, a UEFI boot in qemu (OVMF -> GRUB from the image -> kernel -> agent), the device provisions
// itself and shows online with its inventory in `sosna console devices`; after a power cut and a second
// boot of the same image, this time by legacy BIOS (SeaBIOS -> GRUB's boot.img in the MBR -> its core image
// in the BIOS boot partition -> kernel), it comes back with the same identity (kept on the boot partition).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, cli, freePort, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { GUEST_TEST_TIMEOUT_MS, bootImage, ovmf } from './qemu.js';
import type { Guest } from './qemu.js';

const tmp = tempDir('sosna-image-e2e-');
const hubDir = join(tmp.dir, 'hub');
const outDir = join(tmp.dir, 'images');
// Debian packages (kernel, busybox-static) are kept between runs on this machine
const cacheDir = join(tmpdir(), 'sosna-image-cache');
const image = join(outDir, 'sosna-smoke-x86_64.img');
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });
let hub: Proc;
let guest: Guest | undefined;
let buildSeconds = 0;

type Device = { id: string; name: string; online: boolean; inventory: { cpu?: { cores?: number }; memory?: { totalBytes?: number }; hardware?: { cpu?: { threads?: number } } } | null };

async function devices(): Promise<Device[]> {
  const r = await cli(['console', 'devices', '--json'], { env: profile() });
  if (r.code !== 0) throw new Error(`console devices failed: ${r.output}`);
  return JSON.parse(r.stdout) as Device[];
}

beforeAll(async () => {
  requireBuild();
  if (!ovmf() || !existsSync('/usr/bin/qemu-system-x86_64')) throw new Error('qemu or OVMF is missing: run bash scripts/test-deps/image.sh');
  const port = await freePort();
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1']);
  const t0 = Date.now();
  const built = await cli(['image', 'build', '--out', outDir, '--cache-dir', cacheDir], { timeoutMs: 300_000 });
  expect(built.code, built.output).toBe(0);
  buildSeconds = (Date.now() - t0) / 1000;
  await hub.waitFor(/hub \S+ ready/);
  const key = await cli(['hub', 'keys', 'create', '--fleet', 'smoke', '--max', '1', '--data-dir', hubDir]);
  expect(key.code, key.output).toBe(0);
  const config = writeJson(join(tmp.dir, 'device.json'), {
    hub: { url: `mqtt://10.0.2.2:${port}` },
    provisioningKey: key.stdout.trim(),
    name: 'smoke-rig',
    // node starts in ~14 s under TCG on a quiet host; with another guest booting beside it, detection passed
    // 30 s in CI, and a host under full load slows the guest several times over
    hardware: { detectTimeoutSec: 300 },
    telemetry: { intervalSec: 2 },
    mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 },
  });
  const configured = await cli(['image', 'configure', image, '--config', config]);
  expect(configured.code, configured.output).toBe(0);
  expect(configured.stdout).toMatch(/read back identical/);
}, 360_000);

afterAll(async () => {
  await guest?.stop();
  await hub?.stop();
  tmp.cleanup();
});

describe('the smoke image in qemu', () => {
  it('the build leaves a compressed image, its sha256 and a manifest with the kernel, Node and agent versions', () => {
    const manifest = JSON.parse(readFileSync(join(outDir, 'sosna-smoke-x86_64.manifest.json'), 'utf8')) as {
      versions: Record<string, { version: string }>; compressed: { file: string; sha256: string; size: number }; image: { size: number };
    };
    expect(manifest.versions.kernel?.version).toMatch(/\d/);
    expect(manifest.versions.node?.version).toBe(process.version);
    expect(manifest.versions.agent?.version).toMatch(/^\d+\.\d+\.\d+/);
    const zst = join(outDir, manifest.compressed.file);
    const sum = readFileSync(`${zst}.sha256`, 'utf8');
    expect(sum).toContain(`${createHash('sha256').update(readFileSync(zst)).digest('hex')}  ${manifest.compressed.file}`);
    console.log(`smoke image: built in ${buildSeconds.toFixed(1)} s; ${(statSync(zst).size / 2 ** 20).toFixed(1)} MiB compressed (zstd), ${(manifest.image.size / 2 ** 20).toFixed(0)} MiB raw`);
  });

  let firstId = '';
  it('boots by UEFI, provisions itself with the fleet key and shows online with its inventory', async () => {
    guest = bootImage(image, tmp.dir, { firmware: 'uefi' });
    const agentAt = await guest.waitFor(/sosna-init: starting the agent/);
    const online = await guest.until('smoke-rig online in the console', async () => (await devices()).find((d) => d.name === 'smoke-rig' && d.online), { everyMs: 500 });
    const onlineAt = Date.now() - guest.startedAt;
    expect(guest.output()).toMatch(/provisioned deviceId=/);
    expect(online.inventory?.cpu?.cores).toBe(2);
    expect(online.inventory?.memory?.totalBytes).toBeGreaterThan(512 * 2 ** 20);
    await guest.until('the full hardware inventory', async () => (await devices()).find((d) => d.id === online.id && (d.inventory?.hardware?.cpu?.threads ?? 0) > 0));
    firstId = online.id;
    console.log(`smoke image boot: agent started ${(agentAt / 1000).toFixed(1)} s, device online ${(onlineAt / 1000).toFixed(1)} s after qemu started`);
  }, GUEST_TEST_TIMEOUT_MS);

  it('after a power cut and a second boot by legacy BIOS the device comes back with the same identity', async () => {
    await guest!.stop();
    console.log(guest!.output().split('\n').filter((l) => /sosna-init|\[agent\]|\[provision\]/.test(l)).join('\n'));
    await waitFor('smoke-rig offline', async () => (await devices()).find((d) => d.id === firstId && !d.online), 60_000, 500);
    // the identity is on the boot partition of the image file
    const shown = await cli(['image', 'show', image, '--json']);
    expect(shown.code, shown.output).toBe(0);
    expect((JSON.parse(shown.stdout) as { identity: { deviceId: string } }).identity.deviceId).toBe(firstId);
    guest = bootImage(image, tmp.dir, { firmware: 'bios' });
    const back = await guest.until('smoke-rig online again', async () => (await devices()).find((d) => d.id === firstId && d.online), { everyMs: 500 });
    expect(back.name).toBe('smoke-rig');
    // SeaBIOS ran the MBR's boot code: GRUB's boot.img prints "GRUB loading" (the UEFI loader never does)
    expect(guest.output()).toMatch(/SeaBIOS/);
    expect(guest.output()).toMatch(/GRUB loading/);
    expect(guest.output()).not.toMatch(/provisioning with the fleet key/);
    expect((await devices()).length).toBe(1);
    console.log(`smoke image reboot by BIOS: online again ${((Date.now() - guest.startedAt) / 1000).toFixed(1)} s after qemu started`);
  }, GUEST_TEST_TIMEOUT_MS);
});
