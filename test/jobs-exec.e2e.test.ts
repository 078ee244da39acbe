// `sosna console jobs exec JOB -- CMD` end to end: a hub process, an agent from the single-file bundle on a
// private Docker Engine (test/docker.ts), and the real CLI of the job's buyer, another operator and an admin.
// The command runs in the job's own container (docker exec); its stdout, stderr and exit code come back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CLI, cli, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { startPrivateDocker, SKIP_DOCKER } from './docker.js';
import type { PrivateDocker } from './docker.js';

const tmp = tempDir('sosna-jobs-exec-');
const hubDir = join(tmp.dir, 'hub');
let engine: PrivateDocker;
let hub: Proc;
let agent: Proc;
const as = (user: string) => ({ SOSNA_PROFILE: join(hubDir, `${user}.json`) });

beforeAll(async () => {
  if (SKIP_DOCKER) return;
  requireBuild();
  engine = await startPrivateDocker();
  const port = await freePort();
  const bundle = installBundle(join(tmp.dir, 'device-bin'));
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--no-chain']);
  await hub.waitFor(/hub \S+ ready/, 30_000);
  for (const user of ['alice', 'bob']) {
    const r = await cli(['hub', 'operators', 'add', user, '--role', 'operator', '--write-profile', join(hubDir, `${user}.json`), '--url', `mqtt://127.0.0.1:${port}`, '--data-dir', hubDir]);
    expect(r.code, r.output).toBe(0);
  }
  const key = await cli(['hub', 'keys', 'create', '--fleet', 'lab', '--max', '1', '--data-dir', hubDir]);
  expect(key.code, key.output).toBe(0);
  const config = writeJson(join(tmp.dir, 'agent', 'config.json'), {
    hub: { url: `mqtt://127.0.0.1:${port}` }, provisioningKey: key.stdout.trim(), name: 'rig-1', stateDir: join(tmp.dir, 'agent', 'state'),
    dashboard: { enabled: false }, mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 },
    jobs: { dockerHost: engine.host, askPerSec: '0', maxJobs: 2 },
  });
  agent = start([bundle, '--config', config], { cwd: join(tmp.dir, 'device-bin') });
  await waitFor('the device online with an engine', async () => {
    const r = await cli(['console', 'devices', '--json'], { env: as('console') });
    const list = r.code === 0 ? (JSON.parse(r.stdout) as { online: boolean; inventory: { jobs?: { engine: unknown } } | null }[]) : [];
    return list.length === 1 && list[0]!.online && list[0]!.inventory?.jobs?.engine;
  }, 60_000, 300);
}, 120_000);

afterAll(async () => {
  await agent?.stop('SIGKILL');
  await hub?.stop();
  await engine?.stop();
  tmp.cleanup();
}, 120_000);

describe.skipIf(SKIP_DOCKER)('jobs exec', { timeout: 120_000 }, () => {
  it("runs a command in the job's container for its buyer and an admin, with output and exit code; another operator is refused", async () => {
    const sub = await cli(['console', 'jobs', 'submit', '--image', engine.images.local, '--timeout', '5m', '--bid', '0', '--', 'sh', '-c', 'echo ready; sleep 600'], { env: as('alice'), timeoutMs: 30_000 });
    expect(sub.code, sub.output).toBe(0);
    const jobId = sub.stdout.trim();
    await waitFor(`${jobId} running`, async () => {
      const r = await cli(['console', 'jobs', 'show', jobId, '--json'], { env: as('alice') });
      return r.code === 0 && (JSON.parse(r.stdout) as { state: string }).state === 'running';
    }, 60_000, 300);

    const mine = await cli(['console', 'jobs', 'exec', jobId, '--', 'sh', '-c', 'echo in-$((6*7)); cat /proc/1/cmdline | tr "\\0" " "; echo; echo oops >&2; exit 5'], { env: as('alice'), timeoutMs: 30_000 });
    expect(mine.code, mine.output).toBe(5);
    expect(mine.stdout).toMatch(/^in-42\n/);
    expect(mine.stdout).toContain('sleep 600'); // the job's own container: its PID 1 is the job's command
    expect(mine.output).toContain('oops');
    expect(mine.stdout).not.toContain('oops');

    const other = await cli(['console', 'jobs', 'exec', jobId, '--', 'id'], { env: as('bob') });
    expect(other.code).not.toBe(0);
    expect(other.output).toContain(`jobs exec on ${jobId} is for the operator who submitted it or an admin; bob is a operator`);

    const admin = await cli(['console', 'jobs', 'exec', jobId, '--', 'true'], { env: as('console') });
    expect(admin.code, admin.output).toBe(0);
    const missing = await cli(['console', 'jobs', 'exec', jobId, '--', 'no-such-binary'], { env: as('console') });
    expect(missing.code).not.toBe(0);

    const sessions = await cli(['console', 'sessions', '--json'], { env: as('console') });
    const recs = JSON.parse(sessions.stdout) as { kind: string; operator: string; jobId: string; exitCode: number | null }[];
    expect(recs.filter((s) => s.kind === 'exec').map((s) => [s.operator, s.exitCode])).toEqual([['admin', missing.code], ['admin', 0], ['alice', 5]]);

    const cancel = await cli(['console', 'jobs', 'cancel', jobId], { env: as('alice') });
    expect(cancel.code, cancel.output).toBe(0);
  });
});
