// The engine's container definition for a run (pure): the job's limits, no privileges, no network
// unless asked, GPUs through device requests, published ports, and the labels that find it again.
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
    NetworkMode: string;
    PortBindings?: Record<string, { HostIp: string; HostPort: string }[]>;
    DeviceRequests?: { Driver: string; Count: number; Capabilities: string[][] }[];
    Devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
    LogConfig: { Type: string; Config: Record<string, string> };
    RestartPolicy: { Name: string };
  };
}

/** Container names: `sosna-` + the run id (ids are already limited to name-safe characters). */
export const containerName = (runId: string) => `sosna-${runId}`;

export function containerSpec(job: DeviceJob, deviceId: string, bindAddress: string): ContainerBody {
  const s = job.spec;
  const r = s.resources;
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
      PidsLimit: r.pids,
      Privileged: false,
      // Docker's default set minus what a job has no business with
      CapDrop: ['NET_RAW', 'MKNOD', 'AUDIT_WRITE', 'SYS_CHROOT', 'SETFCAP'],
      SecurityOpt: ['no-new-privileges:true'],
      NetworkMode: s.network ? 'bridge' : 'none',
      ...(ports.length ? { PortBindings: Object.fromEntries(ports.map((p) => [p, [{ HostIp: bindAddress, HostPort: '' }]])) } : {}),
      ...(gpus && (gpus.vendor ?? 'nvidia') === 'nvidia' ? { DeviceRequests: [{ Driver: 'nvidia', Count: gpus.count, Capabilities: [['gpu']] }] } : {}),
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
