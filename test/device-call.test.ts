// What an operator may forward to a device through the console's devices.call: a real hub, a real agent and
// the console client, as `sosna console call` uses them. Before the table of forwarded calls, any operator
// could send a device the scheduler's own jobs.start (unbilled work behind the scheduler's back) or
// jobs.cancel, and a viewer could not even read system.info.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { addOperator, ConsoleClient, createProvisioningKey, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { startAgent } from '@sosna/agent';
import type { Agent } from '@sosna/agent';
import { DeviceConfig, devicesService, silentLogger } from '@sosna/protocol';
import { nextEvent, tempDir } from './helpers.js';

const tmp = tempDir();
let hub: Hub;
let agent: Agent;
const consoles: ConsoleClient[] = [];

async function asOperator(role: 'viewer' | 'operator' | 'admin'): Promise<ConsoleClient> {
  const { password } = await addOperator(hub.store, `${role}-1`, role, { N: 1024, r: 8, p: 1 });
  const c = await ConsoleClient.connect({ url: `mqtt://127.0.0.1:${hub.mqttPort}`, hubId: hub.hubId, user: `${role}-1`, password });
  consoles.push(c);
  return c;
}

/** Forwards service.method to the agent; resolves with what the device answered (the call's chunks). */
async function forward(c: ConsoleClient, service: string, method: string, params: Record<string, unknown> = {}): Promise<unknown[]> {
  const chunks: unknown[] = [];
  await c.call(devicesService, 'call', { deviceId: agent.deviceId, service, method, params, timeoutMs: 10_000 }, { timeoutMs: 20_000, onChunk: (x) => chunks.push(x) });
  return chunks;
}

beforeAll(async () => {
  hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, chain: { mode: 'off' } }, { log: silentLogger });
  const { key } = await createProvisioningKey(hub.store, { fleet: 'calls' });
  const online = nextEvent<[string]>(hub.events, 'online', () => true, 60_000);
  agent = await startAgent(DeviceConfig.parse({ hub: { url: `mqtt://127.0.0.1:${hub.mqttPort}` }, provisioningKey: key, stateDir: join(tmp.dir, 'agent'), jobs: { dockerHost: 'unix:///nonexistent/docker.sock' } }), silentLogger);
  await online;
}, 120_000);
afterAll(async () => {
  for (const c of consoles) await c.close();
  await agent?.stop();
  await hub?.stop();
  tmp.cleanup();
});

describe('devices.call', () => {
  it('a viewer may read a device (system.info) but not reboot it', async () => {
    const viewer = await asOperator('viewer');
    expect(await forward(viewer, 'system', 'info')).toEqual([expect.objectContaining({ deviceId: agent.deviceId })]);
    await expect(forward(viewer, 'system', 'reboot')).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringContaining('needs the operator role') });
  });

  let op: ConsoleClient;
  it("no role may forward the scheduler's jobs.start or jobs.cancel; the device never sees them", async () => {
    op = await asOperator('operator');
    const admin = await asOperator('admin');
    const job = { id: 'j-sneak', image: 'busybox', cmd: ['true'] };
    for (const c of [op, admin]) {
      await expect(forward(c, 'jobs', 'start', { job })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringContaining('use sosna console jobs submit') });
      await expect(forward(c, 'jobs', 'cancel', { id: 'j-sneak' })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringContaining('use sosna console jobs cancel') });
    }
    // what the device holds, read through the same path: nothing was started
    expect(await forward(admin, 'jobs', 'list')).toEqual([{ jobs: [] }]);
  });

  it('an operator may not offer a release (admins only)', async () => {
    await expect(forward(op, 'update', 'offer', { version: '9.9.9' })).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringContaining('needs the admin role') });
  });
});
