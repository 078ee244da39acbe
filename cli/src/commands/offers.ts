// `sosna console offers`: capacity free now on the hub's devices, by hardware class, with the asks. It
// takes the requirement flags of `jobs submit` (requirementOptions) and builds them with the same
// specFromFlags and JobSpec, and the hub matches them with the scheduler's own matcher.
import type { Command } from 'commander';
import { JobSpec, offersService, parseOrThrow, snm } from '@sosna/protocol';
import type { OfferClass, OfferRequirements } from '@sosna/protocol';
import { connOptions } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';
import { REQUIREMENT_FLAGS, requirementOptions, specFromFlags, withFlagNames } from './jobs.js';
import type { SubmitFlags } from './jobs.js';
import { bytes, table } from '../table.js';

/** The hub's requirements from the flags: resources only when a resource flag is given (else any free device). */
export function offerRequirements(o: SubmitFlags): OfferRequirements {
  const flags = { ...Object.fromEntries(REQUIREMENT_FLAGS.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])), image: 'offers' } as SubmitFlags;
  let spec: JobSpec;
  try {
    spec = parseOrThrow(JobSpec, specFromFlags(flags, []), 'invalid requirements');
  } catch (err) {
    if (err instanceof Error) err.message = withFlagNames(err.message, flags);
    throw err;
  }
  const resourceGiven = (['cpus', 'memory', 'disk', 'gpus', 'gpuVendor', 'gpuModel', 'gpuVramMin'] as const).some((k) => o[k] !== undefined);
  return {
    ...(resourceGiven ? { resources: spec.resources } : {}),
    ...(spec.constraints ? { constraints: spec.constraints } : {}),
    ...(o.bid !== undefined ? { bid: spec.bid } : {}),
  };
}

export function offerRows(classes: OfferClass[]): string[][] {
  return classes.map((c) => [
    String(c.devices),
    c.gpu ? `${c.gpuCount}x ${c.gpu}` : '-',
    c.vramBytes === null ? '-' : bytes(c.vramBytes),
    c.cpu ?? '-',
    c.cores === null ? '-' : String(c.cores),
    bytes(c.memoryBytes),
    c.arch ?? '-',
    c.region ?? '-',
    Object.entries(c.benchmarks).map(([k, v]) => `${k}>=${v}`).join(' ') || '-',
    `${c.askMin}`,
    `${c.askMedian}`,
    `${snm(c.askMedian * 3600n)}`,
  ]);
}

const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);

export function registerOffers(consoleCmd: Command, session: ConsoleSession): void {
  requirementOptions(connOptions(consoleCmd.command('offers').description('capacity free now, by hardware class, with the asks (the same requirement flags as jobs submit)')))
    .option('--json', 'machine-readable output')
    .action(async (o: SubmitFlags & ConnFlags & { json?: boolean }) => {
      const req = offerRequirements(o);
      const r = await session.withConsole(o, (c) => c.call(offersService, 'list', req as never));
      if (o.json) return void process.stdout.write(`${json(r)}\n`);
      if (r.classes.length === 0) {
        return void process.stdout.write(`nothing on offer${Object.keys(req).length ? ' for these requirements' : ''}: ${r.online} device(s) online, none free${Object.keys(req).length ? ' that meets them' : ''}\n`);
      }
      process.stdout.write(`${table(['FREE', 'GPU', 'VRAM', 'CPU', 'CORES', 'MEMORY', 'ARCH', 'REGION', 'BENCHMARKS', 'ASK MIN', 'ASK MEDIAN', 'SNM/h'], offerRows(r.classes))}\n`);
      process.stdout.write(`${r.free} device(s) free now of ${r.online} online; asks in token wei per second\n`);
    });
}
