import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { JobSpec } from '@sosna/protocol';
import { Demuxer, frame } from './demux.js';
import { compareApi, negotiateApi, noEngineReason, resolveEndpoint } from './engine.js';
import { containerSpec, endpointsOf, outputMount } from './container-spec.js';
import { digestTar, readTar } from './tar-digest.js';
import { deviceHealth, HOUR_MS, watch } from './watchdog.js';
import { LogForwarder } from './forwarder.js';

function tarEntry(name: string, data: string, type = '0'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write('0000644\0', 100);
  h.write(`${Buffer.byteLength(data).toString(8).padStart(11, '0')}\0`, 124);
  h.write(type, 156);
  h.write('ustar\0', 257);
  const body = Buffer.alloc(Math.ceil(Buffer.byteLength(data) / 512) * 512);
  body.write(data);
  return Buffer.concat([h, body]);
}
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

describe('engine output stream', () => {
  it('splits frames whatever the chunking', () => {
    const bytes = Buffer.concat([frame('stdout', 'hello '), frame('stderr', 'oops\n'), frame('stdout', 'world\n')]);
    for (const size of [1, 3, 8, 9, bytes.length]) {
      const got: string[] = [];
      const d = new Demuxer((s, p) => got.push(`${s}:${p.toString()}`));
      for (let i = 0; i < bytes.length; i += size) d.push(bytes.subarray(i, i + size));
      expect(got).toEqual(['stdout:hello ', 'stderr:oops\n', 'stdout:world\n']);
      expect(d.pending).toBe(0);
    }
  });
});

describe('engine endpoint and API version', () => {
  it('prefers the configured address, then DOCKER_HOST, then balenaEngine, then Docker', () => {
    expect(resolveEndpoint('unix:///run/x.sock', { DOCKER_HOST: 'tcp://h:1' }).endpoint).toEqual({ socketPath: '/run/x.sock' });
    expect(resolveEndpoint(undefined, { DOCKER_HOST: 'tcp://10.0.0.2:2375' }).endpoint).toEqual({ protocol: 'http', host: '10.0.0.2', port: 2375 });
    expect(resolveEndpoint(undefined, {}, (p) => p === '/var/run/balena-engine.sock').endpoint).toEqual({ socketPath: '/var/run/balena-engine.sock' });
    expect(resolveEndpoint(undefined, {}, () => false).endpoint).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(() => resolveEndpoint('ssh://host', {})).toThrow(/unix:\/\/\/path/);
  });

  it('says why there is no engine: every place looked at, the error, and what to set', () => {
    expect(noEngineReason(undefined, {}, 'no container engine at unix:///var/run/docker.sock: connect ENOENT /var/run/docker.sock')).toBe(
      'no container engine found (looked at unix:///var/run/balena-engine.sock, unix:///var/run/balena.sock, unix:///var/run/docker.sock: connect ENOENT /var/run/docker.sock); set jobs.dockerHost in the config or DOCKER_HOST',
    );
    expect(noEngineReason(undefined, { DOCKER_HOST: 'tcp://h:2375' }, 'x')).toMatch(/^no container engine found \(looked at tcp:\/\/h:2375 \(DOCKER_HOST\): x\)/);
    expect(noEngineReason('unix:///run/e.sock', {}, 'x')).toMatch(/looked at unix:\/\/\/run\/e.sock \(jobs.dockerHost\)/);
  });

  it('negotiates down to what both speak', () => {
    expect(negotiateApi('1.41')).toBe('1.41');
    expect(negotiateApi('1.47')).toBe('1.45');
    expect(compareApi('1.9', '1.41')).toBeLessThan(0);
    expect(() => negotiateApi('1.24')).toThrow(/needs 1.30/);
    expect(() => negotiateApi('1.50', '1.46')).toThrow(/needs API 1.46/);
  });
});

