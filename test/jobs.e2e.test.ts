// Jobs end to end with real processes: a hub (`sosna hub`), four agents from the single-file bundle (in a
// folder without node_modules) on a private Docker Engine (test/docker.ts), and the operator's real
// `sosna console jobs ...`. Owners: alice (rig-1, rig-4), bob (rig-2), carol (rig-3).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleClient, ConsoleProfile } from '@sosna/hub';
import { jobsService } from '@sosna/protocol';
import { CLI, cli, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { sampleValue, scrapeAndCheck } from './promtool.js';
import { sosnaContainers, startPrivateDocker, SKIP_DOCKER } from './docker.js';
import type { PrivateDocker } from './docker.js';


// Sized for a loaded machine: an agent restarted mid-job (node start, docker re-attach) must renew within the
// lease, and a live agent on a busy machine must not miss keepalives; a kill -9 is still noticed within a minute.
const KEEPALIVE_SEC = 5;
const GRACE_SEC = 30;
const tmp = tempDir('sosna-jobs-e2e-');
const hubDir = join(tmp.dir, 'hub');
const owners = ['alice', 'bob', 'carol', 'alice'];
const asks = ['1', '2', '3', '1'];
let engine: PrivateDocker;
let port: number;
let hub: Proc;
let bundle: string;
/** For polling: one in-process console connection (each command below also runs the real CLI once). */
let operator: ConsoleClient;
const agents: Proc[] = [];
const configs: string[] = [];
const deviceOf: string[] = [];
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });
const WEI = 10n ** 18n; // bids of whole tokens per second: amounts far above 2^53

interface Run { id: string; deviceId: string; owner: string; state: string; reason: string | null; exitCode: number | null; digest: string | null; runtimeMs: number | null; endpoints: string[]; restarts: number; verdict: string | null; billedSec: number | null; amount: string | null }
interface Job { id: string; state: string; reason: string | null; digest: string | null; retries: number; bid: string; endpoints: string[]; devices: string[]; spec: { timeoutSec: number }; runs: Run[]; events: { runId: string | null; from: string | null; to: string; reason: string | null }[] }

