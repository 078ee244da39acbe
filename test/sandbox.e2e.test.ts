// Hostile workloads (SONM whitepaper 2.8.1: a miner's machine must be safe from the jobs it runs). A buyer's
// job goes through the agent's real path (JobManager -> JobRunner -> containerSpec -> a private Docker
// Engine, test/docker.ts, configured as the sosna image's engine: user namespaces, no new privileges) with a script that tries the usual ways out of a container, one line per attempt:
// `ESCAPE <name> ok|blocked: <what it said>`. Every attempt must be blocked. The attempts that would change
// the host if they worked write back the value they read (core_pattern, modprobe) or do nothing harmful.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DeviceConfig, JobSpec, silentLogger } from '@sosna/protocol';
import type { DeviceJob, JobSpecInput, RunReport } from '@sosna/protocol';
import { connectEngine, JobManager } from '../agent/src/jobs/index.js';
import { dockerDaemonConfig } from '../provisioning/src/build/docker-daemon.js';
import type { Engine } from '../agent/src/jobs/index.js';
import { startPrivateDocker, sosnaContainers, SKIP_DOCKER } from './docker.js';
import type { PrivateDocker } from './docker.js';
import { tempDir, waitFor } from './helpers.js';
import { Recorder } from './job-recorder.js';

/** The device's pids ceiling in this test's agent config (jobs.pidsLimit); the job asks for the default 512. */
const PIDS = 64;
/** The fork bomb spawns this many sleeps: well above PIDS, bounded. */
const BOMB = 200;

let engine: PrivateDocker;
let client: Engine;
const tmp = tempDir('sosna-sandbox-');

let seq = 0;
function job(spec: JobSpecInput): DeviceJob {
  const id = `j-sandbox${seq++}`;
  return { id: `${id}.0.0`, jobId: id, leaseSec: 30, issuedAt: Date.now(), spec: JobSpec.parse(spec) };
}

const stateDir = () => join(tmp.dir, 'agent');

/** Runs one job through the agent's job manager (the path a buyer's job takes) and returns its report and output. */
async function runJob(spec: JobSpecInput): Promise<{ report: RunReport; stdout: string; stderr: string }> {
  const hub = new Recorder();
  const config = DeviceConfig.parse({ hub: { url: 'mqtt://127.0.0.1:1' }, stateDir: stateDir(), jobs: { publicHost: '127.0.0.1', bindAddress: '127.0.0.1', pidsLimit: PIDS } });
  const m = new JobManager({ config: config.jobs, stateDir: stateDir(), deviceId: 'dev-sandbox', engine: client, hub, log: silentLogger });
  await m.start();
  try {
    const j = job(spec);
    await m.handlers().start({ job: j }, {} as never);
    const report = await hub.final(j.id);
    await waitFor('container removed', async () => (await sosnaContainers(engine.docker)).length === 0, 30_000);
    return { report, stdout: hub.output(j.id), stderr: hub.output(j.id, 'stderr') };
  } finally {
    await m.stop();
  }
}

