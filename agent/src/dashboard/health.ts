// The overview's health verdict from the newest telemetry and the hub link: a pure function, so its
// thresholds are tested without a device.

export type Level = 'ok' | 'warn' | 'error';
export interface HealthCheck {
  name: string;
  level: Level;
  detail: string;
}

const worst = (levels: Level[]): Level => (levels.includes('error') ? 'error' : levels.includes('warn') ? 'warn' : 'ok');

export function assessHealth(input: {
  connected: boolean;
  /** The hub trust check of the last connection (null: none configured or none yet). */
  trust?: { state: 'unchecked' | 'trusted' | 'refused'; hubId: string; reason: string | null } | null;
  metrics: Record<string, number>;
  /** Milliseconds since the newest sample; null when there is none yet. */
  sampleAgeMs: number | null;
  intervalSec: number;
  memoryTotalBytes: number;
}): { level: Level; checks: HealthCheck[] } {
  const m = input.metrics;
  const checks: HealthCheck[] = [];
  const refused = input.trust?.state === 'refused' ? input.trust : null;
  checks.push({
    name: 'hub link', level: input.connected ? 'ok' : 'error',
    detail: input.connected ? 'connected' : refused ? `refusing hub ${refused.hubId} (checking again on reconnect)` : 'not connected (reconnecting)',
  });
  if (input.trust && input.trust.state !== 'unchecked') {
    checks.push({ name: 'hub trust', level: refused ? 'error' : 'ok', detail: refused ? `refused: ${refused.reason}` : `hub ${input.trust.hubId} checked on connect` });
  }
  const stale = input.sampleAgeMs === null || input.sampleAgeMs > 3 * input.intervalSec * 1000 + 5000;
  checks.push({ name: 'telemetry', level: stale ? 'warn' : 'ok', detail: input.sampleAgeMs === null ? 'no sample yet' : `last sample ${Math.round(input.sampleAgeMs / 1000)} s ago` });
  const cpuT = m['cpu.tempC'];
  if (cpuT !== undefined) checks.push({ name: 'CPU temperature', level: cpuT >= 95 ? 'error' : cpuT >= 85 ? 'warn' : 'ok', detail: `${cpuT.toFixed(0)} °C` });
  const used = m['mem.usedBytes'];
  if (used !== undefined && input.memoryTotalBytes > 0) {
    const pct = (100 * used) / input.memoryTotalBytes;
    checks.push({ name: 'memory', level: pct >= 97 ? 'error' : pct >= 90 ? 'warn' : 'ok', detail: `${pct.toFixed(0)} % used` });
  }
  for (const [key, value] of Object.entries(m)) {
    const gpu = /^gpu\.(\d+)\.(ok|tempC)$/.exec(key);
    if (gpu && gpu[2] === 'ok' && value === 0) checks.push({ name: `GPU ${gpu[1]}`, level: 'error', detail: 'reports an error' });
    if (gpu && gpu[2] === 'tempC' && value >= 83) checks.push({ name: `GPU ${gpu[1]} temperature`, level: value >= 90 ? 'error' : 'warn', detail: `${value.toFixed(0)} °C` });
    const asic = /^asic\.(.+)\.ok$/.exec(key);
    if (asic && value === 0) checks.push({ name: `ASIC ${asic[1]}`, level: 'error', detail: 'reports an error' });
  }
  return { level: worst(checks.map((c) => c.level)), checks };
}
