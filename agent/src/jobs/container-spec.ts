// The engine's container definition for a run (pure): the job's limits, no privileges, no network
// unless asked, GPUs through device requests, published ports, and the labels that find it again.
// A job is hostile until shown otherwise (docs/architecture.md "Hostile workloads"): no capabilities at
// all, no new privileges through setuid files, the device's pids ceiling, a read-only root unless the
// buyer asks (then a tmpfs /tmp and a volume for the declared output), no host namespaces, no host mounts.
import { posix } from 'node:path';
import type { DeviceJob } from '@sosna/protocol';

export const LABEL_JOB = 'sosna.job';
export const LABEL_DEVICE = 'sosna.device';
export const LABEL_HUB_JOB = 'sosna.hub-job';

export interface ContainerBody {
  name: string;
  Image: string;
  Cmd?: string[];
  Env: string[];
  Labels: Record<string, string>;
  Tty: false;
  OpenStdin: false;
  ExposedPorts?: Record<string, object>;
  StopTimeout: number;
  HostConfig: {
    NanoCpus: number;
    Memory: number;
    MemorySwap: number;
    PidsLimit: number;
    Privileged: false;
    CapDrop: string[];
    SecurityOpt: string[];
    ReadonlyRootfs: boolean;
    Tmpfs?: Record<string, string>;
    Mounts?: ({ Type: 'volume'; Source: ''; Target: string } | { Type: 'bind'; Source: string; Target: string; ReadOnly: boolean })[];
    NetworkMode: string;
    IpcMode: 'private';
    PidMode: '';
    UTSMode: '';
    PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
    DeviceRequests?: { Driver: string; Count?: number; DeviceIDs?: string[]; Capabilities: string[][] }[];
    Devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
    LogConfig: { Type: string; Config: Record<string, string> };
    RestartPolicy: { Name: string };
  };
}

/** Container names: `sosna-` + the run id (ids are already limited to name-safe characters). */
export const containerName = (runId: string) => `sosna-${runId}`;

/** What the device decides, not the buyer. */
export interface ContainerPolicy {
  /** Address published service ports bind to. */
  bindAddress: string;
  /** The device's ceiling on a job's processes (jobs.pidsLimit). */
  pidsLimit: number;
  /** Rig mode: the NVIDIA GPUs (the driver's ids) this run was placed on; absent: the engine's first N. */
  gpuDeviceIds?: string[];
  /** The fetched input (agent-owned folder), mounted read-only at the spec's input.mount. */
  inputDir?: string;
  /** An agent-owned empty folder mounted at a torrent output's path (the job writes its output there). */
  outputDir?: string;
}

/**
 * Where the declared output is written when the root is read-only: its folder (an anonymous volume, which
 * starts with the image's files there and which the engine can copy out, unlike a tmpfs), or the path
 * itself for an output at the top level (`/out`: then a folder the job fills).
 */
export function outputMount(path: string): string {
  const p = posix.normalize(path).replace(/\/+$/, '') || '/';
  const dir = posix.dirname(p);
  return dir === '/' ? p : dir;
}

