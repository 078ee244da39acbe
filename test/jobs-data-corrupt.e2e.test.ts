// A device that serves a corrupted job input, end to end with real processes: a hub, two agents
// (distinct owners) from the single-file bundle on a private Docker Engine, and the buyer's real
// `jobs submit --input`. Device 1 alone is online: it fetches the input from the buyer and runs. Then its
// copy of the input goes bad on disk (every byte it serves is wrong) and device 2 (registered before, offline
// meanwhile) comes back for the second replica while the buyer's machine is paused (SIGSTOP: so that device 2
// meets device 1 first, not a race against the buyer's seed): it fetches from device 1, finds device 1's
// pieces failing their hashes, drops it (on every connection: device 1 also dials device 2, from an ephemeral port; a peer is
// known by its peer id), fetches them from the buyer, and reports device 1 to the hub, which lowers device
// 1's reputation with the reason as a job event. The second replica's result is right: both runs agree and
// the job succeeds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, start } from './procs.js';
import type { Proc } from './procs.js';
import { waitFor } from './helpers.js';
import { SKIP_DOCKER } from './docker.js';
import { JobFleet } from './job-fleet.js';

let fleet: JobFleet;
const sosna = (args: string[]) => fleet.console(args);

interface Run { id: string; deviceId: string; state: string; digest: string | null }
interface Job { id: string; state: string; digest: string | null; runs: Run[]; events: { runId: string | null; reason: string | null }[] }
const show = (jobId: string) => fleet.job<Job>(jobId);
const reputations = async () => {
  const r = await sosna(['earnings', '--devices', '--json']);
  return Object.fromEntries((JSON.parse(r.stdout) as { deviceId: string; reputation: number }[]).map((d) => [d.deviceId, d.reputation]));
};

beforeAll(async () => {
  if (SKIP_DOCKER) return;
  fleet = await JobFleet.start('sosna-jobs-corrupt-e2e-', { jobs: { leaseSec: 30, offlineGraceSec: 30, tickMs: 250, maxRetries: 1 } });
}, 180_000);

afterAll(() => fleet?.stop(), 120_000);

describe.skipIf(SKIP_DOCKER)('a device serving a corrupted input', { timeout: 600_000 }, () => {
  it('is dropped, its pieces come from elsewhere, and the hub lowers its reputation with the reason', async () => {
    // device 2 registers, then goes offline: the hub knows two owners, and only device 1 can take a run now
    const honest = await fleet.startAgent(2, 'bob');
    await fleet.stopAgents([2], [honest]);
    const liar = await fleet.startAgent(1, 'alice');
    const inputDir = join(fleet.tmp.dir, 'buyer', 'dataset');
    mkdirSync(inputDir, { recursive: true });
    const data = randomBytes(8 * 1024 * 1024);
    writeFileSync(join(inputDir, 'big.bin'), data);
    const sum = createHash('sha256').update(data).digest('hex');
    // the sum first (device 1's is right: it read its copy before the copy went bad), then a while running
    // (device 1 serves its input while it runs: device 2 must come while it does)
    const script = 'sha256sum /input/dataset/big.bin | cut -d" " -f1 > /output/sum; sleep 90';
    const submit = start([CLI, 'console', 'jobs', 'submit', '--image', fleet.engine.images.local, '--bid', '0', '--replicas', '2', '--timeout', '5m', '--input', inputDir, '--seed-host', '127.0.0.1', '--output', '/output', '--', 'sh', '-c', script], { env: fleet.profile() });
    const jobId = (await submit.waitFor(/^(j-[a-z0-9]+)$/m, 60_000))[1]!;
    // on a timeout: what each side saw (the runs, the job's events, the data log lines of each process)
    const clues = async (err: Error): Promise<never> => {
      const lines = (p: Proc) => p.output().split('\n').filter((l) => /piece|peer|input|fetch|seed/i.test(l)).slice(-15).join('\n');
      err.message += `\njob: ${JSON.stringify(await show(jobId).catch(() => null))}\ndevice 1:\n${lines(fleet.agents[1]!)}\ndevice 2:\n${lines(fleet.agents[2]!)}\nbuyer:\n${lines(submit)}`;
      throw err;
    };
    const first = await waitFor('device 1 runs the job (its input fetched)', async () => (await show(jobId)).runs.find((r) => r.deviceId === liar && r.state === 'running') ?? null, 120_000, 500);
    // device 1's copy goes bad under it: torrent-stream serves what is on disk
    const copy = join(fleet.stateDir(1), 'data', first.id, 'input', 'dataset', 'big.bin');
    expect(existsSync(copy) && statSync(copy).size).toBe(data.length);
    writeFileSync(copy, randomBytes(data.length));
    const before = (await reputations())[liar]!;

    submit.child.kill('SIGSTOP');
    expect(await fleet.startAgent(2, 'bob')).toBe(honest);
    const event = await waitFor('the hub counts the corrupted piece against device 1', async () => {
      const j = await show(jobId);
      return j.events.find((e) => e.reason?.startsWith(`corrupted input piece: device ${liar} reported by device ${honest}`)) ?? null;
    }, 180_000, 1000).catch(clues).finally(() => submit.child.kill('SIGCONT'));
    expect(event.runId).toBe(first.id);
    expect(event.reason).toMatch(/piece \d+ from 127\.0\.0\.1:\d+ failed its hash; reputation [\d.]+ -> [\d.]+/);
    expect((await reputations())[liar]).toBeLessThan(before);
    // the buyer is back: device 2 (which tries the seeds again with each peer list from the hub) fetched
    // every piece elsewhere and ran on the right bytes
    const second = await waitFor('device 2 runs the job', async () => (await show(jobId)).runs.find((r) => r.deviceId === honest && r.state === 'running') ?? null, 180_000, 500).catch(clues);
    const sum2 = join(fleet.stateDir(2), 'data', second.id, 'output', 'sum');
    const got = await waitFor('device 2 wrote its sum', async () => (existsSync(sum2) && readFileSync(sum2, 'utf8').trim()) || null, 60_000, 500);
    expect(got).toBe(sum);
    // both runs read the same bytes: their outputs (the sums) are one torrent, the verdict agrees
    const job = await fleet.finished<Job>(jobId);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    expect(job.digest).toMatch(/^btih:[0-9a-f]{40}$/);
    expect(job.runs.filter((r) => r.state === 'succeeded').map((r) => [r.deviceId, r.digest]).sort()).toEqual([[honest, job.digest], [liar, job.digest]].sort());
    const shown = await sosna(['jobs', 'show', jobId]);
    expect(shown.stdout).toMatch(/corrupted input piece: device/);
    expect(await submit.exited, submit.output()).toBe(0); // the buyer seeded until both runs had the input
  });
});