/** Each attempt is a shell snippet that exits 0 only when the escape worked. */
const ATTEMPTS: [string, string][] = [
  // the sosna image's engine remaps users: the job's root is an unprivileged uid on the host
  ['host-root', 'read inside outside count < /proc/self/uid_map; echo "$inside $outside $count"; [ "$outside" = 0 ]'],
  ['capabilities', `! grep -qE '^CapEff:[[:space:]]+0+$' /proc/self/status && grep CapEff /proc/self/status`],
  ['new-privileges', `! grep -qE '^NoNewPrivs:[[:space:]]+1$' /proc/self/status && grep NoNewPrivs /proc/self/status`],
  ['mount', 'mkdir -p /tmp/m && mount -t tmpfs x /tmp/m'],
  ['proc-sys', 'v=$(cat /proc/sys/kernel/core_pattern) && echo "$v" > /proc/sys/kernel/core_pattern'],
  ['sysrq', ': > /proc/sysrq-trigger'],
  ['sys-write', ': > /sys/kernel/uevent_helper'],
  ['cgroup', 'mkdir /sys/fs/cgroup/sosna-escape && rmdir /sys/fs/cgroup/sosna-escape'],
  // a module the kernel would reject: "invalid module format" means the attempt reached the kernel
  ['insmod', `printf 'not a module' > /tmp/bogus.ko; out=$(insmod /tmp/bogus.ko 2>&1); echo "$out"; case "$out" in *"not permitted"*) exit 1;; esac`],
  ['modprobe-path', 'v=$(cat /proc/sys/kernel/modprobe) && echo "$v" > /proc/sys/kernel/modprobe'],
  ['raw-socket', 'ping -c 1 -W 2 127.0.0.1'],
  ['mknod', 'mknod /tmp/sda b 8 0'],
  ['chown', 'touch /tmp/f && chown 1234:1234 /tmp/f'],
  ['chroot', 'chroot / true'],
  ['nsenter', 'nsenter -t 1 -m -n true'],
  ['unshare-user', 'unshare -U -r true'],
  ['unshare-mount', 'unshare -m true'],
  ['docker-socket', 'for p in /var/run/docker.sock /run/docker.sock "$HOST_DOCKER_SOCKET"; do [ -e "$p" ] && echo "$p" && exit 0; done; exit 1'],
  ['agent-state', 'for p in "$HOST_STATE_DIR" /var/lib/sosna /etc/sosna /boot/sosna; do [ -e "$p" ] && echo "$p" && exit 0; done; exit 1'],
  // the host's processes (this test's node, the private dockerd) must not be visible
  ['host-processes', 'for c in /proc/[0-9]*/comm; do read n < "$c"; case "$n" in dockerd|containerd*|node|docker-registry) echo "$n" && exit 0;; esac; done; exit 1'],
  // no network: only loopback; with network: loopback and the container's own eth0, none of the host's
  ['host-network', `ifs=$(sed -n 's/^ *\\([^:]*\\):.*/\\1/p' /proc/net/dev | tr '\\n' ' '); echo "$ifs"; for i in $ifs; do case "$i" in lo) ;; eth0) [ "$NETWORK" = 1 ] || exit 0 ;; *) exit 0 ;; esac; done; exit 1`],
  ['write-root', 'touch /sosna-escape'],
  ['write-etc', 'echo x >> /etc/passwd'],
];

