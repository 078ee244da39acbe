import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceConfig, JobSpec, silentLogger } from '@sosna/protocol';
import { JobManager } from './manager.js';
import type { HubCalls } from './manager.js';

function setup(connected = true) {
  const dir = mkdtempSync(join(tmpdir(), 'sosna-jobs-'));
  const calls: { method: string; params: Record<string, unknown> }[] = [];
  const hub: HubCalls = {
    connected: () => connected,
    call: (async (_s: unknown, method: string, params: Record<string, unknown>) => {
      calls.push({ method, params });
      return { leaseSec: 30, jobs: [] };
    }) as HubCalls['call'],
  };
  const config = DeviceConfig.parse({ hub: { url: 'mqtt://127.0.0.1:1' }, stateDir: dir });
  const m = new JobManager({ config: config.jobs, stateDir: dir, deviceId: 'd', engine: null, hub, log: silentLogger });
  return { m, calls, done: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('job manager without an engine', () => {
  it('offers no capacity and refuses runs with a clear error', async () => {
    const { m, done } = setup();
    expect(m.capability()).toMatchObject({ engine: null, askPerSec: '0', capacity: { jobs: 0 } });
    const job = { id: 'j-a.0.0', jobId: 'j-a', leaseSec: 30, issuedAt: 0, spec: JobSpec.parse({ image: 'busybox' }) };
    expect(() => m.handlers().start({ job }, {} as never)).toThrow(/no container engine/);
    await m.stop();
    done();
  });

  it('a GPU in an error state makes the device unhealthy until it recovers', async () => {
    const { m, calls, done } = setup();
    m.observe({ 'gpu.count': 2, 'gpu.0.ok': 1, 'gpu.1.ok': 0 });
    await m.renew();
    expect(calls.at(-1)).toEqual({ method: 'lease', params: { ids: [], health: 'unhealthy', reason: 'GPU 1 in an error state' } });
    const n = calls.length;
    await m.renew(); // nothing new to say
    expect(calls.length).toBe(n);
    m.observe({ 'gpu.count': 2, 'gpu.0.ok': 1, 'gpu.1.ok': 1 });
    await m.renew();
    expect(calls.at(-1)).toEqual({ method: 'lease', params: { ids: [], health: 'ok' } });
    await m.stop();
    done();
  });
});
