// CPU temperature for telemetry from the kernel's thermal zones (/sys/class/thermal/thermal_zone*/{type,temp},
// millidegrees Celsius): cheap enough for every tick, no library in the daemon.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const CPU_ZONE = /^(x86_pkg_temp|cpu[-_]?thermal|cpu|soc[-_]?thermal|k10temp|coretemp|acpitz)$/i;

/** Pure: picks the CPU zone (package sensor first) from [type, millidegrees] pairs; °C or undefined. */
export function cpuTempFromZones(zones: [type: string, milli: string][]): number | undefined {
  const valid = zones
    .map(([type, milli]) => [type.trim(), Number(milli.trim())] as const)
    .filter(([type, v]) => CPU_ZONE.test(type) && Number.isFinite(v) && v > -40_000 && v < 150_000);
  const rank = (t: string) => (/x86_pkg_temp|k10temp|coretemp/i.test(t) ? 0 : /cpu|soc/i.test(t) ? 1 : 2);
  valid.sort((a, b) => rank(a[0]) - rank(b[0]));
  const best = valid[0];
  return best ? Math.round(best[1] / 100) / 10 : undefined;
}

export function readCpuTemp(root = '/sys/class/thermal'): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync(root).filter((e) => e.startsWith('thermal_zone'));
  } catch {
    return undefined;
  }
  const zones: [string, string][] = [];
  for (const e of entries) {
    try {
      zones.push([readFileSync(join(root, e, 'type'), 'utf8'), readFileSync(join(root, e, 'temp'), 'utf8')]);
    } catch {
      // a zone that cannot be read (some report EINVAL while idle) is skipped
    }
  }
  return cpuTempFromZones(zones);
}
