// Receipts: `sosna console jobs receipts JOB [--out DIR]` (a job's signed run receipts, written as
// self-contained files), `sosna console devices key DEVICE [--clear]` (a device's registered key) and the
// offline `sosna verify RECEIPT [--key KEY] [--hub-owner ADDRESS] [--input PATH|btih:HASH]`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { keyFingerprint, receiptFile, receiptsService, verifyReceiptFile } from '@sosna/protocol';
import type { DeviceKeyInfo, ReceiptCheck } from '@sosna/protocol';
import { connOptions } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';
import { table } from '../table.js';
import { packInput } from './job-data.js';

type Conn = ConnFlags;

/** The file name of a run's receipt. */
export const receiptFileName = (runId: string) => `${runId}.receipt.json`;

/** `--key`: the key text (`ed25519:...`), or a file holding it or the JSON of `devices key --json`. */
export function readKeyFlag(value: string): string {
  if (value.startsWith('ed25519:')) return value;
  let text: string;
  try {
    text = readFileSync(value, 'utf8').trim();
  } catch (err) {
    throw new Error(`--key ${JSON.stringify(value)}: neither a key (ed25519:...) nor a readable file: ${(err as Error).message}`);
  }
  if (text.startsWith('{')) {
    try {
      const k = (JSON.parse(text) as { binding?: { publicKey?: unknown } }).binding?.publicKey;
      if (typeof k === 'string') return k;
    } catch {
      /* falls through to the error below */
    }
    throw new Error(`--key ${value}: the JSON has no binding.publicKey (save the output of sosna console devices key DEVICE --json)`);
  }
  if (!text.startsWith('ed25519:')) throw new Error(`--key ${value}: the file does not hold a key of the form ed25519:...`);
  return text;
}

/** `--input`: btih:HASH or a bare 40-digit info hash as given; a path is packed as `jobs submit --input` packs it. */
export async function inputHashOf(value: string): Promise<string> {
  const m = /^(?:btih:)?([0-9a-fA-F]{40})$/.exec(value);
  if (m && !existsSync(value)) return `btih:${m[1]!.toLowerCase()}`;
  const packed = await packInput(value);
  return `btih:${packed.infoHash}`;
}

export function formatCheck(file: string, r: ReceiptCheck): string {
  if (!r.ok) return `${file}: FAILED (${r.kind}${r.field ? `, field ${r.field}` : ''}): ${r.reason}`;
  const x = r.receipt;
  const lines = [
    `${file}: OK: receipt of run ${x.runId} (job ${x.jobId}) signed by device ${x.deviceId}'s registered key ${r.publicKey} (${keyFingerprint(r.publicKey)})`,
    `  key vouched for by hub ${r.hubId}, owner ${r.hubOwner}`,
    `  image ${x.image} = ${x.imageId}${x.repoDigests.length ? ` (${x.repoDigests.join(', ')})` : ''}`,
    `  exit code ${x.exitCode ?? '-'}, output ${x.outputDigest ?? '-'}, input ${x.inputHash ?? '-'}, billed ${x.billedSeconds} s, finished ${new Date(x.finishedAt).toISOString()}`,
  ];
  if (r.pinned.inputHash) lines.push(`  input matches the one given (--input)`);
  if (!r.pinned.key && !r.pinned.hubOwner) {
    lines.push(`  note: nothing was pinned: pass --key (sosna console devices key ${x.deviceId}) or --hub-owner (the hub card's owner) to check that this is the key you expect`);
  }
  return lines.join('\n');
}

export function formatKey(k: DeviceKeyInfo): string {
  const lines: string[] = [];
  if (k.binding) {
    lines.push(k.binding.publicKey, `  device ${k.deviceId}, fingerprint ${k.fingerprint}, registered ${new Date(k.binding.registeredAt).toISOString()}, vouched for by hub ${k.binding.hubId} (owner ${k.binding.hubOwner})`);
  } else lines.push(`device ${k.deviceId} has no registered key (it registers one when it next connects)`);
  for (const p of k.previous) lines.push(`  cleared: ${p.publicKey} (registered ${new Date(p.registeredAt).toISOString()}, cleared ${new Date(p.clearedAt).toISOString()} by ${p.clearedBy})`);
  if (k.refused) lines.push(`  REFUSED: the device presented another key ${k.refused.publicKey} at ${new Date(k.refused.at).toISOString()}; an admin may accept it with --clear`);
  return lines.join('\n');
}

const json = (v: unknown) => JSON.stringify(v, null, 2);

