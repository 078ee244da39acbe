// Job data peer to peer, end to end with real processes: a hub, two agents (distinct owners) from the
// single-file bundle on a private Docker Engine, and the buyer's real `sosna console jobs submit --input`
// seeding a generated 50 MB input. The two replicas fetch it from the buyer and from each other (their
// data.servedBytes counters show it), mount it read-only, share their output as a torrent whose info hash
// is the result digest, and `jobs results` downloads it from them. Plus the bad-input cases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConsoleClient, ConsoleProfile } from '@sosna/hub';
import { jobsService } from '@sosna/protocol';
import { CLI, cli, start } from './procs.js';
import { waitFor } from './helpers.js';
import { SKIP_DOCKER } from './docker.js';
import { JobFleet } from './job-fleet.js';

let fleet: JobFleet;
let operator: ConsoleClient;
const deviceOf: string[] = [];
const sosna = (args: string[], timeoutMs = 30_000) => fleet.console(args, timeoutMs);

interface Run { id: string; deviceId: string; state: string; reason: string | null; digest: string | null; endpoints: string[] }
interface Job { id: string; state: string; reason: string | null; digest: string | null; runs: Run[] }
async function show(jobId: string): Promise<Job> {
  const j = await operator.call(jobsService, 'show', { jobId });
  return JSON.parse(JSON.stringify(j, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Job;
}
const finished = (jobId: string, ms = 180_000) =>
  waitFor(`${jobId} final`, async () => {
    const j = await show(jobId);
    return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : null;
  }, ms, 500);
const telemetry = async (deviceId: string) => {
  const r = await sosna(['devices', 'show', deviceId, '--json']);
  return ((JSON.parse(r.stdout) as { telemetry?: Record<string, number> | null }).telemetry ?? {}) as Record<string, number>;
};

beforeAll(async () => {
  if (SKIP_DOCKER) return;
  fleet = await JobFleet.start('sosna-jobs-data-e2e-', { jobs: { leaseSec: 30, offlineGraceSec: 30, tickMs: 250, maxRetries: 1 } });
  deviceOf.push(await fleet.startAgent(1, 'alice'), await fleet.startAgent(2, 'bob'));
  operator = await ConsoleClient.connect(ConsoleProfile.parse(JSON.parse(readFileSync(join(fleet.hubDir, 'console.json'), 'utf8'))));
}, 240_000);

afterAll(async () => {
  await operator?.close();
  await fleet?.stop();
}, 120_000);

describe.skipIf(SKIP_DOCKER)('job data peer to peer', { timeout: 400_000 }, () => {
  it('a 2-replica job with a 50 MB input: devices feed each other, the buyer downloads the shared output and it matches', async () => {
    const inputDir = join(fleet.tmp.dir, 'buyer', 'dataset');
    mkdirSync(inputDir, { recursive: true });
    const data = randomBytes(50 * 1000 * 1000);
    writeFileSync(join(inputDir, 'big.bin'), data);
    writeFileSync(join(inputDir, 'note.txt'), 'hello\n');
    const sum = createHash('sha256').update(data).digest('hex');
    // the job proves it read the input (its checksum) and that the input is read-only
    const script = 'sha256sum /input/dataset/big.bin | cut -d" " -f1 > /output/sum; cp /input/dataset/note.txt /output/; touch /input/dataset/x 2>/dev/null && echo writable > /output/ro || echo read-only > /output/ro';
    const submit = start([CLI, 'console', 'jobs', 'submit', '--image', fleet.engine.images.local, '--bid', '0', '--replicas', '2', '--timeout', '5m', '--input', inputDir, '--seed-host', '127.0.0.1', '--output', '/output', '--', 'sh', '-c', script], { env: fleet.profile() });
    const jobId = (await submit.waitFor(/^(j-[a-z0-9]+)$/m, 60_000))[1]!;
    expect(await submit.exited, submit.output()).toBe(0); // it seeded until both runs had the input
    expect(submit.output()).toMatch(/input delivered: this machine uploaded \d+ bytes/);
    const job = await finished(jobId);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    expect(job.digest).toMatch(/^btih:[0-9a-f]{40}$/);
    expect(job.runs.filter((r) => r.state === 'succeeded').map((r) => r.digest)).toEqual([job.digest, job.digest]);

    // each run's receipt names the input (btih: its torrent's info hash), the hub took it, and
    // `sosna verify --input` binds the receipt to the buyer's folder (and refuses another input)
    const rdir = join(fleet.tmp.dir, 'buyer', 'receipts');
    const rc = await sosna(['jobs', 'receipts', jobId, '--out', rdir]);
    expect(rc.code, rc.output).toBe(0);
    const files = readdirSync(rdir);
    expect(files).toHaveLength(2);
    for (const f of files) {
      const file = join(rdir, f);
      expect((JSON.parse(readFileSync(file, 'utf8')) as { receipt: { inputHash: string } }).receipt.inputHash).toMatch(/^btih:[0-9a-f]{40}$/);
      const ok = await cli(['verify', file, '--input', inputDir]);
      expect(ok.code, ok.output).toBe(0);
      expect(ok.output).toMatch(/input matches the one given \(--input\)/);
      const other = await cli(['verify', file, '--input', `btih:${'0'.repeat(40)}`]);
      expect(other.code).toBe(1);
      expect(other.output).toMatch(/FAILED \(wrong-input, field inputHash\): wrong input: .* not btih:0{40} \(--input\)/);
    }

    // peer to peer happened: the devices served input bytes to each other (their telemetry counters)
    const served = await waitFor('both devices report data counters', async () => {
      const t = await Promise.all(deviceOf.map(telemetry));
      // (the counter is torrent-stream's count of blocks received on open connections: a few blocks that
      // arrive as a connection closes go uncounted, e.g. 49,524,870 of 50,000,006 once; the job's success
      // already proves each device has every piece, so "nearly all" says the telemetry is current)
      if (t.every((x) => x['data.fetchedBytes'] !== undefined && x['data.fetchedBytes'] >= 0.95 * data.length)) return t.map((x) => x['data.servedBytes']!);
      // the time-out names what the devices last said
      throw new Error(`counters so far: ${JSON.stringify(t.map((x) => ({ fetched: x['data.fetchedBytes'], served: x['data.servedBytes'], bad: x['data.badPieces'] })))}; runs: ${JSON.stringify(job.runs.map((r) => ({ device: r.deviceId, state: r.state })))}`);
    }, 60_000, 1000);
    expect(served.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const shownDevice = await sosna(['devices', 'show', deviceOf[0]!]);
    expect(shownDevice.stdout).toMatch(/job data: served \d+ bytes to peers/);

    // the buyer downloads the result from the devices; every piece is checked against the info hash
    const out = join(fleet.tmp.dir, 'buyer', 'results');
    const got = await sosna(['jobs', 'results', jobId, '--out', out], 120_000);
    expect(got.code, got.output).toBe(0);
    expect(got.output).toMatch(/output: 100%/);
    expect(readFileSync(join(out, 'output', 'sum'), 'utf8').trim()).toBe(sum);
    expect(readFileSync(join(out, 'output', 'note.txt'), 'utf8')).toBe('hello\n');
    expect(readFileSync(join(out, 'output', 'ro'), 'utf8').trim()).toBe('read-only');
    // resumable: a second run finds every piece there and fetches nothing new
    const again = await sosna(['jobs', 'results', jobId, '--out', out], 120_000);
    expect(again.code, again.output).toBe(0);
  });

  it('an output larger than --output-limit fails the run with that reason', async () => {
    const r = await sosna(['jobs', 'submit', '--image', fleet.engine.images.local, '--bid', '0', '--output', '/output', '--output-limit', '1K', '--', 'sh', '-c', 'head -c 4096 /dev/zero > /output/big']);
    expect(r.code, r.output).toBe(0);
    const job = await finished(r.stdout.trim());
    expect(job.state).toBe('failed');
    expect(job.runs[0]!.reason).toBe('the output is larger than the limit of 1024 bytes');
  });

  it('bad input: a missing path and an unreadable file fail before anything is submitted, naming the flag, the path and why', async () => {
    const before = (await operator.call(jobsService, 'ls', { limit: 1000 })).jobs.length;
    const missing = join(fleet.tmp.dir, 'nope', 'data.bin');
    const m = await sosna(['jobs', 'submit', '--image', fleet.engine.images.local, '--bid', '0', '--input', missing, '--', 'true']);
    expect(m.code).not.toBe(0);
    expect(m.output).toContain(`--input "${missing}": ${missing} does not exist`);
    // root reads any file: the unreadable case runs the CLI as nobody (the check happens before connecting)
    const dir = join(fleet.tmp.dir, 'locked');
    mkdirSync(dir, { recursive: true });
    chmodSync(fleet.tmp.dir, 0o755);
    writeFileSync(join(dir, 'secret.bin'), 'x');
    chmodSync(join(dir, 'secret.bin'), 0o600);
    const u = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, CLI, 'console', 'jobs', 'submit', '--image', 'x', '--bid', '0', '--input', dir, '--', 'true'], { encoding: 'utf8' });
    expect(u.status).not.toBe(0);
    expect(u.stderr).toContain(`--input "${dir}": ${join(dir, 'secret.bin')} is not readable (permission denied)`);
    expect((await operator.call(jobsService, 'ls', { limit: 1000 })).jobs.length).toBe(before);
  });
});
