// `sosna flash` to plain file targets: .img, .img.zst and .img.xz written and verified; a byte flipped
// after the write is caught by the read-back; a corrupt download is caught by its .sha256; a mounted system
// disk is refused; without a terminal it does not overwrite anything without --yes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { checkTarget, flashImage, linuxSystem, parseMounts, VerifyError } from '@sosna/provisioning';
import { cli, requireBuild } from './procs.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('sosna-flash-');
const raw = join(tmp.dir, 'sosna-test.img');
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

beforeAll(() => {
  requireBuild();
  // 24 MiB: random blocks between zero runs, like a disk image
  const buf = Buffer.alloc(24 * 2 ** 20);
  for (let i = 0; i < 24; i += 3) randomBytes(2 ** 20).copy(buf, i * 2 ** 20);
  writeFileSync(raw, buf);
  execFileSync('zstd', ['-q', '-f', raw, '-o', `${raw}.zst`]);
  execFileSync('xz', ['-k', '-f', '-T0', raw]);
});
afterAll(() => tmp.cleanup());

describe('sosna flash', () => {
  for (const ext of ['', '.zst', '.xz']) {
    it(`writes and verifies ${ext || '.img'} onto a file target`, async () => {
      const target = join(tmp.dir, `target${ext || '.raw'}.bin`);
      const r = await cli(['flash', `${raw}${ext}`, '--device', target, '--yes']);
      expect(r.code, r.output).toBe(0);
      expect(r.output).toMatch(/writing .*MiB.*MB\/s/);
      expect(r.stdout).toMatch(/verified: sha256 [0-9a-f]{64}/);
      expect(sha(target)).toBe(sha(raw));
    });
  }

  it('catches a byte flipped after the write', async () => {
    const target = join(tmp.dir, 'flipped.bin');
    const flip = (path: string) => {
      const fd = openSync(path, 'r+');
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, 5_000_000);
      b[0] = b[0]! ^ 0x01;
      writeSync(fd, b, 0, 1, 5_000_000);
      closeSync(fd);
    };
    await expect(flashImage({ image: `${raw}.zst`, target: checkTarget(target, linuxSystem), afterWrite: flip })).rejects.toThrow(VerifyError);
    await expect(flashImage({ image: raw, target: checkTarget(target, linuxSystem), afterWrite: flip })).rejects.toThrow(/verification failed: .* reads back with sha256/);
    // and without the flip the same target verifies
    const ok = await flashImage({ image: raw, target: checkTarget(target, linuxSystem) });
    expect(ok).toMatchObject({ verified: true, bytes: statSync(raw).size });
  });

  it('catches a corrupt download by its .sha256 file', async () => {
    const copy = join(tmp.dir, 'download.img.zst');
    writeFileSync(copy, readFileSync(`${raw}.zst`));
    writeFileSync(`${copy}.sha256`, `${'0'.repeat(64)}  download.img.zst\n`);
    const r = await cli(['flash', copy, '--device', join(tmp.dir, 'dl.bin'), '--yes']);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/does not match download\.img\.zst\.sha256/);
    writeFileSync(`${copy}.sha256`, `${sha(copy)}  download.img.zst\n`);
    const good = await cli(['flash', copy, '--device', join(tmp.dir, 'dl.bin'), '--yes']);
    expect(good.stdout).toMatch(/image file matches its \.sha256/);
  });

  it('refuses the mounted system disk', async () => {
    const root = parseMounts(readFileSync('/proc/self/mounts', 'utf8')).find((m) => m.mountpoint === '/' && m.device.startsWith('/dev/'));
    const disk = root && linuxSystem.blockName(linuxSystem.realpath(root.device));
    if (!root || !disk) return console.log('the root file system is not on a block device here; the refusal rules are unit-tested with a fake system');
    const whole = linuxSystem.isPartition(disk) ? linuxSystem.parentDisk(disk) : disk;
    const r = await cli(['flash', raw, '--device', `/dev/${whole}`, '--yes']);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(new RegExp(`/dev/${whole} is a system disk: \\S+ is mounted at /`));
    if (linuxSystem.isPartition(disk)) expect((await cli(['flash', raw, '--device', `/dev/${disk}`, '--yes'])).output).toMatch(/is a partition/);
  });

  it('asks before overwriting; without a terminal it needs --yes', async () => {
    const target = join(tmp.dir, 'existing.bin');
    writeFileSync(target, 'keep me');
    const r = await cli(['flash', raw, '--device', target]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/refusing to overwrite file .*existing\.bin \(exists\) without confirmation: pass --yes/);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
  });
});
