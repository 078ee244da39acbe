// `sosna flash IMAGE --device /dev/sdX|FILE`: refuses system disks, mounted and busy devices, asks before
// overwriting (unless --yes), writes with progress (MB/s, ETA), syncs, reads back and verifies the sha256.
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { checkTarget, flashImage, formatProgress, linuxSystem } from '@sosna/provisioning';
import type { FlashProgress } from '@sosna/provisioning';

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^(y|yes)$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function registerFlash(program: Command): void {
  program
    .command('flash <image>')
    .description('write an image (.img, .img.zst, .img.xz) to a disk or file, then read it back and verify the sha256')
    .requiredOption('--device <target>', 'whole disk (/dev/sdX, /dev/disk/by-id/...) or an image file')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--no-verify', 'skip reading back (not recommended)')
    .action(async (image: string, o: { device: string; yes?: boolean; verify: boolean }) => {
      const target = checkTarget(o.device, linuxSystem, image);
      const what = target.kind === 'block' ? `disk ${target.path}${target.sizeBytes ? ` (${(target.sizeBytes / 1e9).toFixed(1)} GB)` : ''}` : `file ${target.path}${target.exists ? ' (exists)' : ''}`;
      if (!o.yes) {
        if (!process.stdin.isTTY) throw new Error(`refusing to overwrite ${what} without confirmation: pass --yes`);
        if (!(await confirm(`Everything on ${what} will be overwritten with ${image}. Continue? [y/N] `))) {
          process.stderr.write('cancelled\n');
          process.exitCode = 1;
          return;
        }
      }
      const tty = process.stderr.isTTY;
      let lastLine = 0;
      const onProgress = (p: FlashProgress) => {
        const done = p.total !== null && p.bytes >= p.total;
        if (tty) process.stderr.write(`\r${formatProgress(p)}\x1b[K${done ? '\n' : ''}`);
        else if (done || Date.now() - lastLine > 2000) {
          lastLine = Date.now();
          process.stderr.write(`${formatProgress(p)}\n`);
        }
      };
      const r = await flashImage({ image, target, verify: o.verify, onProgress });
      const mb = r.bytes / 1e6;
      process.stdout.write(
        `flashed ${image} (${r.format}) to ${target.path}: ${mb.toFixed(1)} MB in ${r.writeSeconds.toFixed(1)} s (${(mb / Math.max(r.writeSeconds, 1e-3)).toFixed(1)} MB/s), synced\n` +
          (r.verified ? `verified: sha256 ${r.sha256} read back in ${r.verifySeconds.toFixed(1)} s\n` : 'not verified (--no-verify)\n') +
          (r.checksumFile ? `image file matches its .sha256\n` : ''),
      );
    });
}
