// The hub as a fallback seed of a job's input (`jobs submit --input DIR --hub-seed`), end to end with real
// processes: a hub (jobs.inputSeed on, a disk bound), two agents (distinct owners) from the single-file bundle
// on a private Docker Engine, and the buyer's real CLI. Both devices are offline when the job is submitted:
// the hub fetches the input from the buyer's machine, the buyer's CLI sees the hub has it and exits (its seed
// gone), then the devices come online and get the input from the hub (and each other), and the job succeeds
// with the right bytes. The hub's copy is removed when the job ends. An input over the hub's bound is refused
// at submit with the numbers and the config key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, start } from './procs.js';
import { waitFor } from './helpers.js';
import { SKIP_DOCKER } from './docker.js';
import { JobFleet } from './job-fleet.js';

const MAX = 6 * 1024 * 1024;
let fleet: JobFleet;
const sosna = (args: string[]) => fleet.console(args);

interface Run { id: string; deviceId: string; state: string; digest: string | null }
interface Job { id: string; state: string; digest: string | null; runs: Run[]; inputSeed?: { state: string; have: number; total: number } }
const show = (jobId: string) => fleet.job<Job>(jobId);

beforeAll(async () => {
  if (SKIP_DOCKER) return;
  fleet = await JobFleet.start('sosna-jobs-hub-seed-e2e-', { jobs: { leaseSec: 30, offlineGraceSec: 30, tickMs: 250, maxRetries: 1, inputSeed: { enabled: true, host: '127.0.0.1', maxBytes: MAX } } });
}, 180_000);

afterAll(() => fleet?.stop(), 120_000);

describe.skipIf(SKIP_DOCKER)('the hub as a fallback seed of a job input', { timeout: 600_000 }, () => {
  it('fetches the input from the buyer, who then goes offline, and the devices get it from the hub', async () => {
    // both devices register, then go offline: the hub knows two owners, and no device can take a run yet
    const ids = [await fleet.startAgent(1, 'alice'), await fleet.startAgent(2, 'bob')];
    await fleet.stopAgents([1, 2], ids);

    const buyer = join(fleet.tmp.dir, 'buyer');
    // over the hub's bound: refused at submit, nothing queued
    mkdirSync(join(buyer, 'huge'), { recursive: true });
    writeFileSync(join(buyer, 'huge', 'big.bin'), randomBytes(MAX + 1));
    const refused = await sosna(['jobs', 'submit', '--image', fleet.engine.images.local, '--bid', '0', '--replicas', '2', '--timeout', '5m', '--input', join(buyer, 'huge'), '--hub-seed', '--seed-host', '127.0.0.1', '--', 'true']);
    expect(refused.code, refused.output).not.toBe(0);
    expect(refused.output).toMatch(new RegExp(`--hub-seed: the input is ${MAX + 1} bytes and the hub holds 0 of at most ${MAX} bytes of job inputs \\(hub config jobs\\.inputSeed\\.maxBytes\\)`));

    const inputDir = join(buyer, 'dataset');
    mkdirSync(inputDir, { recursive: true });
    const data = randomBytes(4 * 1024 * 1024);
    writeFileSync(join(inputDir, 'big.bin'), data);
    const sum = createHash('sha256').update(data).digest('hex');
    const script = 'sha256sum /input/dataset/big.bin | cut -d" " -f1 > /output/sum';
    const submit = start([CLI, 'console', 'jobs', 'submit', '--image', fleet.engine.images.local, '--bid', '0', '--replicas', '2', '--timeout', '5m', '--input', inputDir, '--hub-seed', '--seed-host', '127.0.0.1', '--output', '/output', '--', 'sh', '-c', script], { env: fleet.profile() });
    const jobId = (await submit.waitFor(/^(j-[a-z0-9]+)$/m, 60_000))[1]!;
    // the buyer's CLI leaves once the hub has the whole input: its seed is gone from here on
    expect(await submit.exited, submit.output()).toBe(0);
    expect(submit.output()).toMatch(/the hub has the input \(4194304 bytes\) and seeds it until the job ends/);
    const held = await show(jobId);
    expect(held.state).toBe('queued');
    expect(held.inputSeed).toEqual({ state: 'seeding', have: data.length, total: data.length });
    const copy = join(fleet.hubDir, 'input-seeds', jobId);
    expect(existsSync(copy)).toBe(true);

    // the devices come back: their only seed is the hub now
    for (const [n, i] of [[1, 'alice'], [2, 'bob']] as const) expect(await fleet.startAgent(n, i)).toBe(ids[n - 1]);
    const job = await fleet.finished<Job>(jobId);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    expect(job.digest).toMatch(/^btih:[0-9a-f]{40}$/);
    const runs = job.runs.filter((r) => r.state === 'succeeded');
    expect(runs.map((r) => r.digest)).toEqual([job.digest, job.digest]);
    for (const r of runs) {
      const i = ids.indexOf(r.deviceId) + 1;
      expect(readFileSync(join(fleet.stateDir(i), 'data', r.id, 'output', 'sum'), 'utf8').trim()).toBe(sum);
    }
    // the job is over: the hub's copy of its input is gone
    await waitFor("the hub's copy of the input removed", () => !existsSync(copy) || null, 30_000, 250);
    expect((await show(jobId)).inputSeed).toBeUndefined();
  });
});
