// Live hardware telemetry as a flat map of numbers, keyed like `gpu.0.tempC` or
// `asic.10.0.0.5.hashrate5s` (the port is added, `asic.10.0.0.5:4029.hashrate5s`, when not 4028).
import type { HardwareInventory } from '@sosna/protocol/hardware';
import { CGMINER_DEFAULT_PORT } from './asic-detector.js';
import { withDeadline } from './deadline.js';
import { detectHardware, type DetectOptions } from './detect.js';
import { systeminformationSource } from './system-detector.js';
import { toCelsius } from './parse-util.js';

/** Telemetry keys longer than this are dropped (the protocol caps metric names at 128). */
const MAX_KEY = 128;

/** Pure: the metrics an inventory holds. */
export function inventoryMetrics(inv: Pick<HardwareInventory, 'gpus' | 'asics' | 'cpu'>): Record<string, number> {
  const m: Record<string, number> = {};
  const put = (key: string, value: number | undefined): void => {
    if (value !== undefined && Number.isFinite(value) && key.length <= MAX_KEY) m[key] = value;
  };
  put('cpu.tempC', inv.cpu?.temperatureC);
  put('gpu.count', inv.gpus.length);
  for (const g of inv.gpus) {
    const p = `gpu.${g.index}`;
    put(`${p}.ok`, g.state === 'ok' ? 1 : 0);
    put(`${p}.tempC`, g.temperatureC);
    put(`${p}.memTempC`, g.memoryTemperatureC);
    put(`${p}.powerW`, g.power.drawW);
    put(`${p}.powerLimitW`, g.power.limitW);
    put(`${p}.fanPct`, g.fanPct);
    put(`${p}.fanRpm`, g.fanRpm);
    put(`${p}.utilPct`, g.utilizationPct);
    put(`${p}.vramUsedBytes`, g.vramUsedBytes);
    put(`${p}.coreMHz`, g.clocks.coreMHz);
    put(`${p}.memMHz`, g.clocks.memoryMHz);
    put(`${p}.throttleReasons`, g.throttleReasons.filter((r) => r !== 'gpu_idle').length);
  }
  put('asic.count', inv.asics.length);
  for (const a of inv.asics) {
    const p = a.port === CGMINER_DEFAULT_PORT ? `asic.${a.host}` : `asic.${a.host}:${a.port}`;
    put(`${p}.ok`, a.state === 'ok' ? 1 : 0);
    put(`${p}.hashrate5s`, a.hashrate5s);
    put(`${p}.hashrateAvg`, a.hashrateAvg);
    put(`${p}.hwErrors`, a.hwErrors);
    put(`${p}.powerW`, a.powerW);
    const chipTemps = a.chains.map((c) => c.chipTempC).filter((t): t is number => t !== undefined);
    if (chipTemps.length > 0) put(`${p}.tempMaxC`, Math.max(...chipTemps));
    for (const c of a.chains) {
      put(`${p}.chain.${c.index}.tempC`, c.chipTempC);
      put(`${p}.chain.${c.index}.hashrate`, c.hashrateHs);
    }
    a.fansRpm.forEach((rpm, i) => put(`${p}.fan.${i}.rpm`, rpm));
  }
  return m;
}

/**
 * Samples GPU and ASIC state (and the CPU temperature) for telemetry. Runs only the GPU and ASIC
 * detectors, under the same time-outs as detectHardware, and never throws.
 */
export async function sampleHardwareMetrics(opts: DetectOptions = {}): Promise<Record<string, number>> {
  const source = opts.systemInfo ?? systeminformationSource(opts.sysfsRoot ?? '/sys');
  const timeout = opts.timeouts?.systemMs ?? 2000;
  const [result, cpuTemp] = await Promise.all([
    detectHardware({ ...opts, only: ['gpu', 'asic'] }),
    withDeadline(Promise.resolve().then(() => source.cpuTemperature()), timeout, 'cpuTemperature').then(
      (t) => toCelsius(t.main ?? undefined),
      () => undefined,
    ),
  ]);
  const metrics = inventoryMetrics(result.inventory);
  if (cpuTemp !== undefined) metrics['cpu.tempC'] = cpuTemp;
  metrics['hw.warnings'] = result.warnings.length;
  return metrics;
}