async function sosna(args: string[], timeoutMs = 30_000) {
  return cli(['console', ...args], { env: profile(), timeoutMs });
}
async function submit(args: string[]): Promise<string> {
  const r = await sosna(['jobs', 'submit', ...args]);
  if (r.code !== 0) throw new Error(`jobs submit failed: ${r.output}`);
  return r.stdout.trim();
}
async function show(jobId: string): Promise<Job> {
  const j = await operator.call(jobsService, 'show', { jobId });
  return JSON.parse(JSON.stringify(j, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Job;
}
const until = (jobId: string, what: (j: Job) => boolean, label: string, ms = 60_000) =>
  waitFor(`${jobId}: ${label}`, async () => {
    const j = await show(jobId);
    return what(j) ? j : null;
  }, ms, 300);
const finished = (jobId: string, ms?: number) => until(jobId, (j) => ['succeeded', 'failed', 'cancelled'].includes(j.state), 'a final state', ms);
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const agentIndex = (deviceId: string) => deviceOf.indexOf(deviceId);

function startAgent(i: number): Proc {
  const p = start([bundle, '--config', configs[i]!], { cwd: join(tmp.dir, 'device-bin') });
  agents[i] = p;
  return p;
}

beforeAll(async () => {
  if (SKIP_DOCKER) return;
  requireBuild();
  engine = await startPrivateDocker();
  port = await freePort();
  bundle = installBundle(join(tmp.dir, 'device-bin'));
  // replication exactly as each job asks (the lifecycle and billing checked here); adaptive verification,
  // on by default, has its own end-to-end test (test/trust.e2e.test.ts)
  const hubConfig = writeJson(join(tmp.dir, 'hub.json'), { jobs: { leaseSec: GRACE_SEC, offlineGraceSec: GRACE_SEC, tickMs: 250, maxRetries: 3, trust: { enabled: false } } });
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--config', hubConfig]);
  await hub.waitFor(/hub \S+ ready/);
  for (let i = 0; i < owners.length; i++) {
    const key = await cli(['hub', 'keys', 'create', '--fleet', owners[i]!, '--max', '1', '--data-dir', hubDir]);
    expect(key.code, key.output).toBe(0);
    configs[i] = writeJson(join(tmp.dir, `agent${i + 1}`, 'config.json'), {
      hub: { url: `mqtt://127.0.0.1:${port}` },
      provisioningKey: key.stdout.trim(),
      name: `rig-${i + 1}`,
      stateDir: join(tmp.dir, `agent${i + 1}`, 'state'),
      telemetry: { intervalSec: 5 },
      mqtt: { keepaliveSec: KEEPALIVE_SEC, reconnectMinMs: 200, reconnectMaxMs: 2000 },
      jobs: { dockerHost: engine.host, askPerSec: asks[i], publicHost: '127.0.0.1', bindAddress: '127.0.0.1', maxJobs: 4 },
    });
    startAgent(i);
  }
  operator = await ConsoleClient.connect(ConsoleProfile.parse(JSON.parse(readFileSync(join(hubDir, 'console.json'), 'utf8'))));
  const devices = await waitFor('four devices online with a container engine', async () => {
    const r = await sosna(['devices', '--json']);
    const list = JSON.parse(r.stdout) as { id: string; name: string; online: boolean; inventory: { jobs?: { engine: unknown } } | null }[];
    return list.length === 4 && list.every((d) => d.online && d.inventory?.jobs?.engine) ? list : null;
  }, 60_000, 300);
  for (const d of devices) deviceOf[Number(d.name.slice(4)) - 1] = d.id;
}, 120_000);

afterAll(async () => {
  await operator?.close();
  for (const p of agents) await p?.stop('SIGKILL');
  await hub?.stop();
  await engine?.stop();
  tmp.cleanup();
}, 120_000); // sized for a loaded machine

describe.skipIf(SKIP_DOCKER)('jobs on a fleet with a real Docker Engine', { timeout: 180_000 }, () => {
  it('a job runs and its output reaches `jobs logs -f` while it runs', async () => {
    // the job waits for a file that the test creates only after it has seen the first line in `logs -f`
    const script = 'echo tick 1; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo tick 2';
    const jobId = await submit(['--image', engine.images.local, '--bid', `${WEI}`, '--timeout', '60', '--', 'sh', '-c', script]);
    const follow = start([CLI, 'console', 'jobs', 'logs', '-f', jobId], { env: profile() });
    await follow.waitFor(/tick 1\n/, 60_000);
    expect((await show(jobId)).state).toBe('running');
    expect(follow.output()).not.toContain('tick 2');
    const [c] = (await sosnaContainers(engine.docker, false)).filter((x) => x.Labels['sosna.hub-job'] === jobId);
    const exec = await engine.docker.getContainer(c!.Id).exec({ Cmd: ['touch', '/tmp/go'] });
    await exec.start({ Detach: true });
    await follow.waitFor(/tick 2\n/, 30_000);
    expect(await follow.exited).toBe(0); // the stream ends with the job
    expect(follow.output()).toContain('tick 1\ntick 2\n');
    const job = await finished(jobId);
    expect(job).toMatchObject({ state: 'succeeded', digest: sha('tick 1\ntick 2\n'), retries: 0 });
    const ls = await sosna(['jobs', 'ls']);
    expect(ls.stdout).toMatch(new RegExp(`${jobId}\\s+succeeded`));
    const shown = JSON.parse((await sosna(['jobs', 'show', jobId, '--json'])).stdout) as Job;
    expect(shown).toMatchObject({ id: jobId, state: 'succeeded', bid: `${WEI}` });
  });

  it('replicas: 3 on distinct owners; the device with a wrong digest loses, the majority wins, its reputation drops', async () => {
    const liar = deviceOf[2]!; // carol's only device: always one of the three owners
    const script = `case "$SOSNA_DEVICE_ID" in ${liar}) echo forged;; *) echo honest;; esac`;
    const jobId = await submit(['--image', engine.images.local, '--replicas', '3', '--bid', `${2n * WEI}`, '--', 'sh', '-c', script]);
    const job = await finished(jobId);
    expect(job.state).toBe('succeeded');
    expect(job.digest).toBe(sha('honest\n'));
    expect(new Set(job.runs.map((r) => r.owner))).toEqual(new Set(['alice', 'bob', 'carol']));
    const bad = job.runs.find((r) => r.deviceId === liar)!;
    expect(bad).toMatchObject({ verdict: 'dissent', amount: '0', digest: sha('forged\n') });
    expect(job.runs.filter((r) => r.verdict === 'agree')).toHaveLength(2);
    const standing = JSON.parse((await sosna(['earnings', '--devices', '--json'])).stdout) as { deviceId: string; reputation: number; dissented: number }[];
    const liarRep = standing.find((s) => s.deviceId === liar)!;
    const others = standing.filter((s) => job.runs.some((r) => r.deviceId === s.deviceId && r.verdict === 'agree'));
    expect(liarRep.dissented).toBe(1);
    for (const o of others) expect(liarRep.reputation).toBeLessThan(o.reputation);
  });

  it('a job over its memory is failed with reason OOM; a job past its time limit is killed', async () => {
    const oom = await submit(['--image', engine.images.local, '--bid', '5', '--memory', '16M', '--', 'sh', '-c', 'x=$(head -c 64000000 /dev/zero | tr "\\0" a); echo survived']);
    const slow = await submit(['--image', engine.images.local, '--bid', '7', '--timeout', '2s', '--', 'sleep', '120']);
    const [a, b] = await Promise.all([finished(oom), finished(slow)]);
    expect(a.state).toBe('failed');
    expect(a.reason).toMatch(/^OOM/);
    expect(a.runs[0]).toMatchObject({ exitCode: 137 });
    expect(b.state).toBe('failed');
    expect(b.reason).toMatch(/^timeout/); // killed: `sleep 120` would outlive the wait
  });

  it('bad input: clear errors at submit time, or failed with the reason; nothing crashes, nothing is left running', async () => {
    const unknown = writeJson(join(tmp.dir, 'unknown.json'), { image: engine.images.local, command: ['true'], colour: 'blue' });
    let r = await sosna(['jobs', 'submit', '--spec', unknown]);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/colour/);
    r = await sosna(['jobs', 'submit', '--image', engine.images.local, '--memory', '-5', '--', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/--memory "-5"/);
    r = await sosna(['jobs', 'submit', '--image', engine.images.local, '--bid', '5', '--memory', '4T', '--', 'true']);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/cannot run on this hub: no device can run this job: 4 device\(s\) offer less than/);
    r = await sosna(['jobs', 'submit', '--image', engine.images.local, '--bid', '5', '--gpus', '1', '--gpu-vram-min', '80G', '--', 'true']);
    expect(r.output).toMatch(/matching GPU/);
    const missing = await submit(['--image', `${engine.registry}/sosna/does-not-exist:1`, '--bid', '5', '--', 'true']);
    const job = await finished(missing);
    expect(job.state).toBe('failed');
    expect(job.reason).toMatch(/not found/);
    // the hub and every agent are still there
    expect(hub.child.exitCode).toBeNull();
    for (const a of agents) expect(a.child.exitCode).toBeNull();
    await waitFor('no containers left', async () => (await sosnaContainers(engine.docker)).length === 0, 20_000);
  });

  it('a service restarts after its process dies, and its endpoint is listed', async () => {
    const jobId = await submit(['--image', engine.images.local, '--bid', '5', '--service', '--port', '8080', '--timeout', '10m', '--', 'httpd', '-f', '-p', '8080', '-h', '/etc']);
    const up = await until(jobId, (j) => j.state === 'running' && j.endpoints.length > 0, 'an endpoint');
    const endpoint = up.endpoints[0]!;
    expect(endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`http://${endpoint}/passwd`)).text()).toContain('root:x:0:0');
    const [c] = (await sosnaContainers(engine.docker, false)).filter((x) => x.Labels['sosna.hub-job'] === jobId);
    await engine.docker.getContainer(c!.Id).kill(); // the process dies
    const again = await until(jobId, (j) => (j.runs[0]?.restarts ?? 0) >= 1 && j.endpoints.length > 0, 'a restart');
    expect(again.state).toBe('running');
    await waitFor('serving again', async () => {
      const ep = (await show(jobId)).endpoints[0];
      return ep && (await fetch(`http://${ep}/passwd`).catch(() => null))?.ok ? ep : null;
    }, 20_000, 200);
    again.endpoints = (await show(jobId)).endpoints;
    const shown = await sosna(['jobs', 'show', jobId]);
    expect(shown.stdout).toContain(`endpoints: ${again.endpoints[0]}`);
    const cancel = await sosna(['jobs', 'cancel', jobId]);
    expect(cancel.stdout).toContain(`${jobId} cancelled`);
    await waitFor('service container removed', async () => (await sosnaContainers(engine.docker)).every((x) => x.Labels['sosna.hub-job'] !== jobId), 20_000);
  });

  it('an agent restarted mid-job re-attaches: the job is neither lost nor run twice', async () => {
    const jobId = await submit(['--image', engine.images.local, '--bid', `${3n * WEI}`, '--', 'sh', '-c', 'echo begin; sleep 6; echo end']);
    const running = await until(jobId, (j) => j.state === 'running', 'running');
    const i = agentIndex(running.runs[0]!.deviceId);
    const before = (await sosnaContainers(engine.docker)).filter((x) => x.Labels['sosna.hub-job'] === jobId);
    expect(before).toHaveLength(1);
    await agents[i]!.stop('SIGTERM');
    expect(agents[i]!.child.exitCode).toBe(0);
    startAgent(i);
    const job = await finished(jobId);
    expect(job.state).toBe('succeeded');
    expect(job.runs, `${JSON.stringify(job.runs, null, 1)}\n${agents[i]!.output().slice(-3000)}`).toHaveLength(1);
    expect(job.retries).toBe(0);
    expect(job.events.map((e) => e.to)).not.toContain('lost');
    expect(job.digest).toBe(sha('begin\nend\n'));
    const logs = await sosna(['jobs', 'logs', jobId]);
    expect(logs.stdout.match(/begin/g)).toHaveLength(1);
    expect(agents[i]!.output()).toMatch(/resuming runs/);
    if (process.env.SOSNA_TEST_VERBOSE) console.log(agents[i]!.output().split('\n').filter((l) => /starting|online|resuming|container engine|hardware/.test(l)).join('\n'));
  });

  it('a job whose device is kill -9ed mid-run is lost, requeued, and succeeds on another device', async () => {
    const jobId = await submit(['--image', engine.images.local, '--bid', `${WEI}`, '--', 'sh', '-c', 'echo start; sleep 4; echo done']);
    const running = await until(jobId, (j) => j.state === 'running', 'running');
    const victim = running.runs[0]!.deviceId;
    const i = agentIndex(victim);
    agents[i]!.child.kill('SIGKILL');
    const job = await finished(jobId, 150_000); // keepalive x 1.5 + the grace period + the rerun
    expect(job.state).toBe('succeeded');
    expect(job.retries).toBe(1);
    expect(job.runs[0]).toMatchObject({ deviceId: victim, state: 'lost' });
    expect(job.runs[1]!.deviceId).not.toBe(victim);
    expect(job.runs[1]!.state).toBe('succeeded');
    expect(job.events.filter((e) => e.runId === null).map((e) => e.to)).toEqual(['queued', 'assigned', 'running', 'lost', 'queued', 'assigned', 'running', 'succeeded']);
    // the dead agent's container was left running; when the agent comes back the hub tells it to let go
    startAgent(i);
    await waitFor('the orphaned run removed', async () => (await sosnaContainers(engine.docker)).every((x) => x.Labels['sosna.job'] !== job.runs[0]!.id), 30_000, 300);
  });

  it('earnings equal the sum of billed seconds x bid, exactly, per owner', async () => {
    const list = JSON.parse((await sosna(['jobs', 'ls', '--json'])).stdout) as { id: string }[];
    const expected = new Map<string, bigint>();
    for (const { id } of list) {
      const j = await show(id);
      for (const r of j.runs) {
        if (r.billedSec === null || r.amount === null) continue;
        if (r.verdict === 'dissent') {
          expect(r.amount).toBe('0');
          continue;
        }
        // billing rounds up: a run that ran at all (even 0.6 s) bills at least one second
        if (r.state === 'succeeded') expect(r.runtimeMs, `run ${r.id} succeeded without a running time`).toBeGreaterThan(0);
        if ((r.runtimeMs ?? 0) > 0) expect(r.billedSec, `run ${r.id} ran ${r.runtimeMs} ms`).toBeGreaterThanOrEqual(1);
        expect(r.billedSec).toBe(Math.min(Math.ceil((r.runtimeMs ?? 0) / 1000), j.spec.timeoutSec));
        expect(BigInt(r.amount)).toBe(BigInt(r.billedSec) * BigInt(j.bid));
        expected.set(r.owner, (expected.get(r.owner) ?? 0n) + BigInt(r.amount));
      }
    }
    const e = JSON.parse((await sosna(['earnings', '--json'])).stdout) as { owners: { owner: string; amount: string }[]; total: string };
    expect(new Map(e.owners.map((o) => [o.owner, BigInt(o.amount)]))).toEqual(expected);
    const total = [...expected.values()].reduce((a, b) => a + b, 0n);
    expect(BigInt(e.total)).toBe(total);
    expect(total).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
  });

  it("the hub's /metrics agrees with the console on jobs by state, and saw the scheduling and the device calls", async () => {
    const url = (JSON.parse(readFileSync(join(hubDir, 'runtime.json'), 'utf8')) as { metricsUrl: string }).metricsUrl;
    const states = ['queued', 'assigned', 'pulling', 'running', 'succeeded', 'failed', 'cancelled', 'lost'];
    // the console's list and a scrape are two reads: a job that moves between them is read again
    const { text, counts } = await waitFor('the same jobs by state in the console and in /metrics', async () => {
      const list = JSON.parse((await sosna(['jobs', 'ls', '--json', '--limit', '1000'])).stdout) as { state: string }[];
      const r = await scrapeAndCheck(url);
      expect(r.code, r.output).toBe(0);
      const counts = new Map<string, number>();
      for (const j of list) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
      return states.every((s) => sampleValue(r.text, 'sosna_hub_jobs', { state: s }) === (counts.get(s) ?? 0)) ? { text: r.text, counts } : null;
    }, 30_000, 500);
    expect(counts.get('succeeded')).toBeGreaterThan(0);
    expect(counts.get('failed')).toBeGreaterThan(0);
    // every job that was placed went from the queue to a device at least once (this hub process saw them all)
    expect(sampleValue(text, 'sosna_hub_job_scheduling_latency_seconds_count')).toBeGreaterThanOrEqual((counts.get('succeeded') ?? 0));
    expect(sampleValue(text, 'sosna_hub_device_rpc_duration_seconds_count', { service: 'jobs', method: 'start', outcome: 'ok' })).toBeGreaterThan(0);
    expect(text).toMatch(/^sosna_hub_payout_batches\{status="paid"\} \d+$/m); // the embedded chain is on: payout figures are there
  });
});