export function containerSpec(job: DeviceJob, deviceId: string, policy: ContainerPolicy): ContainerBody {
  const s = job.spec;
  const r = s.resources;
  const { bindAddress } = policy;
  const readOnly = s.writableRoot !== true;
  const outDir = readOnly && s.output && !s.output.torrent ? outputMount(s.output.path) : null;
  // job data: the only host folders a job sees, each the agent's own for this run
  const binds = [
    ...(s.input && policy.inputDir ? [{ Type: 'bind' as const, Source: policy.inputDir, Target: s.input.mount, ReadOnly: true }] : []),
    ...(s.output?.torrent && policy.outputDir ? [{ Type: 'bind' as const, Source: policy.outputDir, Target: posix.normalize(s.output.path), ReadOnly: false }] : []),
  ];
  const mounts = [...(outDir ? [{ Type: 'volume' as const, Source: '' as const, Target: outDir }] : []), ...binds];
  const ports = s.ports.map((p) => `${p.port}/${p.protocol}`);
  const gpus = r.gpus;
  return {
    name: containerName(job.id),
    Image: s.image,
    ...(s.command.length ? { Cmd: s.command } : {}),
    // the job learns who it is (a replica may want to know); these win over the spec's own env
    Env: [...Object.entries(s.env).filter(([k]) => !k.startsWith('SOSNA_')).map(([k, v]) => `${k}=${v}`), `SOSNA_JOB_ID=${job.jobId}`, `SOSNA_RUN_ID=${job.id}`, `SOSNA_DEVICE_ID=${deviceId}`],
    Labels: { [LABEL_JOB]: job.id, [LABEL_DEVICE]: deviceId, [LABEL_HUB_JOB]: job.jobId },
    Tty: false,
    OpenStdin: false,
    ...(ports.length ? { ExposedPorts: Object.fromEntries(ports.map((p) => [p, {}])) } : {}),
    StopTimeout: 5,
    HostConfig: {
      NanoCpus: Math.round(r.cpus * 1e9),
      Memory: r.memoryBytes,
      MemorySwap: r.memoryBytes, // no swap: above the limit is an OOM kill
      PidsLimit: Math.min(r.pids, policy.pidsLimit),
      Privileged: false,
      // none of Docker's default set: no chown/setuid/kill-any/raw sockets/mknod; the engine still lets a
      // job bind ports below 1024 in its own network namespace (ip_unprivileged_port_start=0)
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      ReadonlyRootfs: readOnly,
      // a tmpfs is charged to the container's memory: its size is the job's memory limit (an output in
      // /tmp itself gets the volume there instead: the engine cannot copy out of a tmpfs)
      ...(readOnly && outDir !== '/tmp' ? { Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${r.memoryBytes}` } } : {}),
      ...(mounts.length ? { Mounts: mounts } : {}),
      NetworkMode: s.network ? 'bridge' : 'none',
      // the engine's own namespaces, never the host's (a daemon default of `shareable` IPC is not wanted either)
      IpcMode: 'private',
      PidMode: '',
      UTSMode: '',
      ...(ports.length ? { PortBindings: Object.fromEntries(ports.map((p) => [p, [{ HostIp: bindAddress, HostPort: '' }]])) } : {}),
      // NVIDIA: the GPUs the rig chose (by the driver's ids: the engine sets NVIDIA_VISIBLE_DEVICES to them), else any N
      ...(gpus && (gpus.vendor ?? 'nvidia') === 'nvidia'
        ? { DeviceRequests: [policy.gpuDeviceIds?.length ? { Driver: 'nvidia', DeviceIDs: policy.gpuDeviceIds, Capabilities: [['gpu']] } : { Driver: 'nvidia', Count: gpus.count, Capabilities: [['gpu']] }] }
        : {}),
      ...(gpus && (gpus.vendor === 'amd' || gpus.vendor === 'intel')
        ? { Devices: [...(gpus.vendor === 'amd' ? ['/dev/kfd'] : []), '/dev/dri'].map((p) => ({ PathOnHost: p, PathInContainer: p, CgroupPermissions: 'rwm' })) }
        : {}),
      LogConfig: { Type: 'json-file', Config: { 'max-size': '64m', 'max-file': '1' } },
      RestartPolicy: { Name: 'no' }, // restarts are the agent's, so that it sees and reports each one
    },
  };
}

interface PortsInfo {
  NetworkSettings?: { Ports?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null };
}

/** `host:port` for each published port (the configured public host, or the binding's own address). */
export function endpointsOf(info: PortsInfo, publicHost: string): string[] {
  const out = new Set<string>();
  for (const [, bindings] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
    for (const b of bindings ?? []) {
      if (!b.HostPort) continue;
      const host = b.HostIp && b.HostIp !== '0.0.0.0' && b.HostIp !== '::' ? b.HostIp : publicHost;
      out.add(`${host.includes(':') ? `[${host}]` : host}:${b.HostPort}`);
    }
  }
  return [...out].sort();
}