function script(): string {
  const lines = [
    'attempt() { if out=$(sh -c "$2" 2>&1); then r=ok; else r=blocked; fi; echo "ESCAPE $1 $r: $(printf %s "$out" | tr "\\n" " " | head -c 200)"; }',
    ...ATTEMPTS.map(([name, snippet]) => `attempt ${name} '${snippet.replaceAll("'", `'"'"'`)}'`),
    // last, and counted without forking: a bounded fork bomb against the pids limit
    `( i=0; while [ $i -lt ${BOMB} ]; do sleep 300 & i=$((i+1)); done ) 2>/dev/null`,
    'n=0; for p in /proc/[0-9]*; do n=$((n+1)); done',
    `if [ $n -ge ${BOMB} ]; then echo "ESCAPE fork-bomb ok: $n processes"; else echo "ESCAPE fork-bomb blocked: $n processes"; fi`,
    'echo "ESCAPE done"',
  ];
  return lines.join('\n');
}

function attempts(stdout: string): Map<string, { ok: boolean; said: string }> {
  const out = new Map<string, { ok: boolean; said: string }>();
  for (const line of stdout.split('\n')) {
    const m = /^ESCAPE (\S+) (ok|blocked): ?(.*)$/.exec(line);
    if (m) out.set(m[1]!, { ok: m[2] === 'ok', said: m[3]! });
  }
  return out;
}

beforeAll(async () => {
  if (SKIP_DOCKER) return;
  // the image's own daemon.json (provisioning): dockerd makes the dockremap user and its subordinate ids itself
  engine = await startPrivateDocker({ daemonConfig: dockerDaemonConfig() });
  client = await connectEngine(engine.host);
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  tmp.cleanup();
});

describe.skipIf(SKIP_DOCKER)('a hostile job cannot get out of its container', { timeout: 120_000 }, () => {
  for (const network of [false, true]) {
    it(`every escape attempt fails (network: ${network})`, async () => {
      const { report, stdout, stderr } = await runJob({
        image: engine.images.local,
        command: ['sh', '-c', script()],
        network,
        env: { HOST_DOCKER_SOCKET: engine.host.replace(/^unix:\/\//, ''), HOST_STATE_DIR: stateDir(), NETWORK: network ? '1' : '0' },
        timeoutSec: 90,
      });
      const got = attempts(stdout);
      const names = [...ATTEMPTS.map(([n]) => n), 'fork-bomb'];
      // every attempt ran and reported (a script that died half-way would otherwise pass)
      expect(stdout, stderr).toContain('ESCAPE done');
      expect([...got.keys()].sort()).toEqual([...names].sort());
      const escaped = [...got].filter(([, a]) => a.ok).map(([n, a]) => `${n}: ${a.said}`);
      expect(escaped, stdout).toEqual([]);
      // the fork bomb hit the device's ceiling, not the job's default of 512
      expect(Number(/(\d+) processes/.exec(got.get('fork-bomb')!.said)?.[1])).toBeLessThanOrEqual(PIDS);
      expect(got.get('insmod')!.said).toMatch(/not permitted/);
      expect(got.get('raw-socket')!.said).toMatch(/permission denied|not permitted/i);
      expect(got.get('write-root')!.said).toMatch(/read-only/i);
      expect(report).toMatchObject({ state: 'succeeded', exitCode: 0 });
    });
  }

  it('a read-only root still has a writable /tmp and the declared output; writableRoot opts into a writable root', async () => {
    const ro = await runJob({ image: engine.images.local, command: ['sh', '-c', 'echo t > /tmp/t && cat /tmp/t && mkdir -p /out/sub && printf result > /out/sub/r.txt && touch /x'], output: { path: '/out/sub/r.txt' } });
    expect(ro.stdout).toBe('t\n');
    expect(ro.stderr).toMatch(/read-only/i);
    expect(ro.report).toMatchObject({ state: 'failed', exitCode: 1 }); // `touch /x` failed

    const out = await runJob({ image: engine.images.local, command: ['sh', '-c', 'mkdir -p /out/sub && printf result > /out/sub/r.txt'], output: { path: '/out/sub/r.txt' } });
    expect(out.report).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect(out.report.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const rw = await runJob({ image: engine.images.local, command: ['sh', '-c', 'touch /x && echo wrote / && : > /proc/sys/kernel/core_pattern'], writableRoot: true });
    expect(rw.stdout).toBe('wrote /\n');
    expect(rw.report).toMatchObject({ state: 'failed', exitCode: 1 }); // the root is writable, /proc/sys is still not
  });

  it('the engine is the sosna image\'s: user namespaces on', async () => {
    const info = await engine.docker.info();
    expect(info.SecurityOptions).toContain('name=userns');
  });

  it('the engine runs the job as configured: no capabilities, read-only root, the pids ceiling, no host namespaces', async () => {
    // what the container actually got, as the engine reports it (inspect while it runs)
    const hub = new Recorder();
    const config = DeviceConfig.parse({ hub: { url: 'mqtt://127.0.0.1:1' }, stateDir: stateDir(), jobs: { publicHost: '127.0.0.1', bindAddress: '127.0.0.1', pidsLimit: PIDS } });
    const m = new JobManager({ config: config.jobs, stateDir: stateDir(), deviceId: 'dev-sandbox', engine: client, hub, log: silentLogger });
    await m.start();
    try {
      const j = job({ image: engine.images.local, command: ['sleep', '30'], resources: { pids: 1000 } });
      await m.handlers().start({ job: j }, {} as never);
      const [c] = await waitFor('the job container', async () => {
        const list = await sosnaContainers(engine.docker, false);
        return list.length ? list : null;
      }, 30_000);
      const info = await engine.docker.getContainer(c!.Id).inspect();
      expect(info.HostConfig).toMatchObject({ CapDrop: ['ALL'], ReadonlyRootfs: true, PidsLimit: PIDS, Privileged: false, NetworkMode: 'none', IpcMode: 'private', PidMode: '' });
      expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges:true');
      expect(info.HostConfig.Tmpfs).toHaveProperty('/tmp');
      expect(info.HostConfig.Binds ?? []).toEqual([]);
      await m.handlers().cancel({ id: j.id }, {} as never);
      await hub.final(j.id);
    } finally {
      await m.stop();
    }
  });

});