describe('container definition', () => {
  const job = (spec: object) => ({ id: 'j-x.0.0', jobId: 'j-x', leaseSec: 30, issuedAt: 0, spec: JobSpec.parse({ image: 'busybox', ...spec }) });
  const policy = { bindAddress: '0.0.0.0', pidsLimit: 512 };

  it('treats the job as hostile: no capabilities, no new privileges, read-only root with a tmpfs /tmp, no host namespaces or mounts', () => {
    const h = containerSpec(job({ resources: { memoryBytes: 64 * 2 ** 20 } }), 'd', policy).HostConfig;
    expect(h).toMatchObject({ Privileged: false, CapDrop: ['ALL'], ReadonlyRootfs: true, NetworkMode: 'none', IpcMode: 'private', PidMode: '', UTSMode: '' });
    expect(h.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(h.Tmpfs).toEqual({ '/tmp': `rw,nosuid,nodev,size=${64 * 2 ** 20}` });
    expect(h.Mounts).toBeUndefined();
    expect(Object.keys(h)).not.toContain('Binds');
    expect(Object.keys(h)).not.toContain('CapAdd');
    expect(Object.keys(h)).not.toContain('UsernsMode'); // the daemon's remapping applies
    // with network: its own bridge namespace, never the host's
    expect(containerSpec(job({ network: true }), 'd', policy).HostConfig.NetworkMode).toBe('bridge');
  });

  it('caps the pids limit at the device\'s ceiling; a job asking for fewer gets its own figure', () => {
    expect(containerSpec(job({}), 'd', { ...policy, pidsLimit: 64 }).HostConfig.PidsLimit).toBe(64); // the spec's default is 512
    expect(containerSpec(job({ resources: { pids: 10_000 } }), 'd', policy).HostConfig.PidsLimit).toBe(512);
    expect(containerSpec(job({ resources: { pids: 32 } }), 'd', policy).HostConfig.PidsLimit).toBe(32);
  });

  it('gives a read-only job a writable folder for its declared output; a writable root needs neither', () => {
    expect(outputMount('/out/r.txt')).toBe('/out');
    expect(outputMount('/out/sub/r.txt')).toBe('/out/sub');
    expect(outputMount('/out')).toBe('/out');
    expect(outputMount('/out/')).toBe('/out');
    expect(containerSpec(job({ output: { path: '/out/r.txt' } }), 'd', policy).HostConfig.Mounts).toEqual([{ Type: 'volume', Source: '', Target: '/out' }]);
    // an output in /tmp: a volume there instead of the tmpfs (the engine cannot copy out of a tmpfs)
    const t = containerSpec(job({ output: { path: '/tmp/r.txt' } }), 'd', policy).HostConfig;
    expect(t.Mounts).toEqual([{ Type: 'volume', Source: '', Target: '/tmp' }]);
    expect(t.Tmpfs).toBeUndefined();
    const rw = containerSpec(job({ writableRoot: true, output: { path: '/out/r.txt' } }), 'd', policy).HostConfig;
    expect(rw).toMatchObject({ ReadonlyRootfs: false, CapDrop: ['ALL'] });
    expect(rw.Tmpfs).toBeUndefined();
    expect(rw.Mounts).toBeUndefined();
  });

  it('applies limits, drops privileges, keeps the network off, labels the run', () => {
    const c = containerSpec(job({ command: ['echo', 'hi'], env: { A: '1', SOSNA_RUN_ID: 'forged' }, resources: { cpus: 1.5, memoryBytes: 64 * 2 ** 20, pids: 32 } }), 'dev-1', policy);
    expect(c).toMatchObject({ name: 'sosna-j-x.0.0', Image: 'busybox', Cmd: ['echo', 'hi'], Labels: { 'sosna.job': 'j-x.0.0', 'sosna.device': 'dev-1', 'sosna.hub-job': 'j-x' } });
    expect(c.Env).toEqual(['A=1', 'SOSNA_JOB_ID=j-x', 'SOSNA_RUN_ID=j-x.0.0', 'SOSNA_DEVICE_ID=dev-1']);
    expect(c.HostConfig).toMatchObject({ NanoCpus: 1.5e9, Memory: 64 * 2 ** 20, MemorySwap: 64 * 2 ** 20, PidsLimit: 32, Privileged: false, NetworkMode: 'none' });
    expect(c.HostConfig.SecurityOpt).toContain('no-new-privileges:true');
    expect(c.HostConfig.DeviceRequests).toBeUndefined();
  });

  it('publishes service ports and asks for GPUs', () => {
    const c = containerSpec(job({ kind: 'service', network: true, ports: [{ port: 80 }], resources: { gpus: { count: 2, vendor: 'nvidia' } } }), 'd', { ...policy, bindAddress: '127.0.0.1' });
    expect(c.HostConfig).toMatchObject({ NetworkMode: 'bridge', PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, DeviceRequests: [{ Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] }] });
    expect(containerSpec(job({ resources: { gpus: { count: 1, vendor: 'amd' } } }), 'd', policy).HostConfig.Devices?.map((d) => d.PathOnHost)).toEqual(['/dev/kfd', '/dev/dri']);
  });

  it('asks for the exact NVIDIA GPUs a rig placed the run on (the driver\'s ids, no count)', () => {
    const c = containerSpec(job({ resources: { gpus: { count: 1, vendor: 'nvidia' } } }), 'd', { ...policy, gpuDeviceIds: ['1'] });
    expect(c.HostConfig.DeviceRequests).toEqual([{ Driver: 'nvidia', DeviceIDs: ['1'], Capabilities: [['gpu']] }]);
  });

  it('turns published ports into endpoints', () => {
    expect(endpointsOf({ NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '32768' }], '53/udp': null } } }, 'rig.example')).toEqual(['rig.example:32768']);
    expect(endpointsOf({ NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '1' }] } } }, 'x')).toEqual(['127.0.0.1:1']);
  });
});

