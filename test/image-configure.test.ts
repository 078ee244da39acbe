// `sosna image configure` on an image file with the sosna layout (GPT, FAT partition "sosna-boot"), built
// here in a second with the same helpers as the image build: the config round-trips, an invalid config is
// refused with the field and reason (the image untouched), files that are not sosna images are refused,
// and the FAT stays clean for fsck.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assembleDisk, BOOT_FS_LABEL, BOOT_PARTITION_NAME, GPT_TYPE, makeFat, planLayout } from '@sosna/provisioning';
import { cli, requireBuild, writeJson } from './procs.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('sosna-configure-');
const pristine = join(tmp.dir, 'pristine.img');
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
let n = 0;
const freshImage = () => {
  const f = join(tmp.dir, `image-${++n}.img`);
  copyFileSync(pristine, f);
  return f;
};

async function gptImage(file: string, partName: string): Promise<void> {
  const fat = join(tmp.dir, `${partName}.fat`);
  const info = writeJson(join(tmp.dir, 'image.json'), { name: 'sosna-test', variant: 'smoke', arch: 'x86_64' });
  await makeFat(fat, 64 * 2 ** 20, BOOT_FS_LABEL, [{ from: info, to: '/sosna/image.json' }], ['/sosna/state']);
  await assembleDisk(file, planLayout([{ name: partName, type: GPT_TYPE.efiSystem, sizeBytes: 64 * 2 ** 20 }]), { [partName]: fat });
}

function fsckClean(image: string): string {
  const fat = join(tmp.dir, 'check.fat');
  execFileSync('dd', [`if=${image}`, `of=${fat}`, 'bs=1M', 'skip=1', 'count=64', 'status=none']);
  const r = spawnSync('fsck.vfat', ['-n', fat], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
}

beforeAll(async () => {
  requireBuild();
  await gptImage(pristine, BOOT_PARTITION_NAME);
}, 120_000); // sized for a loaded machine
afterAll(() => tmp.cleanup());

const device = { hub: { url: 'mqtt://hub.example:1883', id: 'hub-1234abcd' }, provisioningKey: 'kabc.SecretSecret', name: 'rig-07', telemetry: { intervalSec: 5 } };

describe('sosna image configure', () => {
  it('writes the config, Wi-Fi and credentials into the boot partition and reads them back identical', async () => {
    const image = freshImage();
    const config = writeJson(join(tmp.dir, 'dev.json'), device);
    const creds = writeJson(join(tmp.dir, 'creds.json'), { hubId: 'hub-1234abcd', deviceId: 'rig-07-abc', username: 'dev:rig-07-abc', password: 'pw', url: 'mqtt://hub.example:1883', provisionedAt: 1 });
    const r = await cli(['image', 'configure', image, '--config', config, '--credentials', creds, '--wifi-ssid', 'farm', '--wifi-psk', 'correct horse']);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/\/sosna\/config\.json, \/sosna\/wifi\.conf, \/sosna\/state\/credentials\.json on partition 1 .*read back identical/);
    // read back independently of the writer: mtools through the partition offset
    const back = execFileSync('mtype', ['-i', `${image}@@1M`, '::/sosna/config.json'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } }).toString();
    expect(JSON.parse(back)).toEqual(device);
    const shown = await cli(['image', 'show', image, '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ image: { name: 'sosna-test' }, config: { name: 'rig-07', provisioningKey: 'kabc.***' }, wifi: true, identity: { deviceId: 'rig-07-abc', password: 'pw.***' } });
    expect(shown.stdout).not.toContain('SecretSecret');
    const fsck = fsckClean(image);
    expect(fsck).not.toMatch(/differ|wrong|corrupt/i);
  });

  it('a second configure keeps the identity unless told to reset it', async () => {
    const image = freshImage();
    const config = writeJson(join(tmp.dir, 'dev2.json'), device);
    const creds = writeJson(join(tmp.dir, 'creds2.json'), { hubId: 'h', deviceId: 'd', username: 'dev:d', password: 'p', url: 'mqtt://h:1', provisionedAt: 1 });
    expect((await cli(['image', 'configure', image, '--config', config, '--credentials', creds])).code).toBe(0);
    const again = await cli(['image', 'configure', image, '--config', config]);
    expect(again.stdout).toMatch(/already holds a device identity/);
    const reset = await cli(['image', 'configure', image, '--config', config, '--reset-identity']);
    expect(reset.stdout).toMatch(/removed the previous identity/);
    expect(JSON.parse((await cli(['image', 'show', image, '--json'])).stdout).identity).toBeNull();
  });

  it('refuses an invalid config with the field and the reason, and leaves the image untouched', async () => {
    const image = freshImage();
    const before = sha(image);
    const bad = writeJson(join(tmp.dir, 'bad.json'), { hub: { url: 'http://hub.example' }, telemetry: { intervalSec: 0 }, colour: 'red' });
    const r = await cli(['image', 'configure', image, '--config', bad]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/bad\.json: hub\.url: must be an mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ URL/);
    expect(r.output).toMatch(/telemetry\.intervalSec: .*>=1/);
    expect(r.output).toMatch(/colour/);
    writeFileSync(join(tmp.dir, 'broken.json'), '{"hub": ');
    const broken = await cli(['image', 'configure', image, '--config', join(tmp.dir, 'broken.json')]);
    expect(broken.output).toMatch(/broken\.json: not valid JSON/);
    expect(sha(image)).toBe(before);
  });

  it('refuses files that are not sosna images', async () => {
    const config = writeJson(join(tmp.dir, 'ok.json'), device);
    const random = join(tmp.dir, 'random.img');
    writeFileSync(random, Buffer.alloc(4 * 2 ** 20, 7));
    const other = join(tmp.dir, 'other.img');
    await gptImage(other, 'EFI system');
    const packed = join(tmp.dir, 'packed.img.zst');
    execFileSync('zstd', ['-q', '-f', '-o', packed, pristine]);
    const cases: [string, RegExp][] = [
      [random, /is not a sosna image: no readable partition table/],
      [other, /is not a sosna image: no GPT partition named "sosna-boot" \(partitions: "EFI system"\)/],
      [packed, /is zstd-compressed: decompress it first \(zstd -d/],
      [join(tmp.dir, 'missing.img'), /no such file/],
    ];
    for (const [file, why] of cases) {
      const r = await cli(['image', 'configure', file, '--config', config]);
      expect(r.code, file).not.toBe(0);
      expect(r.output).toMatch(why);
    }
  });
});
