// The agent's figures for Prometheus (`/metrics`, only when the device config turns `metrics.enabled` on):
// the latest telemetry sample (system, GPUs, ASICs) in base units, the hub link and the runs in flight.
// Everything is read when scraped; nothing is counted per message. Labels name this device's own parts
// (GPU index, ASIC host, chain, fan), so their values are bounded by its hardware.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  help: string;
  labels: string[];
  counter?: boolean;
}

/** Every family the telemetry can fill, declared up front so a scrape always names them (with HELP and TYPE). */
export const TELEMETRY_FAMILIES: Family[] = [
  { name: 'sosna_agent_cpu_utilization_ratio', help: 'CPU busy time over the last telemetry interval, 0-1', labels: [] },
  { name: 'sosna_agent_memory_used_bytes', help: 'Memory in use (total - free)', labels: [] },
  { name: 'sosna_agent_load1', help: 'Load average over 1 minute', labels: [] },
  { name: 'sosna_agent_cpu_temperature_celsius', help: 'CPU temperature', labels: [] },
  { name: 'sosna_agent_gpu_up', help: 'GPU state: 1 ok, 0 a fault (lost, Xid, no readings)', labels: ['gpu'] },
  { name: 'sosna_agent_gpu_temperature_celsius', help: 'GPU core temperature', labels: ['gpu'] },
  { name: 'sosna_agent_gpu_memory_temperature_celsius', help: 'GPU memory temperature', labels: ['gpu'] },
  { name: 'sosna_agent_gpu_power_watts', help: 'GPU power draw', labels: ['gpu'] },
  { name: 'sosna_agent_gpu_power_limit_watts', help: 'GPU power limit', labels: ['gpu'] },
  { name: 'sosna_agent_gpu_fan_ratio', help: 'GPU fan speed, 0-1 of its maximum', labels: ['gpu'] },
  { name: 'sosna_agent_gpu_fan_rpm', help: 'GPU fan speed in revolutions per minute', labels: ['gpu'] },
  { name: 'sosna_agent_gpu_utilization_ratio', help: 'GPU utilization, 0-1', labels: ['gpu'] },
  { name: 'sosna_agent_gpu_memory_used_bytes', help: 'GPU memory (VRAM) in use', labels: ['gpu'] },
  { name: 'sosna_agent_gpu_clock_hertz', help: 'GPU clock, core or memory', labels: ['gpu', 'clock'] },
  { name: 'sosna_agent_gpu_throttle_reasons', help: 'Active GPU throttle reasons (idle not counted)', labels: ['gpu'] },
  { name: 'sosna_agent_asic_up', help: 'ASIC miner state over its cgminer API: 1 ok, 0 not answering or faulty', labels: ['asic'] },
  {
    name: 'sosna_agent_hashrate_hashes_per_second', help: 'Hashrate the agent knows of: source asic (cgminer readings, window 5s or avg); source miner (rig mode\'s mining program: id is the miner, or miner/gpuN for one GPU, window 10s, 60s or 15m)',
    labels: ['source', 'id', 'window'],
  },
  { name: 'sosna_agent_miner_up', help: 'Rig mode: the mining program runs and its API answers (1), or not (0)', labels: ['miner'] },
  { name: 'sosna_agent_miner_shares_total', help: 'Rig mode: shares the pool accepted or rejected, as the miner counts them (resets when it restarts)', labels: ['miner', 'result'], counter: true },
  { name: 'sosna_agent_asic_chain_hashrate_hashes_per_second', help: 'ASIC hash board (chain) hashrate', labels: ['asic', 'chain'] },
  { name: 'sosna_agent_asic_chain_temperature_celsius', help: 'ASIC hash board (chain) chip temperature', labels: ['asic', 'chain'] },
  { name: 'sosna_agent_asic_power_watts', help: 'ASIC power draw, where the firmware reports it', labels: ['asic'] },
  { name: 'sosna_agent_asic_fan_rpm', help: 'ASIC fan speed in revolutions per minute', labels: ['asic', 'fan'] },
  { name: 'sosna_agent_asic_hardware_errors_total', help: 'ASIC hardware errors as its firmware counts them (resets when the miner restarts)', labels: ['asic'], counter: true },
];