describe('output digest from a tar archive', () => {
  it('one file: the sha256 of its bytes', () => {
    expect(digestTar(Buffer.concat([tarEntry('r.txt', 'result'), Buffer.alloc(1024)]))).toBe(sha('result'));
  });

  it('a directory: names and contents, in name order', () => {
    const a = Buffer.concat([tarEntry('out/', '', '5'), tarEntry('out/b', 'B'), tarEntry('out/a', 'A'), Buffer.alloc(1024)]);
    const b = Buffer.concat([tarEntry('out/', '', '5'), tarEntry('out/a', 'A'), tarEntry('out/b', 'B'), Buffer.alloc(1024)]);
    const renamed = Buffer.concat([tarEntry('out/', '', '5'), tarEntry('out/a', 'B'), tarEntry('out/b', 'A'), Buffer.alloc(1024)]);
    expect(digestTar(a)).toBe(digestTar(b));
    expect(digestTar(a)).not.toBe(digestTar(renamed));
    expect(readTar(a).map((e) => e.name)).toEqual(['out/', 'out/b', 'out/a']);
  });

  it('refuses a truncated archive', () => {
    expect(() => readTar(tarEntry('x', 'y'.repeat(600)).subarray(0, 700))).toThrow(/truncated/);
  });
});

describe('watchdog', () => {
  const start = { last: { outputBytes: 0, cpuNs: 0 }, lastProgressAt: 0, restarts: 0 };
  it('restarts a stalled job once, then fails it', () => {
    let r = watch(start, { outputBytes: 0, cpuNs: 0 }, 4000, 5000);
    expect(r.action).toBe('ok');
    r = watch(r.state, { outputBytes: 0, cpuNs: 0 }, 5000, 5000);
    expect(r.action).toBe('restart');
    r = watch(r.state, { outputBytes: 10, cpuNs: 0 }, 7000, 5000); // progress after the restart
    expect(r.action).toBe('ok');
    r = watch(r.state, { outputBytes: 10, cpuNs: 0 }, 12_000, 5000);
    expect(r.action).toBe('fail');
  });

  it('CPU time counts as progress', () => {
    expect(watch(start, { outputBytes: 0, cpuNs: 5 }, 9000, 5000).action).toBe('ok');
  });

  it('marks the device unhealthy after enough stall failures within an hour', () => {
    expect(deviceHealth([1000, 2000], 3000, 3).healthy).toBe(true);
    expect(deviceHealth([1000, 2000, 2500], 3000, 3).healthy).toBe(false);
    expect(deviceHealth([1000, 2000, 2500], 2500 + HOUR_MS, 3)).toEqual({ healthy: true, recent: [] });
  });
});