export function registerReceipts(consoleCmd: Command, session: ConsoleSession): void {
  const jobs = consoleCmd.commands.find((c) => c.name() === 'jobs')!;
  const devices = consoleCmd.commands.find((c) => c.name() === 'devices')!;
  connOptions(jobs.command('receipts <jobId>').description("a job's run receipts, signed by the devices (only the job's submitter or an admin)"))
    .option('--out <dir>', 'write each as a self-contained file DIR/RUN.receipt.json (check with sosna verify)')
    .option('--json', 'machine-readable output (the receipt files)')
    .action(async (jobId: string, o: Conn & { out?: string; json?: boolean }) => {
      const r = await session.withConsole(o, (c) => c.call(receiptsService, 'list', { jobId }));
      const files = r.receipts.map((e) => receiptFile({ receipt: e.receipt, publicKey: e.deviceKey.publicKey, signature: e.signature }, e.deviceKey));
      if (o.out) {
        mkdirSync(o.out, { recursive: true });
        for (const f of files) writeFileSync(join(o.out, receiptFileName(f.receipt.runId)), `${json(f)}\n`);
      }
      if (o.json) return void process.stdout.write(`${json(files)}\n`);
      if (files.length === 0) return void process.stdout.write(`job ${jobId} has no receipts yet: a device signs one when its run ends\n`);
      process.stdout.write(`${table(['RUN', 'DEVICE', 'EXIT', 'BILLED', 'OUTPUT', 'IMAGE ID', 'KEY'], files.map((f) => {
        const x = f.receipt;
        return [x.runId, x.deviceId, x.exitCode === null ? '-' : String(x.exitCode), `${x.billedSeconds}s`, x.outputDigest ?? '-', x.imageId.slice(0, 19), keyFingerprint(f.deviceKey.publicKey)];
      }))}\n`);
      if (o.out) process.stdout.write(`wrote ${files.length} receipt file(s) to ${o.out}; check one with sosna verify ${join(o.out, receiptFileName(files[0]!.receipt.runId))}\n`);
    });

  connOptions(devices.command('key <deviceId>').description("a device's registered key (receipts are signed with it); --clear lets it register a new one (admin)"))
    .option('--clear', 'forget the registered key (kept as cleared): the device registers its current key on its next connection')
    .option('--reason <text>', 'why (logged)')
    .option('--json', 'machine-readable output')
    .action(async (deviceId: string, o: Conn & { clear?: boolean; reason?: string; json?: boolean }) => {
      const k = await session.withConsole(o, (c) =>
        o.clear ? c.call(receiptsService, 'clearDeviceKey', { deviceId, ...(o.reason ? { reason: o.reason } : {}) }) : c.call(receiptsService, 'deviceKey', { deviceId }));
      process.stdout.write(o.json ? `${json(k)}\n` : `${formatKey(k)}\n`);
    });
}

export function registerVerify(program: Command): void {
  program
    .command('verify <receipt>')
    .description("check a run receipt file offline: the device signature, the hub's binding of the device key, and what you pin")
    .option('--key <key>', "the device's registered key as the hub gave it (sosna console devices key DEVICE): ed25519:..., or a file with it")
    .option('--device-key <key>', 'same as --key')
    .option('--hub-owner <address>', "the hub owner address you trust (the hub card's owner)")
    .option('--input <path|hash>', "the input you submitted (the file or folder, or btih:HASH): the receipt must name its torrent's info hash")
    .option('--json', 'machine-readable result')
    .action(async (file: string, o: { key?: string; deviceKey?: string; hubOwner?: string; input?: string; json?: boolean }) => {
      const keyFlag = o.key ?? o.deviceKey;
      const inputHash = o.input === undefined ? undefined : await inputHashOf(o.input);
      const key = keyFlag !== undefined ? readKeyFlag(keyFlag) : undefined;
      if (o.hubOwner !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(o.hubOwner)) throw new Error(`--hub-owner ${JSON.stringify(o.hubOwner)}: use a 0x address of 40 hex digits`);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new Error(`${file}: cannot read the receipt: ${(err as Error).message}`);
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw new Error(`${file}: malformed receipt file: not JSON: ${(err as Error).message}`);
      }
      const r = verifyReceiptFile(value, { ...(key ? { key } : {}), ...(o.hubOwner ? { hubOwner: o.hubOwner } : {}), ...(inputHash ? { inputHash } : {}) });
      if (o.json) process.stdout.write(`${json({ file, ...r })}\n`);
      else (r.ok ? process.stdout : process.stderr).write(`${formatCheck(file, r)}\n`);
      if (!r.ok) process.exitCode = 1;
    });
}
