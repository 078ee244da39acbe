// `sosna console jobs ...` and `sosna console earnings`: buyers' jobs through the hub's console service.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { earningsService, formatSnm, formatWei, jobsService, JobSpec, JobState, parseOrThrow, parsePricePerSec, PRICE_FORMS, snm } from '@sosna/protocol';
import type { JobDetail, JobSpecInput, JobSummary } from '@sosna/protocol';
import { parseSize } from './console.js';
import type { ConsoleClient } from '@sosna/hub';
import { connOptions } from './console-session.js';
import { worstCase } from '@sosna/contracts';
import { buyerKey, depositForJob, fundingLine, parseDeposit, registerEscrow } from './escrow.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';
import { ago, bytes, table } from '../table.js';
import { downloadOutput, outputSources, packInput, progressWriter, runsAwaitingInput, seedInput } from './job-data.js';

/** `90`, `90s`, `15m`, `2h`, `1d` as whole seconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(text);
  if (!m) throw new Error(`duration ${JSON.stringify(text)}: use seconds or a number with s, m, h or d, e.g. 90s or 2h`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2]!.toLowerCase() as '' | 's' | 'm' | 'h' | 'd'];
}

export interface SubmitFlags {
  image?: string; imageArchive?: string; imageSha256?: string; cpus?: string; memory?: string; pids?: string; disk?: string;
  gpus?: string; gpuVendor?: string; gpuModel?: string; gpuVramMin?: string; replicas?: string; verify?: boolean; timeout?: string; bid?: string;
  env?: string[]; service?: boolean; port?: string[]; network?: boolean; writableRoot?: boolean; output?: string; outputLimit?: string; stall?: string; arch?: string; spec?: string;
  input?: string; seedHost?: string; seedPort?: string; hubSeed?: boolean;
}

const number = (flag: string, text: string) => {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} ${JSON.stringify(text)}: not a number`);
  return n;
};

/** A size flag: the error names the flag, the value and the form (not the spec's byte field). */
const size = (flag: string, text: string) => {
  try {
    return parseSize(text);
  } catch {
    throw new Error(`${flag} ${JSON.stringify(text)}: use a size like 256M or 2G (a number with K, M, G or T)`);
  }
};

/** The bid: token wei per second, or SNM per s/min/h, exact. */
export function parseBid(text: string): bigint {
  try {
    return parsePricePerSec(text);
  } catch (err) {
    throw new Error(`--bid ${JSON.stringify(text)}: ${(err as Error).message}`);
  }
}

/** A job submitted without --bid pays nothing: say so, since a buyer may not expect free work to be what runs. */
export function bidWarning(o: SubmitFlags): string | null {
  if (o.spec || o.bid !== undefined) return null;
  return (
    'warning: no --bid: this job pays devices nothing, so only devices that ask 0 take it. ' +
    `Pass --bid 0 to run it for free on purpose, or a price (${PRICE_FORMS})\n`
  );
}

/** The spec's field paths and the flags that set them, for errors from the schema here or on the hub. */
const FLAG_OF: [string, keyof SubmitFlags, string][] = [
  ['resources.memoryBytes', 'memory', '--memory'], ['resources.cpus', 'cpus', '--cpus'], ['resources.pids', 'pids', '--pids'],
  ['resources.diskBytes', 'disk', '--disk'], ['resources.gpus.count', 'gpus', '--gpus'], ['resources.gpus.vramMin', 'gpuVramMin', '--gpu-vram-min'],
  ['resources.gpus.vendor', 'gpuVendor', '--gpu-vendor'], ['resources.gpus.model', 'gpuModel', '--gpu-model'],
  ['imageArchive.url', 'imageArchive', '--image-archive'], ['imageArchive.sha256', 'imageSha256', '--image-sha256'],
  ['timeoutSec', 'timeout', '--timeout'], ['bid', 'bid', '--bid'], ['replicas', 'replicas', '--replicas'], ['image', 'image', '--image'],
  ['watchdog.stallSec', 'stall', '--stall'], ['output.path', 'output', '--output'], ['constraints.arch', 'arch', '--arch'],
  ['ports', 'port', '--port'], ['env', 'env', '--env'], ['output.maxBytes', 'outputLimit', '--output-limit'], ['input.hubSeed', 'hubSeed', '--hub-seed'], ['input', 'input', '--input'],
];

