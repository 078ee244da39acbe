// The full x86_64 image (Debian + systemd + Docker Engine + Node + the agent service) end to end: build,
// configure with a fleet key, UEFI boot in qemu, the device provisions itself and shows online, its agent
// finds the image's Docker engine; a second boot keeps the identity. Opt-in (SOSNA_TEST_FULL_IMAGE=1):
// the debootstrap behind it takes 5-10 minutes on a 2-core machine the first time (then it is cached in
// $TMPDIR/sosna-image-cache), and it needs root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, cli, freePort, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { bootImage } from './qemu.js';
import type { Guest } from './qemu.js';

const enabled = process.env.SOSNA_TEST_FULL_IMAGE === '1';
const tmp = tempDir('sosna-image-full-');
const hubDir = join(tmp.dir, 'hub');
const outDir = join(tmp.dir, 'images');
const image = join(outDir, 'sosna-full-x86_64.img');
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });
let hub: Proc | undefined;
let guest: Guest | undefined;

async function devices(): Promise<{ id: string; name: string; online: boolean; inventory: { cpu?: { cores?: number } } | null }[]> {
  const r = await cli(['console', 'devices', '--json'], { env: profile() });
  if (r.code !== 0) throw new Error(`console devices failed: ${r.output}`);
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  if (!enabled) return;
  requireBuild();
  const port = await freePort();
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1']);
  const built = await cli(['image', 'build', '--variant', 'full', '--out', outDir, '--cache-dir', join(tmpdir(), 'sosna-image-cache')], { timeoutMs: 1_200_000 });
  expect(built.code, built.output).toBe(0);
  await hub.waitFor(/hub \S+ ready/);
  const key = await cli(['hub', 'keys', 'create', '--fleet', 'full', '--max', '1', '--data-dir', hubDir]);
  const config = writeJson(join(tmp.dir, 'device.json'), { hub: { url: `mqtt://10.0.2.2:${port}` }, provisioningKey: key.stdout.trim(), name: 'full-rig', mqtt: { keepaliveSec: 5 } });
  expect((await cli(['image', 'configure', image, '--config', config])).code).toBe(0);
}, 1_300_000);

afterAll(async () => {
  await guest?.stop();
  await hub?.stop();
  tmp.cleanup();
});

describe.skipIf(!enabled)('the full x86_64 image in qemu (SOSNA_TEST_FULL_IMAGE=1)', () => {
  it('boots systemd, the agent finds Docker, provisions itself and shows online; a reboot keeps the identity', async () => {
    const manifest = JSON.parse(readFileSync(join(outDir, 'sosna-full-x86_64.manifest.json'), 'utf8')) as { image: { size: number }; compressed: { size: number }; versions: Record<string, { version: string }> };
    guest = bootImage(image, tmp.dir, { memoryMiB: 2048 });
    const online = await waitFor('full-rig online', async () => (await devices()).find((d) => d.name === 'full-rig' && d.online), 240_000, 1000);
    const onlineAt = Date.now() - guest.startedAt;
    expect(guest.output()).toMatch(/container engine engine=docker/);
    expect(online.inventory?.cpu?.cores).toBe(2);
    console.log(`full image: ${(manifest.image.size / 2 ** 20).toFixed(0)} MiB raw, ${(manifest.compressed.size / 2 ** 20).toFixed(0)} MiB zstd; docker ${manifest.versions.docker?.version}; online ${(onlineAt / 1000).toFixed(1)} s after qemu started`);
    await guest.stop();
    await waitFor('full-rig offline', async () => (await devices()).find((d) => d.id === online.id && !d.online), 60_000, 1000);
    guest = bootImage(image, tmp.dir, { memoryMiB: 2048 });
    await waitFor('full-rig online again', async () => (await devices()).find((d) => d.id === online.id && d.online), 240_000, 1000).catch((err: Error) => {
      throw new Error(`${err.message}\nguest console:\n${guest!.output().slice(-4000)}`);
    });
    expect((await devices()).length).toBe(1);
  }, 600_000);
});
