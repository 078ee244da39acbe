// The Fedora CoreOS recipe's files and units, run: os-image/coreos/sosna.bu (hub URL, key and download
// URLs filled in, as a user does) compiled by `sosna image ignition`, checked by ignition-validate, applied
// the way Ignition's files stage writes them (test/ignition-apply.ts) onto a Debian bookworm root with
// systemd (the full image's debootstrap result, from the image cache), and booted with systemd as PID 1
// in a container of a private Docker Engine. systemd enables the units from Ignition's preset file at
// the first boot, starts sosna-agent.service, the agent provisions with the fleet key, shows online, runs
// a job through the Docker-compatible socket its config names (/run/podman/podman.sock; the private
// engine's socket stands in for Podman's), comes back with the same identity after being killed
// (Restart=always), and stays down on exit 78 (RestartPreventExitStatus). Not Fedora CoreOS itself: no
// Ignition in an initramfs, no rpm-ostree, no SELinux, no Podman (see os-image/README.md "Fedora CoreOS").
// Needs root and the packages of scripts/test-deps/docker.sh and ignition.sh; SOSNA_SKIP_COREOS_TEST=1 skips.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { BUNDLE, CLI, ROOT, cli, freePort, requireBuild, start } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { dockerUnavailable, startPrivateDocker } from './docker.js';
import type { PrivateDocker } from './docker.js';
import { applyIgnition } from './ignition-apply.js';
import { rootfsCacheName } from '../provisioning/src/build/full.js';
import type { IgnitionConfig } from '../provisioning/src/coreos/butane.js';

const SKIP = process.env.SOSNA_SKIP_COREOS_TEST === '1';
const tmp = tempDir('sosna-coreos-');
const hubDir = join(tmp.dir, 'hub');
const rootfsCache = join(tmpdir(), 'sosna-image-cache', rootfsCacheName('x86_64'));
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });
const IMAGE = 'sosna-test/coreos-standin:1';
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex');
let engine: PrivateDocker | undefined;
let hub: Proc | undefined;
let server: Server | undefined;
let box: Docker.Container | undefined;
let config: IgnitionConfig;

type Device = { id: string; name: string; online: boolean; inventory: { jobs?: { engine?: { name?: string; version?: string } | null } } | null };
async function devices(): Promise<Device[]> {
  const r = await cli(['console', 'devices', '--json'], { env: profile() });
  if (r.code !== 0) throw new Error(`console devices failed: ${r.output}`);
  return JSON.parse(r.stdout) as Device[];
}