describe('log forwarder', () => {
  it('coalesces, keeps multi-byte characters whole, bounds the rate and says what it dropped', async () => {
    let now = 0;
    const sent: { pieces: { stream: string; data: string }[]; dropped: number }[] = [];
    let done = 0;
    const f = new LogForwarder({ bytesPerSec: 10, now: () => now, send: async (pieces, dropped) => void sent.push({ pieces, dropped }), onDone: (n) => (done += n) });
    const euro = Buffer.from('€');
    f.write('stdout', Buffer.from('ab'));
    f.write('stdout', euro.subarray(0, 1));
    f.write('stdout', euro.subarray(1));
    f.write('stderr', Buffer.from('0123456789')); // over the 10 bytes/s bucket: dropped
    await f.flush();
    expect(sent).toEqual([{ pieces: [{ stream: 'stdout', data: 'ab€', at: 0 }], dropped: 10 }]);
    expect(done).toBe(15);
    now = 1000;
    f.write('stderr', Buffer.from('later'));
    await f.end();
    expect(sent[1]!.pieces).toEqual([{ stream: 'stderr', data: 'later', at: 1000 }]);
  });

  it('keeps output while the hub is out of reach and sends it later', async () => {
    let up = false;
    const got: string[] = [];
    const f = new LogForwarder({ bytesPerSec: 1e6, send: async (pieces) => (up ? void got.push(...pieces.map((p) => p.data)) : Promise.reject(new Error('down'))) });
    f.write('stdout', Buffer.from('kept'));
    await f.flush();
    expect(got).toEqual([]);
    up = true;
    await f.flush();
    expect(got).toEqual(['kept']);
    f.dispose();
  });
});

describe('container timestamps', () => {
  it('keeps sub-millisecond fractions of Docker times', async () => {
    const { preciseMs } = await import('./runner.js');
    expect(preciseMs('2026-11-25T01:10:14.000400000Z') - preciseMs('2026-11-25T01:10:14.000100000Z')).toBeCloseTo(0.3, 3);
    expect(preciseMs('2026-11-25T01:10:15Z') - preciseMs('2026-11-25T01:10:14.5Z')).toBe(500);
    expect(preciseMs('0001-01-01T00:00:00Z')).toBeLessThan(0);
    expect(Number.isNaN(preciseMs(undefined))).toBe(true);
  });

  it('bills the engine-measured time, or the observed time when the engine gives none, never 0 ms', async () => {
    const { runMs } = await import('./runner.js');
    expect(runMs({ StartedAt: '2026-11-25T01:10:14.1Z', FinishedAt: '2026-11-25T01:10:14.7Z' }, 5)).toBe(600);
    expect(runMs({ StartedAt: '2026-11-25T01:10:14.100000000Z', FinishedAt: '2026-11-25T01:10:14.100000300Z' }, 5)).toBe(1);
    // a short container inspected right after wait: FinishedAt unset, or before StartedAt
    expect(runMs({ StartedAt: '2026-11-25T01:10:14.1Z', FinishedAt: '0001-01-01T00:00:00Z' }, 620)).toBe(620);
    expect(runMs({ StartedAt: '2026-11-25T01:10:14.9Z', FinishedAt: '2026-11-25T01:10:14.3Z' }, 580.2)).toBe(581);
    expect(runMs({}, 0)).toBe(1);
  });
});
