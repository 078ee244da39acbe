// The agent's job runner against a real, private Docker Engine (test/docker.ts), with the hub replaced by
// a recorder: limits, OOM, the time limit, output digests, the pull and archive paths, service restarts
// and endpoints, cancel, and re-attaching after the agent process is replaced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { createLogger, DeviceConfig, JobSpec, silentLogger } from '@sosna/protocol';
import type { DeviceJob, JobSpecInput } from '@sosna/protocol';
import { connectEngine, JobManager } from '../agent/src/jobs/index.js';
import type { Engine, HubCalls } from '../agent/src/jobs/index.js';
import { startPrivateDocker, sosnaContainers, SKIP_DOCKER } from './docker.js';
import type { PrivateDocker } from './docker.js';

import { tempDir, waitFor } from './helpers.js';
import { Recorder } from './job-recorder.js';

let engine: PrivateDocker;
let client: Engine;
const tmp = tempDir('sosna-runner-');
let archiveServer: Server;
let archiveUrl: string;
let archiveSha: string;

let seq = 0;
function job(spec: JobSpecInput, leaseSec = 30): DeviceJob {
  const id = `j-runner${seq++}`;
  return { id: `${id}.0.0`, jobId: id, leaseSec, issuedAt: Date.now(), spec: JobSpec.parse(spec) };
}

function manager(hub: HubCalls, stateDir = join(tmp.dir, 'agent'), extra: Partial<DeviceConfig['jobs']> = {}) {
  const config = DeviceConfig.parse({ hub: { url: 'mqtt://127.0.0.1:1' }, stateDir, jobs: { publicHost: '127.0.0.1', bindAddress: '127.0.0.1', ...extra } });
  return new JobManager({ config: config.jobs, stateDir, deviceId: 'dev-runner', engine: client, hub, log: process.env.SOSNA_TEST_LOG ? createLogger({ level: 'debug' }) : silentLogger });
}

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

beforeAll(async () => {
  if (SKIP_DOCKER) return;
  engine = await startPrivateDocker();
  client = await connectEngine(engine.host);
  // an image archive (docker save) served over HTTP, for the archive path
  const saved = await engine.docker.getImage(engine.images.local).get();
  const chunks: Buffer[] = [];
  for await (const c of saved as AsyncIterable<Buffer>) chunks.push(c);
  const tar = Buffer.concat(chunks);
  archiveSha = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
  archiveServer = createServer((_req, res) => res.end(tar));
  await new Promise<void>((r) => archiveServer.listen(0, '127.0.0.1', r));
  archiveUrl = `http://127.0.0.1:${(archiveServer.address() as { port: number }).port}/busybox.tar`;
}, 120_000);

afterAll(async () => {
  archiveServer?.close();
  await engine?.stop();
  tmp.cleanup();
});