/** Rewrites `resources.memoryBytes: must be ...` (from JobSpec, here or on the hub) as `--memory "1K": must be ...`. */
export function withFlagNames(message: string, o: SubmitFlags): string {
  if (o.spec) return message;
  return message.replace(/\b([A-Za-z]+(?:\.[A-Za-z0-9]+)*): /g, (all, found: string) => {
    const path = found.replace(/^(?:[A-Za-z0-9]+\.)*?spec\./, ''); // the hub names params.spec.* or spec.*
    const hit = FLAG_OF.find(([p]) => path === p || path.startsWith(`${p}.`));
    if (!hit) return all;
    const v = o[hit[1]];
    const shown = v === undefined || typeof v === 'boolean' ? '' : ` ${JSON.stringify(Array.isArray(v) ? v.join(' ') : v)}`;
    return `${hit[2]}${shown}: `;
  });
}

/** The job spec from the command line (the hub validates it again; unknown fields never get this far). */
export function specFromFlags(o: SubmitFlags, command: string[]): JobSpecInput {
  if (o.spec) {
    let spec: unknown;
    try {
      spec = JSON.parse(readFileSync(o.spec, 'utf8'));
    } catch (err) {
      throw new Error(`--spec ${o.spec}: ${(err as Error).message}`);
    }
    if (command.length) (spec as { command?: string[] }).command = command;
    return spec as JobSpecInput;
  }
  if (!o.image) throw new Error('--image is required (or --spec FILE)');
  const env: Record<string, string> = {};
  for (const e of o.env ?? []) {
    const eq = e.indexOf('=');
    if (eq <= 0) throw new Error(`--env ${JSON.stringify(e)}: use NAME=VALUE`);
    env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  const ports = (o.port ?? []).map((p) => {
    const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(p);
    if (!m) throw new Error(`--port ${JSON.stringify(p)}: use PORT or PORT/udp`);
    return { port: Number(m[1]), protocol: (m[2] ?? 'tcp') as 'tcp' | 'udp' };
  });
  const gpus = o.gpus !== undefined || o.gpuVramMin !== undefined || o.gpuVendor !== undefined || o.gpuModel !== undefined
    ? {
        count: o.gpus !== undefined ? number('--gpus', o.gpus) : 1,
        ...(o.gpuVendor ? { vendor: o.gpuVendor as 'nvidia' } : {}),
        ...(o.gpuModel ? { model: o.gpuModel } : {}),
        ...(o.gpuVramMin ? { vramMin: size('--gpu-vram-min', o.gpuVramMin) } : {}),
      }
    : undefined;
  return {
    image: o.image,
    ...(o.imageArchive ? { imageArchive: { url: o.imageArchive, ...(o.imageSha256 ? { sha256: o.imageSha256 } : {}) } } : {}),
    command,
    env,
    resources: {
      ...(o.cpus !== undefined ? { cpus: number('--cpus', o.cpus) } : {}),
      ...(o.memory !== undefined ? { memoryBytes: o.memory.trim().startsWith('-') ? number('--memory', o.memory) : size('--memory', o.memory) } : {}),
      ...(o.pids !== undefined ? { pids: number('--pids', o.pids) } : {}),
      ...(o.disk !== undefined ? { diskBytes: size('--disk', o.disk) } : {}),
      ...(gpus ? { gpus } : {}),
    },
    ...(o.timeout !== undefined ? { timeoutSec: parseDuration(o.timeout) } : {}),
    ...(o.bid !== undefined ? { bid: parseBid(o.bid).toString() } : {}),
    ...(o.replicas !== undefined ? { replicas: number('--replicas', o.replicas) } : {}),
    ...(o.verify === false ? { verify: false } : {}),
    kind: o.service ? 'service' : 'batch',
    ports,
    network: o.network || ports.length > 0,
    ...(o.writableRoot ? { writableRoot: true } : {}),
    // the output folder is shared as a torrent (its info hash is the result digest; jobs results downloads it)
    ...(o.output ? { output: { path: o.output, torrent: true, ...(o.outputLimit !== undefined ? { maxBytes: size('--output-limit', o.outputLimit) } : {}) } } : {}),
    ...(o.stall ? { watchdog: { stallSec: parseDuration(o.stall) } } : {}),
    ...(o.arch ? { constraints: { arch: o.arch } } : {}),
  };
}

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);
const secs = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`);
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);

export function jobRows(jobs: JobSummary[], now = Date.now()): string[][] {
  return jobs.map((j) => [j.id, j.state, j.kind, j.image, String(j.replicas), `${j.bid}`, j.devices.join(',') || '-', ago(j.createdAt, now), j.reason ?? j.endpoints.join(' ')]);
}

export function formatJob(j: JobDetail): string {
  const s = j.spec;
  const lines = [
    `job ${j.id}: ${j.state}${j.reason ? ` (${j.reason})` : ''}`,
    `  ${s.kind}, image ${s.image}, ${s.resources.cpus} CPU, ${bytes(s.resources.memoryBytes)}, limit ${s.timeoutSec}s, bid ${s.bid} wei/s (${snm(BigInt(s.bid) * 3600n)} SNM/h), replicas ${j.replicas}, retries ${j.retries}`,
    `  command: ${s.command.length ? JSON.stringify(s.command) : '(image default)'}`,
  ];
  if (j.digest) lines.push(`  digest: ${j.digest}`);
  if (j.exitCode !== null) lines.push(`  exit code: ${j.exitCode}`);
  if (j.endpoints.length) lines.push(`  endpoints: ${j.endpoints.join(' ')}`);
  if (j.inputSeed) lines.push(`  hub seed of the input: ${j.inputSeed.state} (${j.inputSeed.have} of ${j.inputSeed.total} bytes)${j.inputSeed.reason ? `: ${j.inputSeed.reason}` : ''}`);
  if (j.runs.length) {
    lines.push('', table(
      ['RUN', 'DEVICE', 'OWNER', 'STATE', 'EXIT', 'RAN', 'BILLED', 'AMOUNT', 'VERDICT', 'REASON'],
      j.runs.map((r) => [r.id, r.deviceId, r.owner, r.state, r.exitCode === null ? '-' : String(r.exitCode), secs(r.runtimeMs), r.billedSec === null ? '-' : `${r.billedSec}s`, r.amount === null ? '-' : `${r.amount}`, r.verdict ?? '-', r.reason ?? (r.endpoints.join(' ') || '')]),
    ));
  }
  lines.push('', table(['TIME', 'RUN', 'MOVE', 'REASON'], j.events.map((e) => [clock(e.at), e.runId ?? 'job', `${e.from ?? '-'} -> ${e.to}`, e.reason ?? ''])));
  return lines.join('\n');
}

const conn = (cmd: Command) => connOptions(cmd, '--call-timeout');

/** The flags that say what a job needs of a device: `jobs submit` and `offers` share them (and specFromFlags reads them). */
export const REQUIREMENT_FLAGS = ['cpus', 'memory', 'disk', 'gpus', 'gpuVendor', 'gpuModel', 'gpuVramMin', 'arch', 'bid'] as const satisfies readonly (keyof SubmitFlags)[];
export function requirementOptions(cmd: Command): Command {
  return cmd
    .option('--cpus <n>', 'CPUs (fractions allowed)')
    .option('--memory <size>', 'memory limit, e.g. 512M or 2G (the job is OOM-killed above it)')
    .option('--disk <size>', 'free disk the device must have')
    .option('--gpus <n>', 'GPUs')
    .option('--gpu-vendor <vendor>', 'nvidia, amd or intel')
    .option('--gpu-model <text>', 'GPU name contains this, e.g. "RTX 4090"')
    .option('--gpu-vram-min <size>', 'memory of each GPU, e.g. 8G')
    .option('--arch <arch>', 'only devices of this CPU architecture')
    .option('--bid <price>', 'most you pay per second of running: token wei (1000), or SNM per s, min or h (0.36SNM/h); without it the job pays nothing');
}
type Conn = Omit<ConnFlags, 'timeout'>;
const collect = (v: string, acc: string[] = []) => [...acc, v];

export function registerJobs(program: Command, session: ConsoleSession): void {
  // `--timeout` on these commands is the job's duration limit; the call time-out is `--call-timeout`
  const connect = <T>(o: Conn, fn: (c: ConsoleClient) => Promise<T>) => {
    const { timeout: _jobLimit, ...flags } = o as ConnFlags;
    return session.withConsole<T>(flags, fn);
  };
  const consoleCmd = program.commands.find((c) => c.name() === 'console') ?? program.command('console');
  const jobs = consoleCmd.command('jobs').description("buyers' jobs: containers on matching devices");

  requirementOptions(conn(jobs.command('submit').description('queue a job: sosna console jobs submit --image IMAGE [options] -- COMMAND...')))
    .argument('[command...]', 'command and arguments (after --)')
    .option('--image <ref>', 'image reference, e.g. busybox:1.36 or registry.example:5000/app:2')
    .option('--image-archive <url>', 'a docker save archive (http/https) that provides the image')
    .option('--image-sha256 <digest>', 'expected sha256:... of the archive')
    .option('--pids <n>', 'process limit')
    .option('--replicas <n>', 'run on n devices of distinct owners; the majority output digest wins')
    .option('--no-verify', "the output is not reproducible (times, randomness): the hub does not re-run it elsewhere to check it")
    .option('--timeout <duration>', 'duration limit, e.g. 90s, 15m, 2h')
    .option('--env <NAME=VALUE>', 'environment variable (repeatable)', collect)
    .option('--service', 'a service: keeps running, restarted when it dies, until its duration limit')
    .option('--port <port>', 'container port a service publishes (repeatable; implies --network)', collect)
    .option('--network', 'give the container network access (off by default)')
    .option('--writable-root', "let the job write its image's root filesystem (read-only by default: /tmp and the output's folder are writable)")
    .option('--output <dir>', "the container's output folder, e.g. /output: shared as a torrent whose info hash is the result (default: stdout's sha256); jobs results downloads it")
    .option('--output-limit <size>', 'fail a run whose output is larger than this, e.g. 1G')
    .option('--input <path>', 'a file or folder the job reads at /input/NAME (read-only), sent peer to peer from this machine, which seeds it until every run has it')
    .option('--seed-host <host>', 'the address devices reach this machine at for --input (default: its first non-loopback IPv4)')
    .option('--seed-port <port>', 'the TCP port to seed --input on (default: any free one)')
    .option('--hub-seed', 'the hub fetches --input from this machine and seeds it until the job ends: this machine may go offline once the hub has it (the hub must allow it: hub config jobs.inputSeed)')
    .option('--stall <duration>', 'watchdog: restart, then fail, a job without output or CPU time this long')
    .option('--spec <file>', 'the whole job spec as JSON (flags are ignored)')
    .option('--key <id>', 'idempotency key: submitting again with it returns the same job')
    .option('--deposit [wei]', "buyers: lock this much in the hub's escrow for the job (default: the worst case, bid x duration limit x replicas)")
    .option('--key-file <file>', 'buyers: your key that signs the deposit (or $SOSNA_BUYER_KEY_FILE); never printed')
    .option('--json', 'machine-readable output')
    .action(async (command: string[], o: SubmitFlags & Conn & { key?: string; json?: boolean; deposit?: string | true; keyFile?: string }) => {
      if (o.outputLimit !== undefined && !o.output) throw new Error('--output-limit needs --output DIR');
      if (o.hubSeed && o.input === undefined) throw new Error('--hub-seed needs --input PATH');
      // the input is read and hashed before anything is submitted: a missing or unreadable path fails here
      const packed = o.input !== undefined ? await packInput(o.input) : null;
      const spec = specFromFlags(o, command);
      const flagged = (err: unknown) => {
        if (err instanceof Error) err.message = withFlagNames(err.message, o);
        return err;
      };
      try {
        parseOrThrow(JobSpec, spec, 'invalid job spec'); // before connecting: names the flag (or field) and the reason
      } catch (err) {
        throw flagged(err);
      }
      const warning = bidWarning(o);
      if (warning) process.stderr.write(warning);
      let deposit: bigint | null = null;
      if (o.deposit !== undefined) {
        // before anything is submitted or signed: the amount against the worst case, and the key file
        const parsed = JobSpec.parse(spec);
        deposit = parseDeposit(o.deposit, worstCase(parsed), parsed);
        buyerKey(o.keyFile);
      }
      const { keyFile: _k, deposit: _d, ...conn } = o;
      const seeding = packed ? await seedInput(packed, { ...(o.seedHost ? { host: o.seedHost } : {}), ...(o.seedPort ? { port: number('--seed-port', o.seedPort) } : {}) }) : null;
      if (seeding) (spec as { input?: unknown }).input = { ...seeding.input, ...(o.hubSeed ? { hubSeed: true } : {}) };
      try {
        await connect(conn, async (c) => {
          const submitted = await c.call(jobsService, 'submit', { spec: spec as never, ...(o.key ? { key: o.key } : {}) }).catch((err: unknown) => {
            throw flagged(err);
          });
          const funding = deposit !== null && deposit > 0n ? await depositForJob(c, submitted.jobId, deposit, o.keyFile).catch((err: unknown) => { throw flagged(err); }) : null;
          const r = { ...submitted, ...(funding ? { funding } : {}) };
          process.stdout.write(o.json ? `${json(r)}\n` : `${r.jobId}\n`);
          if (!o.json && r.funding) process.stderr.write(`${fundingLine(r.funding)}\n`);
          if (!o.json) process.stderr.write(`${r.duplicate ? 'already submitted' : 'queued'}: follow it with sosna console jobs logs -f ${r.jobId}\n`);
          if (!seeding) return;
          // seed until no run still needs the input (each run past fetching it, or the job over), or (--hub-seed)
          // until the hub has all of it: the hub seeds it from then on
          process.stderr.write(`seeding the input ${seeding.input.infoHash} (${packed!.length} bytes) at ${seeding.input.seeds.join(', ')} until ${o.hubSeed ? 'the hub or ' : ''}every run has it\n`);
          const progress = progressWriter(process.stderr, 'input sent');
          let hubFailed = false;
          for (;;) {
            const j = await c.call(jobsService, 'show', { jobId: r.jobId });
            if (j.inputSeed?.state === 'seeding') {
              process.stderr.write(`the hub has the input (${j.inputSeed.total} bytes) and seeds it until the job ends: this machine may go offline\n`);
              break;
            }
            if (j.inputSeed?.state === 'failed' && !hubFailed) {
              hubFailed = true;
              process.stderr.write(`the hub could not fetch the input (${j.inputSeed.reason ?? 'no reason given'}): this machine seeds it until every run has it\n`);
            }
            const waiting = runsAwaitingInput(j);
            progress(Math.min(seeding.swarm.uploaded(), packed!.length * j.replicas), packed!.length * j.replicas, `(${waiting} run(s) still fetching; devices also feed each other)`);
            if (waiting === 0) break;
            await new Promise((res) => setTimeout(res, 1000));
          }
          process.stderr.write(`input delivered: this machine uploaded ${seeding.swarm.uploaded()} bytes\n`);
        });
      } finally {
        await seeding?.swarm.close();
      }
    });

  conn(jobs.command('results <jobId>').description("download a job's shared output (--output) from the devices that ran it; run again to resume"))
    .requiredOption('--out <dir>', 'where to put it (the output folder appears as DIR/output)')
    .option('--wait <duration>', 'give up after this long', '10m')
    .action(async (jobId: string, o: Conn & { out: string; wait: string }) => {
      const j = await connect(o, (c) => c.call(jobsService, 'show', { jobId }));
      const { infoHash, peers } = outputSources(j);
      process.stderr.write(`downloading ${infoHash} from ${peers.join(', ')}\n`);
      const r = await downloadOutput(infoHash, peers, o.out, progressWriter(process.stderr, 'output'), parseDuration(o.wait) * 1000);
      process.stdout.write(`${join(o.out, 'output')} (${r.bytes} bytes, btih:${infoHash}, every piece verified)\n`);
    });

  conn(jobs.command('ls').description('list jobs, newest first'))
    .option('--state <state>', `only jobs in this state: ${JobState.options.join(', ')}`)
    .option('--limit <n>', 'at most n jobs', '100')
    .option('--json', 'machine-readable output')
    .action(async (o: Conn & { state?: string; limit: string; json?: boolean }) => {
      if (o.state !== undefined && !JobState.safeParse(o.state).success) throw new Error(`--state ${JSON.stringify(o.state)}: use one of ${JobState.options.join(', ')}`);
      const { jobs: list } = await connect(o, (c) => c.call(jobsService, 'ls', { state: o.state as JobState | undefined, limit: number('--limit', o.limit) }));
      if (o.json) return void process.stdout.write(`${json(list)}\n`);
      if (list.length === 0) {
        return void process.stdout.write(o.state ? `no jobs in state ${o.state} (jobs ls without --state lists all)\n` : 'no jobs yet: submit one with sosna console jobs submit --image IMAGE --bid PRICE -- COMMAND\n');
      }
      process.stdout.write(`${table(['ID', 'STATE', 'KIND', 'IMAGE', 'REPL', 'BID', 'DEVICES', 'AGE', 'NOTE'], jobRows(list))}\n`);
    });

  conn(jobs.command('show <jobId>').description('a job: its spec, runs on devices, result and history'))
    .option('--json', 'machine-readable output')
    .action(async (jobId: string, o: Conn & { json?: boolean }) => {
      const j = await connect(o, (c) => c.call(jobsService, 'show', { jobId }));
      process.stdout.write(o.json ? `${json(j)}\n` : `${formatJob(j)}\n`);
    });

  conn(jobs.command('logs <jobId>').description("a job's output (stdout to stdout, stderr and sosna's notes to stderr)"))
    .option('-f, --follow', 'keep following until the job ends')
    .action(async (jobId: string, o: Conn & { follow?: boolean }) => {
      await connect(o, (c) =>
        c.call(jobsService, 'logs', { jobId, follow: o.follow ?? false }, {
          timeoutMs: o.follow ? 7 * 86_400_000 : 60_000,
          onChunk: (chunk) => {
            const p = chunk as { stream: string; data: string };
            if (p.stream === 'stdout') process.stdout.write(p.data);
            else process.stderr.write(p.stream === 'system' ? `[sosna] ${p.data}` : p.data);
          },
        }),
      );
    });

  conn(jobs.command('cancel <jobId>').description('cancel a job at whatever stage it is'))
    .option('--reason <text>', 'why (kept in the job history)')
    .action(async (jobId: string, o: Conn & { reason?: string }) => {
      const r = await connect(o, (c) => c.call(jobsService, 'cancel', { jobId, ...(o.reason ? { reason: o.reason } : {}) }));
      process.stdout.write(`${r.jobId} ${r.state}\n`);
    });

  registerEscrow(program, session); // jobs fund/funding/confirm/dispute, buyers credit

  conn(consoleCmd.command('earnings').description("device owners' earnings from finished jobs (token wei)"))
    .option('--owner <owner>', 'only this owner')
    .option('--devices', 'per device, with reputation and health')
    .option('--json', 'machine-readable output')
    .action(async (o: Conn & { owner?: string; devices?: boolean; json?: boolean }) => {
      if (o.devices) {
        const { devices } = await connect(o, (c) => c.call(earningsService, 'devices', {}));
        if (o.json) return void process.stdout.write(`${json(devices)}\n`);
        if (devices.length === 0) return void process.stdout.write('no devices have a market record yet: a device gets one when it is first given a job\n');
        process.stdout.write(`${table(['DEVICE', 'OWNER', 'REPUTATION', 'AGREED', 'DISSENTED', 'HEALTHY', 'EARNED'], devices.map((d) => [d.deviceId, d.owner, d.reputation.toFixed(3), String(d.agreed), String(d.dissented), d.healthy ? 'yes' : 'NO', `${d.amount}`]))}\n`);
        return;
      }
      const e = await connect(o, (c) => c.call(earningsService, 'list', o.owner ? { owner: o.owner } : {}));
      if (o.json) return void process.stdout.write(`${json(e)}\n`);
      if (e.owners.length === 0) {
        return void process.stdout.write(o.owner ? `no earnings for ${o.owner}: none of its devices finished a paid job on this hub\n` : 'no earnings yet: no job has finished on a device with a bid above 0 (jobs ls shows where jobs are)\n');
      }
      process.stdout.write(`${table(['OWNER', 'RUNS', 'SECONDS', 'EARNED (wei)', 'SNM'], e.owners.map((x) => [x.owner, String(x.runs), String(x.seconds), `${x.amount}`, snm(x.amount)]))}\n`);
      process.stdout.write(`total ${formatWei(e.total)} = ${formatSnm(e.total)}\n`);
      const noWallet = e.owners.filter((x) => !/^0x[0-9a-fA-F]{40}$/.test(x.owner));
      if (noWallet.length) {
        process.stdout.write(`${noWallet.map((x) => `'${x.owner}'`).join(', ')}: no wallet address; set "owner" in the device config, and payouts pay these earnings to it\n`);
      }
    });
}
