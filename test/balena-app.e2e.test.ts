// The balenaOS fleet app end to end (issue 18 item 1): a private Docker Engine stands in for balenaEngine
// (same Engine API); the app's image is built there offline (test/balena.ts: the Node base rootfs from
// `sosna image balena` imported, os-image/balena's Dockerfile built on it), and its container runs as the
// supervisor runs it after `balena push`: the compose file's labels, host networking and data volume, the
// supervisor's BALENA_* variables and the fleet's SOSNA_HUB_URL / SOSNA_PROVISIONING_KEY. The agent in it
// provisions with the fleet key against a real hub, registers under the balena device's name, runs a job
// through the engine socket it was given, and comes back as the same device after a restart and after the
// container is replaced (an app update) on the same volume. Without the hub URL it stops and says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { CLI, cli, freePort, requireBuild, start } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { startPrivateDocker, SKIP_DOCKER } from './docker.js';
import type { PrivateDocker } from './docker.js';
import { buildBalenaApp, containerLogs, createAppContainer, readCompose } from './balena.js';
import type { BalenaDevice, ComposeService } from './balena.js';

const tmp = tempDir('sosna-balena-app-');
const hubDir = join(tmp.dir, 'hub');
let engine: PrivateDocker;
let hub: Proc;
let image: string;
let compose: ComposeService;
let variables: Record<string, string>;
const console_ = { SOSNA_PROFILE: join(hubDir, 'console.json') };
const device: BalenaDevice = { uuid: 'b4e1a2c3d4e5f60718293a4b5c6d7e8f', name: 'quiet-meadow', fleet: 'sosna-lab', appId: 1234567 };
const engineSocket = () => engine.host.replace(/^unix:\/\//, '');

interface Listed { id: string; name: string; online: boolean; tags?: string[]; inventory: { jobs?: { engine: unknown } } | null }

async function devices(): Promise<Listed[]> {
  const r = await cli(['console', 'devices', '--json'], { env: console_ });
  return r.code === 0 ? (JSON.parse(r.stdout) as Listed[]) : [];
}

/** Waits until exactly one device is online with a container engine; returns it. */
async function onlineDevice(what: string, c: Docker.Container): Promise<Listed> {
  return waitFor(what, async () => {
    const state = (await c.inspect()).State;
    if (!state.Running && state.ExitCode !== 0) throw new Error(`the app container exited ${state.ExitCode}:\n${(await containerLogs(c)).slice(-3000)}`);
    const list = await devices();
    return list.length === 1 && list[0]!.online && list[0]!.inventory?.jobs?.engine ? list[0]! : null;
  }, 90_000, 300).catch(async (err: Error) => {
    throw new Error(`${err.message}\napp container log:\n${(await containerLogs(c).catch(() => '')).slice(-3000)}`);
  });
}

beforeAll(async () => {
  if (SKIP_DOCKER) return;
  requireBuild();
  engine = await startPrivateDocker();
  compose = readCompose();
  image = await buildBalenaApp(engine.docker, join(tmp.dir, 'build'));
  const port = await freePort();
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--no-chain']);
  await hub.waitFor(/hub \S+ ready/, 30_000);
  const key = await cli(['hub', 'keys', 'create', '--fleet', 'balena', '--max', '1', '--data-dir', hubDir]);
  expect(key.code, key.output).toBe(0);
  // the fleet's variables (`balena env add ... --fleet sosna-lab`); the dashboard gets a free port on the shared host network
  variables = { SOSNA_HUB_URL: `mqtt://127.0.0.1:${port}`, SOSNA_PROVISIONING_KEY: key.stdout.trim(), SOSNA_DASHBOARD_PORT: '0', SOSNA_MQTT_RECONNECT_MIN_MS: '200', SOSNA_MQTT_RECONNECT_MAX_MS: '2000' };
}, 300_000);

afterAll(async () => {
  await hub?.stop();
  await engine?.stop();
  tmp.cleanup();
}, 120_000);

describe.skipIf(SKIP_DOCKER)('the balenaOS fleet app under a stand-in balenaEngine', { timeout: 300_000 }, () => {
  it('a balena environment without SOSNA_HUB_URL: the container stops naming the variable and the reason', async () => {
    const { SOSNA_HUB_URL: _, ...rest } = variables;
    const c = await createAppContainer(engine.docker, { image, compose, device: { ...device, appId: 7654321 }, engineSocket: engineSocket(), variables: rest, name: 'agent_no_hub', restart: 'no' });
    await c.start();
    const exit = (await c.wait()) as { StatusCode: number };
    const log = await containerLogs(c);
    expect(exit.StatusCode, log).toBe(78);
    expect(log).toContain('balena environment: SOSNA_HUB_URL: not set');
    await c.remove({ force: true, v: true });
  });

  it('provisions, registers as the balena device, runs a job through the engine socket, keeps its identity over a restart and a new container', async () => {
    expect(compose).toMatchObject({ networkMode: 'host', restart: 'always', volumes: [{ volume: 'sosna-data', target: '/data' }] });
    expect(compose.labels['io.balena.features.balena-socket']).toBe('1');
    const app = await createAppContainer(engine.docker, { image, compose, device, engineSocket: engineSocket(), variables, name: 'agent_1' });
    await app.start();
    const first = await onlineDevice('the app container online with an engine', app);
    expect(first.name).toBe(device.name);
    const info = await app.inspect();
    expect(info.HostConfig.NetworkMode).toBe('host');
    expect(info.Mounts.map((m) => [m.Destination, m.Type])).toEqual(expect.arrayContaining([['/var/run/balena.sock', 'bind'], ['/data', 'volume']]));

    // a job: the agent reaches the engine only through /var/run/balena.sock; the engine's events show its container
    const seen: { status?: string; Actor?: { Attributes?: Record<string, string> } }[] = [];
    const events = (await engine.docker.getEvents({ filters: { type: ['container'], label: ['sosna.job'] } })) as NodeJS.ReadableStream & { destroy(): void };
    events.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) seen.push(JSON.parse(line) as (typeof seen)[number]);
    });
    const sub = await cli(['console', 'jobs', 'submit', '--image', engine.images.local, '--timeout', '60', '--bid', '0', '--', 'sh', '-c', 'echo hello from balena'], { env: console_, timeoutMs: 30_000 });
    expect(sub.code, sub.output).toBe(0);
    const jobId = sub.stdout.trim();
    const job = await waitFor(`${jobId} finished`, async () => {
      const r = await cli(['console', 'jobs', 'show', jobId, '--json'], { env: console_ });
      const j = r.code === 0 ? (JSON.parse(r.stdout) as { state: string; device?: string; deviceId?: string }) : null;
      return j && ['succeeded', 'failed', 'cancelled', 'expired'].includes(j.state) ? j : null;
    }, 120_000, 300);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    const logs = await cli(['console', 'jobs', 'logs', jobId], { env: console_ });
    expect(logs.stdout).toContain('hello from balena');
    await waitFor('the job container\'s start on the engine behind the balena socket', () => seen.some((e) => e.status === 'start' && e.Actor?.Attributes?.['sosna.hub-job'] === jobId), 30_000, 100);
    events.destroy();

    // restart (the supervisor's restart, or a reboot): the same device, no second provisioning
    await app.restart({ t: 10 });
    await waitFor('the device seen offline or the container restarted', async () => (await app.inspect()).State.StartedAt !== info.State.StartedAt, 60_000, 200);
    const again = await onlineDevice('the app container online after a restart', app);
    expect(again.id).toBe(first.id);

    // an app update: the container replaced by a new one on the same named volume
    await app.remove({ force: true });
    await waitFor('the device offline', async () => (await devices())[0]?.online === false, 60_000, 300);
    const next = await createAppContainer(engine.docker, { image, compose, device, engineSocket: engineSocket(), variables, name: 'agent_2' });
    await next.start();
    const replaced = await onlineDevice('the new app container online', next);
    expect(replaced.id).toBe(first.id);
    expect((await devices()).length).toBe(1);
    expect(await containerLogs(next)).not.toContain('provisioning with the fleet key');
  });
});