type Rule = [RegExp, (m: RegExpExecArray, v: number) => Sample | null];
const one = (name: string, labels: Record<string, string>, value: number): Sample => ({ name, labels, value });
const GPU_FIELDS: Record<string, [string, number]> = {
  ok: ['sosna_agent_gpu_up', 1], tempC: ['sosna_agent_gpu_temperature_celsius', 1], memTempC: ['sosna_agent_gpu_memory_temperature_celsius', 1],
  powerW: ['sosna_agent_gpu_power_watts', 1], powerLimitW: ['sosna_agent_gpu_power_limit_watts', 1], fanPct: ['sosna_agent_gpu_fan_ratio', 0.01],
  fanRpm: ['sosna_agent_gpu_fan_rpm', 1], utilPct: ['sosna_agent_gpu_utilization_ratio', 0.01], vramUsedBytes: ['sosna_agent_gpu_memory_used_bytes', 1],
  throttleReasons: ['sosna_agent_gpu_throttle_reasons', 1],
};
const RULES: Rule[] = [
  [/^cpu\.loadPct$/, (_m, v) => one('sosna_agent_cpu_utilization_ratio', {}, v / 100)],
  [/^mem\.usedBytes$/, (_m, v) => one('sosna_agent_memory_used_bytes', {}, v)],
  [/^load\.1m$/, (_m, v) => one('sosna_agent_load1', {}, v)],
  [/^cpu\.tempC$/, (_m, v) => one('sosna_agent_cpu_temperature_celsius', {}, v)],
  [/^gpu\.(\d+)\.(coreMHz|memMHz)$/, (m, v) => one('sosna_agent_gpu_clock_hertz', { gpu: m[1]!, clock: m[2] === 'coreMHz' ? 'core' : 'memory' }, v * 1e6)],
  [/^gpu\.(\d+)\.(\w+)$/, (m, v) => (GPU_FIELDS[m[2]!] ? one(GPU_FIELDS[m[2]!]![0], { gpu: m[1]! }, v * GPU_FIELDS[m[2]!]![1]) : null)],
  [/^asic\.(.+)\.chain\.(\d+)\.tempC$/, (m, v) => one('sosna_agent_asic_chain_temperature_celsius', { asic: m[1]!, chain: m[2]! }, v)],
  [/^asic\.(.+)\.chain\.(\d+)\.hashrate$/, (m, v) => one('sosna_agent_asic_chain_hashrate_hashes_per_second', { asic: m[1]!, chain: m[2]! }, v)],
  [/^asic\.(.+)\.fan\.(\d+)\.rpm$/, (m, v) => one('sosna_agent_asic_fan_rpm', { asic: m[1]!, fan: m[2]! }, v)],
  [/^asic\.(.+)\.hashrate(5s|Avg)$/, (m, v) => one('sosna_agent_hashrate_hashes_per_second', { source: 'asic', id: m[1]!, window: m[2] === '5s' ? '5s' : 'avg' }, v)],
  [/^miner\.([a-z0-9_-]+)\.gpu\.(\d+)\.hashrate(10s|60s|15m)$/, (m, v) => one('sosna_agent_hashrate_hashes_per_second', { source: 'miner', id: `${m[1]!}/gpu${m[2]!}`, window: m[3]! }, v)],
  [/^miner\.([a-z0-9_-]+)\.cpu\.hashrate(10s|60s|15m)$/, (m, v) => one('sosna_agent_hashrate_hashes_per_second', { source: 'miner', id: `${m[1]!}/cpu`, window: m[2]! }, v)],
  [/^miner\.([a-z0-9_-]+)\.hashrate(10s|60s|15m)$/, (m, v) => one('sosna_agent_hashrate_hashes_per_second', { source: 'miner', id: m[1]!, window: m[2]! }, v)],
  [/^miner\.([a-z0-9_-]+)\.shares(Accepted|Rejected)$/, (m, v) => one('sosna_agent_miner_shares_total', { miner: m[1]!, result: m[2]!.toLowerCase() }, v)],
  [/^miner\.([a-z0-9_-]+)\.up$/, (m, v) => one('sosna_agent_miner_up', { miner: m[1]! }, v)],
  [/^asic\.(.+)\.ok$/, (m, v) => one('sosna_agent_asic_up', { asic: m[1]! }, v)],
  [/^asic\.(.+)\.powerW$/, (m, v) => one('sosna_agent_asic_power_watts', { asic: m[1]! }, v)],
  [/^asic\.(.+)\.hwErrors$/, (m, v) => one('sosna_agent_asic_hardware_errors_total', { asic: m[1]! }, v)],
];