/** A command inside the machine (docker exec), its stdout. */
function inBox(...cmd: string[]): { code: number | null; out: string } {
  const r = spawnSync('docker', ['-H', engine!.host, 'exec', box!.id, ...cmd], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}
function unitProps(): Record<string, string> {
  const r = inBox('systemctl', 'show', 'sosna-agent.service', '-p', 'ActiveState,SubState,Result,MainPID,NRestarts,ExecMainStatus,Restart,RestartUSec,StandardOutput,DropInPaths,UnitFileState');
  return Object.fromEntries(r.out.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
function boxLog(): string {
  const r = spawnSync('docker', ['-H', engine!.host, 'logs', box!.id], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.slice(-3000);
}

beforeAll(async () => {
  if (SKIP) return;
  requireBuild();
  const why = dockerUnavailable();
  if (why) throw new Error(why);
  if (!existsSync(rootfsCache)) throw new Error(`${rootfsCache} is missing: the full image's debootstrap result; make it with test/image-full.e2e.test.ts or sudo npx sosna image build --variant full --cache-dir ${join(tmpdir(), 'sosna-image-cache')}`);
  engine = await startPrivateDocker();
  // the machine's root: Debian bookworm with systemd, as a Docker image (no registry: imported)
  const imported = spawnSync('sh', ['-c', `zstd -dc "${rootfsCache}" | docker -H "${engine.host}" import - ${IMAGE}`], { encoding: 'utf8' });
  if (imported.status !== 0) throw new Error(`docker import: ${imported.stderr}`);
  const net = await engine.docker.getNetwork('bridge').inspect() as { IPAM: { Config: { Gateway: string }[] } };
  const gateway = net.IPAM.Config[0]!.Gateway;

  // the hub on the bridge's host address, a fleet key, and the downloads the config names
  const port = await freePort();
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', gateway]);
  await hub.waitFor(/hub \S+ ready/);
  // the hub listens on the bridge only: the console profile it wrote names 127.0.0.1
  const prof = JSON.parse(readFileSync(profile().SOSNA_PROFILE, 'utf8')) as { url: string };
  writeFileSync(profile().SOSNA_PROFILE, JSON.stringify({ ...prof, url: `mqtt://${gateway}:${port}` }));
  const key = await cli(['hub', 'keys', 'create', '--fleet', 'coreos', '--max', '1', '--data-dir', hubDir]);
  expect(key.code, key.output).toBe(0);
  const agent = readFileSync(BUNDLE);
  const node = readFileSync(process.execPath);
  const served: Record<string, Buffer> = { '/sosna-agent.mjs': agent, '/node': node };
  server = createServer((req, res) => {
    const body = served[req.url ?? ''];
    res.writeHead(body ? 200 : 404).end(body);
  });
  const httpPort = await freePort();
  await new Promise<void>((ok) => server!.listen(httpPort, '127.0.0.1', ok));

  // sosna.bu as a user fills it in: the hub, the key, the two URLs and their sha512
  const zeros = `sha512-${'0'.repeat(128)}`;
  let bu = readFileSync(join(ROOT, 'os-image', 'coreos', 'sosna.bu'), 'utf8')
    .replace('"hub": { "url": "mqtt://hub.example:1883" },', `"hub": { "url": "mqtt://${gateway}:${port}" }, "name": "fcos-box", "telemetry": { "intervalSec": 2 }, "mqtt": { "keepaliveSec": 5, "reconnectMinMs": 200, "reconnectMaxMs": 2000 },`)
    .replace('"provisioningKey": "keyId.secret"', `"provisioningKey": "${key.stdout.trim()}"`)
    .replace('https://hub.example/sosna-agent.mjs', `http://127.0.0.1:${httpPort}/sosna-agent.mjs`)
    .replace('https://hub.example/node', `http://127.0.0.1:${httpPort}/node`);
  bu = bu.replace(zeros, `sha512-${sha512(agent)}`).replace(zeros, `sha512-${sha512(node)}`);
  expect(bu).not.toContain('hub.example');
  writeFileSync(join(tmp.dir, 'sosna.bu'), bu);
  const compiled = await cli(['image', 'ignition', join(tmp.dir, 'sosna.bu'), '--out', join(tmp.dir, 'sosna.ign')]);
  expect(compiled.code, compiled.output).toBe(0);
  const valid = spawnSync('ignition-validate', [join(tmp.dir, 'sosna.ign')], { encoding: 'utf8' });
  expect(`${valid.stdout}${valid.stderr}`).toBe('');
  expect(valid.status).toBe(0);
  config = JSON.parse(readFileSync(join(tmp.dir, 'sosna.ign'), 'utf8')) as IgnitionConfig;

  // Ignition's files stage onto the machine's root; and what a fresh CoreOS disk has: no machine id yet
  // (systemd's first boot applies the presets). The root's own Docker Engine is masked: on CoreOS the
  // engine is Podman's socket, and here the private engine's socket stands in for it.
  const stage = join(tmp.dir, 'stage');
  mkdirSync(join(stage, 'etc', 'systemd', 'system'), { recursive: true });
  await applyIgnition(config, stage);
  writeFileSync(join(stage, 'etc', 'machine-id'), 'uninitialized\n');
  for (const u of ['docker.service', 'docker.socket', 'containerd.service']) symlinkSync('/dev/null', join(stage, 'etc', 'systemd', 'system', u));
  const socket = engine.host.replace(/^unix:\/\//, '');
  // systemd as PID 1 in a container: its own cgroup namespace, CAP_SYS_ADMIN for its mounts, the legacy
  // cgroup layout (in a container systemd reads its kernel options from its own arguments); not
  // --privileged, which this host's bounding set (no CAP_SYS_RESOURCE) refuses
  // (CgroupnsMode is Engine API 1.41; dockerode's types do not list it yet)
  const hostConfig = {
    CgroupnsMode: 'private', CapAdd: ['SYS_ADMIN'], SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
    Tmpfs: { '/run': '', '/run/lock': '', '/tmp': '' }, Binds: [`${socket}:/run/podman/podman.sock`],
  };
  const created = await engine.docker.createContainer({
    Image: IMAGE, Entrypoint: ['/lib/systemd/systemd'], Cmd: ['systemd.unified_cgroup_hierarchy=0'], Env: ['container=docker'], Tty: true, Hostname: 'fcos-box',
    HostConfig: hostConfig,
  });
  box = created;
  const cp = spawnSync('docker', ['-H', engine.host, 'cp', `${stage}/.`, `${created.id}:/`], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`docker cp: ${cp.stderr}`);
  await created.start();
}, 600_000);

afterAll(async () => {
  await box?.remove({ force: true }).catch(() => undefined);
  await hub?.stop();
  server?.close();
  await engine?.stop();
  tmp.cleanup();
});

describe.skipIf(SKIP)('Fedora CoreOS recipe: the Ignition config applied and its units run under systemd', () => {
  let deviceId = '';

  it('systemd enables the units from the preset file at the first boot and starts the agent, which comes online', async () => {
    const started = await waitFor('sosna-agent.service active', () => unitProps().ActiveState === 'active', 180_000, 500).catch((err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(unitProps())}\n${boxLog()}`);
    });
    expect(started).toBe(true);
    expect(inBox('systemctl', 'is-enabled', 'sosna-agent.service').out).toBe('enabled');
    expect(inBox('cat', '/etc/systemd/system-preset/20-ignition.preset').out).toBe('enable podman.socket\nenable sosna-agent.service');
    const p = unitProps();
    expect(p).toMatchObject({ Restart: 'always', RestartUSec: '3s', StandardOutput: 'journal+console' });
    expect(p.DropInPaths).toContain('/etc/systemd/system/sosna-agent.service.d/10-console.conf');
    // the files with the modes the config gives
    expect(inBox('stat', '-c', '%n %a', '/var/lib/sosna', '/opt/sosna', '/etc/sosna/config.json', '/opt/sosna/sosna-agent.mjs', '/usr/local/bin/node').out.split('\n')).toEqual([
      '/var/lib/sosna 700', '/opt/sosna 755', '/etc/sosna/config.json 600', '/opt/sosna/sosna-agent.mjs 755', '/usr/local/bin/node 755',
    ]);
    const online = await waitFor('fcos-box online in the console', async () => (await devices()).find((d) => d.name === 'fcos-box' && d.online && d.inventory?.jobs?.engine), 180_000, 500).catch((err: Error) => {
      throw new Error(`${err.message}\n${boxLog()}\nhub:\n${hub!.output().slice(-2000)}`);
    });
    deviceId = online.id;
    // the job engine it found is the one behind the socket its config names (the private engine, standing in for Podman)
    expect(online.inventory?.jobs?.engine?.name).toBe('docker');
    expect(online.inventory?.jobs?.engine?.version).toBe((await engine!.docker.version()).Version);
    expect(inBox('journalctl', '-u', 'sosna-agent.service', '--no-pager', '-o', 'cat').out).toContain('at=unix:///run/podman/podman.sock');
    expect(inBox('test', '-s', '/var/lib/sosna/credentials.json').code).toBe(0);
  }, 420_000);

  it('runs a job through the socket its config names', async () => {
    const submitted = await cli(['console', 'jobs', 'submit', '--image', engine!.images.local, '--bid', '1', '--', 'sh', '-c', 'echo "hello from $SOSNA_DEVICE_ID"'], { env: profile() });
    expect(submitted.code, submitted.output).toBe(0);
    const jobId = submitted.stdout.trim();
    const job = await waitFor(`${jobId} finished`, async () => {
      const r = await cli(['console', 'jobs', 'show', jobId, '--json'], { env: profile() });
      const j = JSON.parse(r.stdout) as { state: string; digest: string | null; runs: { deviceId: string }[] };
      return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : null;
    }, 180_000, 500);
    expect(job.state, JSON.stringify(job)).toBe('succeeded');
    expect(job.digest).toBe(`sha256:${createHash('sha256').update(`hello from ${deviceId}\n`).digest('hex')}`);
    expect(job.runs[0]?.deviceId).toBe(deviceId);
  }, 240_000);

  it('Restart=always: killed, the agent is started again and comes back with the same identity', async () => {
    const before = unitProps();
    expect(inBox('sh', '-c', `kill -9 ${before.MainPID}`).code).toBe(0);
    await waitFor('sosna-agent.service restarted', () => {
      const p = unitProps();
      return Number(p.NRestarts) === Number(before.NRestarts) + 1 && p.ActiveState === 'active' && p.MainPID !== before.MainPID && p.MainPID !== '0';
    }, 60_000, 250);
    // online again as the same device: the new process read the identity from /var/lib/sosna
    await waitFor('fcos-box online again', async () => {
      const ds = (await devices()).filter((d) => d.name === 'fcos-box');
      return ds.length === 1 && ds[0]!.id === deviceId && ds[0]!.online;
    }, 120_000, 500);
    const journal = inBox('journalctl', '-u', 'sosna-agent.service', '--no-pager', '-o', 'cat').out;
    expect(journal.match(/provisioned deviceId=/g) ?? [], journal.slice(-2000)).toHaveLength(1);
  }, 200_000);

  it('RestartPreventExitStatus=78: an invalid config stops the agent for good, with the reason in the journal', async () => {
    const good = inBox('cat', '/etc/sosna/config.json').out;
    expect(inBox('sh', '-c', 'echo \'{"hub": {"url": "http://nope"}}\' > /etc/sosna/config.json').code).toBe(0);
    inBox('systemctl', 'restart', 'sosna-agent.service');
    await waitFor('sosna-agent.service failed with 78', () => {
      const p = unitProps();
      return p.ActiveState === 'failed' && p.ExecMainStatus === '78';
    }, 60_000, 250);
    // two RestartSec later it is still down: no automatic restart into the same error (a manual restart
    // resets NRestarts, so the count is taken once it failed)
    const restarts = unitProps().NRestarts;
    await new Promise((r) => setTimeout(r, 6_000));
    expect(unitProps()).toMatchObject({ ActiveState: 'failed', ExecMainStatus: '78', NRestarts: restarts });
    expect(inBox('journalctl', '-u', 'sosna-agent.service', '--no-pager').out).toMatch(/hub\.url/);
    writeFileSync(join(tmp.dir, 'good.json'), `${good}\n`);
    expect(spawnSync('docker', ['-H', engine!.host, 'cp', join(tmp.dir, 'good.json'), `${box!.id}:/etc/sosna/config.json`]).status).toBe(0);
    inBox('systemctl', 'start', 'sosna-agent.service');
    await waitFor('fcos-box online after the fix', async () => (await devices()).find((d) => d.id === deviceId && d.online), 120_000, 500);
  }, 240_000);
});