describe.skipIf(SKIP_DOCKER)('job runner on a real engine', { timeout: 60_000 }, () => {
  it('negotiates the API version with the engine', () => {
    expect(client.apiVersion).toBe('1.41');
    expect(client.name).toBe('docker');
  });

  it('runs a batch job with its limits, forwards its output and reports the stdout digest; the container is removed', async () => {
    const hub = new Recorder();
    const m = manager(hub);
    await m.start();
    const j = job({ image: engine.images.local, command: ['sh', '-c', 'echo hello; echo oops >&2; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; ip -o link | wc -l'], resources: { pids: 64 } });
    expect(await m.handlers().start({ job: j }, {} as never)).toEqual({ id: j.id, state: 'assigned', duplicate: false });
    const r = await hub.final(j.id);
    expect(r).toMatchObject({ state: 'succeeded', exitCode: 0, oom: false });
    const out = hub.output(j.id);
    expect(out).toBe('hello\n64\n1\n'); // pids limit applied; only loopback: no network
    expect(hub.output(j.id, 'stderr')).toBe('oops\n');
    expect(r.digest).toBe(sha(out));
    expect(r.runtimeMs).toBeGreaterThan(0);
    expect(hub.reports.map((x) => x.state)).toEqual(['assigned', 'running', 'succeeded']);
    await waitFor('container removed', async () => (await sosnaContainers(engine.docker)).length === 0);
    // a redelivered start never starts a second container
    expect(await m.handlers().start({ job: j }, {} as never)).toEqual({ id: j.id, state: 'succeeded', duplicate: true });
    expect(await sosnaContainers(engine.docker)).toHaveLength(0);
    await m.stop();
  });

  it('fails a job that exceeds its memory with reason OOM', async () => {
    const hub = new Recorder();
    const m = manager(hub);
    await m.start();
    const j = job({ image: engine.images.local, command: ['sh', '-c', 'x=$(head -c 64000000 /dev/zero | tr "\\0" a); echo survived'], resources: { memoryBytes: 16 * 2 ** 20 } });
    await m.handlers().start({ job: j }, {} as never);
    const r = await hub.final(j.id);
    expect(r).toMatchObject({ state: 'failed', oom: true, exitCode: 137 });
    expect(r.reason).toMatch(/^OOM/);
    await m.stop();
  });

  it('kills a job past its time limit', async () => {
    const hub = new Recorder();
    const m = manager(hub);
    await m.start();
    const j = job({ image: engine.images.local, command: ['sleep', '60'], timeoutSec: 1 });
    await m.handlers().start({ job: j }, {} as never);
    const r = await hub.final(j.id);
    expect(r).toMatchObject({ state: 'failed' });
    expect(r.reason).toMatch(/^timeout/); // the reason says it was killed (sleep 60 would outlive the test's time-out)
    await m.stop();
  });

  it('pulls from a registry, and fails clearly on an image that does not exist', async () => {
    const hub = new Recorder();
    const m = manager(hub);
    await m.start();
    const ok = job({ image: engine.images.pulled, command: ['echo', 'pulled'] });
    const missing = job({ image: `${engine.registry}/sosna/nope:1`, command: ['true'] });
    await m.handlers().start({ job: ok }, {} as never);
    await m.handlers().start({ job: missing }, {} as never);
    expect(await hub.final(ok.id)).toMatchObject({ state: 'succeeded' });
    expect(hub.reports.filter((x) => x.id === ok.id).map((x) => x.state)).toContain('pulling');
    const bad = await hub.final(missing.id);
    expect(bad).toMatchObject({ state: 'failed' });
    expect(bad.reason).toMatch(/not found/);
    await m.stop();
  });

  it('loads an image archive (digest checked) and hashes a declared output path', async () => {
    await engine.docker.getImage('sosna-test/archived:1').remove().catch(() => {});
    const hub = new Recorder();
    const m = manager(hub);
    await m.start();
    // the archive carries sosna-test/busybox:1; removing it locally forces the load
    await engine.docker.getImage(engine.images.local).tag({ repo: 'sosna-test/keep', tag: '1' });
    await engine.docker.getImage(engine.images.local).remove();
    const j = job({ image: engine.images.local, imageArchive: { url: archiveUrl, sha256: archiveSha }, command: ['sh', '-c', 'printf result > /out/r.txt'], output: { path: '/out/r.txt' } });
    await m.handlers().start({ job: j }, {} as never);
    const r = await hub.final(j.id);
    expect(r).toMatchObject({ state: 'succeeded', digest: sha('result') });
    const wrong = job({ image: 'sosna-test/other:1', imageArchive: { url: archiveUrl, sha256: `sha256:${'0'.repeat(64)}` } });
    await m.handlers().start({ job: wrong }, {} as never);
    expect((await hub.final(wrong.id)).reason).toMatch(/digest/);
    await m.stop();
  });

  it('re-attaches after the agent process is replaced: one container, one run, the whole output', async () => {
    const hub = new Recorder();
    const stateDir = join(tmp.dir, 'reattach');
    const first = manager(hub, stateDir);
    await first.start();
    const j = job({ image: engine.images.local, command: ['sh', '-c', 'echo start; sleep 2; echo end'] });
    await first.handlers().start({ job: j }, {} as never);
    await waitFor('running', () => hub.last(j.id)?.state === 'running', 20_000);
    const [container] = await sosnaContainers(engine.docker);
    await first.stop(); // the agent goes away; the container keeps running
    const hub2 = new Recorder();
    const second = manager(hub2, stateDir);
    await second.start();
    const r = await hub2.final(j.id);
    expect(r).toMatchObject({ state: 'succeeded', exitCode: 0, digest: sha('start\nend\n') });
    const logs = hub.output(j.id) + hub2.output(j.id);
    expect(logs.match(/start/g)).toHaveLength(1);
    // removed after the result, by the second process
    await waitFor('container removed', async () => (await engine.docker.getContainer(container!.Id).inspect().catch(() => null)) === null);
    await second.stop();
  });

  it('restarts a service whose process dies and publishes its endpoint; cancel stops it', async () => {
    const hub = new Recorder();
    const m = manager(hub);
    await m.start();
    const j = job({ image: engine.images.local, kind: 'service', network: true, ports: [{ port: 8080 }], command: ['httpd', '-f', '-p', '8080', '-h', '/etc'] });
    await m.handlers().start({ job: j }, {} as never);
    const running = await waitFor('endpoint', () => hub.reports.find((x) => x.id === j.id && x.state === 'running' && x.endpoints?.length), 20_000);
    const endpoint = running.endpoints![0]!;
    expect(endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`http://${endpoint}/passwd`)).text()).toContain('root:x:0:0');
    const [c] = await sosnaContainers(engine.docker, false);
    await engine.docker.getContainer(c!.Id).kill();
    const restarted = await waitFor('restart', () => hub.reports.find((x) => x.id === j.id && (x.restarts ?? 0) >= 1 && x.state === 'running' && x.reason?.includes('restarted')), 20_000);
    expect(restarted.reason).toMatch(/exit code 137/);
    await waitFor('serving again', async () => {
      const ep = hub.last(j.id)!.endpoints![0]!;
      return (await fetch(`http://${ep}/passwd`).catch(() => null))?.ok;
    }, 20_000, 200);
    await m.handlers().cancel({ id: j.id, reason: 'test over' }, {} as never);
    expect(await hub.final(j.id)).toMatchObject({ state: 'cancelled' });
    await waitFor('container removed', async () => (await sosnaContainers(engine.docker)).length === 0);
    await m.stop();
  });

  it('the watchdog restarts a job without progress, then fails it, and the device reports itself unhealthy', async () => {
    const hub = new Recorder();
    const m = manager(hub, join(tmp.dir, 'watchdog'), { unhealthyAfter: 1 });
    await m.start();
    const j = job({ image: engine.images.local, command: ['sleep', '600'], watchdog: { stallSec: 2 } }, 3);
    await m.handlers().start({ job: j }, {} as never);
    const r = await hub.final(j.id);
    expect(r).toMatchObject({ state: 'failed', restarts: 1 });
    expect(r.reason).toMatch(/^stalled/);
    expect(hub.reports.some((x) => x.reason === 'restarted by the watchdog')).toBe(true);
    await m.renew();
    expect(hub.leases.at(-1)).toMatchObject({ health: 'unhealthy', reason: expect.stringContaining('stalled') });
    await m.stop();
  });
});