/**
 * Pure: a telemetry sample (`gpu.0.tempC`, `asic.10.0.0.5.hashrate5s`, ...) as Prometheus samples in base
 * units (ratios 0-1, hertz, watts, bytes, H/s). Keys it does not know (counts, totals derivable by PromQL) are left out.
 */
export function telemetrySamples(values: Record<string, number>): Sample[] {
  const out: Sample[] = [];
  for (const [key, v] of Object.entries(values)) {
    if (!Number.isFinite(v) || key === 'gpu.count' || key === 'asic.count') continue;
    for (const [re, make] of RULES) {
      const m = re.exec(key);
      if (!m) continue;
      const s = make(m, v);
      if (s) out.push(s);
      break;
    }
  }
  return out;
}

export interface AgentMetricsSources {
  version: string;
  /** The latest telemetry sample and when it was taken (null before the first). */
  sample(): { at: number; values: Record<string, number> } | null;
  /** Whether the MQTT link to the hub is up now. */
  connected(): boolean;
  /** Connections to the hub made since the agent started. */
  connects(): number;
  /** The runs in flight (assigned, pulling, running) and the slots the config offers. */
  runs(): { state: string }[];
  maxJobs: number;
}

export const ACTIVE_RUN_STATES = ['assigned', 'pulling', 'running'] as const;

export function createAgentMetrics(src: AgentMetricsSources): { registry: Registry; scrape(): Promise<string>; stop(): void } {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'sosna_agent_' });
  // gauges named *_total break Prometheus' naming rule (promtool says so); the same figures remain by type without it
  for (const n of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`sosna_agent_nodejs_${n}`);
  new Gauge({ name: 'sosna_build_info', help: 'sosna build: 1, with the version in labels', labelNames: ['component', 'version', 'node_version'], registers })
    .set({ component: 'agent', version: src.version, node_version: process.versions.node }, 1);

  // one pass over the sample per scrape, shared by every family (they collect in the same turn)
  let cached: Map<string, Sample[]> | null = null;
  const byName = () => {
    if (!cached) {
      cached = new Map();
      for (const s of telemetrySamples(src.sample()?.values ?? {})) cached.set(s.name, [...(cached.get(s.name) ?? []), s]);
      setImmediate(() => (cached = null));
    }
    return cached;
  };
  for (const f of TELEMETRY_FAMILIES) {
    const fill = (m: Gauge<string> | Counter<string>) => {
      m.reset();
      for (const s of byName().get(f.name) ?? []) {
        if (m instanceof Counter) m.inc(s.labels, s.value);
        else m.set(s.labels, s.value);
      }
    };
    if (f.counter) new Counter({ name: f.name, help: f.help, labelNames: f.labels, registers, collect() { fill(this); } });
    else new Gauge({ name: f.name, help: f.help, labelNames: f.labels, registers, collect() { fill(this); } });
  }
  new Gauge({
    name: 'sosna_agent_telemetry_sample_timestamp_seconds', help: 'When the hardware figures above were sampled (Unix time; every telemetry.intervalSec)', registers,
    collect() {
      const s = src.sample();
      this.reset();
      if (s) this.set(s.at / 1000);
    },
  });

  new Gauge({ name: 'sosna_agent_hub_connected', help: 'The MQTT link to the hub: 1 up, 0 down', registers, collect() { this.set(src.connected() ? 1 : 0); } });
  new Counter({ name: 'sosna_agent_hub_connects_total', help: 'Connections to the hub since the agent started (a reconnect counts one)', registers, collect() { this.reset(); this.inc(src.connects()); } });
  new Gauge({
    name: 'sosna_agent_jobs', help: 'Runs in flight on this device, by state', labelNames: ['state'], registers,
    collect() {
      const runs = src.runs();
      for (const s of ACTIVE_RUN_STATES) this.set({ state: s }, runs.filter((r) => r.state === s).length);
    },
  });
  new Gauge({ name: 'sosna_agent_job_slots', help: 'Runs this device takes at once (config jobs.maxJobs; 0 without a container engine)', registers, collect() { this.set(src.maxJobs); } });
  return { registry, scrape: () => registry.metrics(), stop: () => registry.clear() };
}
