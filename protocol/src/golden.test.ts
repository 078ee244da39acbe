// Golden msgpack fixtures: every message kind as bytes checked into protocol/fixtures/v1. Later versions
// of sosna must keep decoding them (agents in the field stay old for years). A missing fixture is written
// only when SOSNA_WRITE_GOLDEN=1; an existing one is never rewritten by the tests.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createCodec } from './codec.js';
import { DeviceOffline, DeviceOnline, HubCard, Telemetry } from './messages.js';
import { devicesService, provisionService, systemService } from './services.js';
import { locatorService } from './rpc/endpoint.js';
import { deviceJobsService, hubJobsService, JobSpec } from './jobs.js';
import { verifyHubCard } from './announce.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'v1');
const codec = createCodec();

const inventory = {
  hostname: 'rig-01', platform: 'linux', arch: 'x64',
  os: { distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0-18-amd64' },
  cpu: { manufacturer: 'AMD', brand: 'Ryzen 5 3600', cores: 12, physicalCores: 6, speedGHz: 3.6 },
  memory: { totalBytes: 17179869184 },
};

// TEST FIXTURE ONLY: the hub card below was signed by the well-known key 0x11..11 (address 0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A).
const card = {
  v: 1, hubId: 'hub-19e7e376', name: 'Golden hub', endpoints: ['mqtt://hub.example:1883'],
  owner: '0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A', issuedAt: 1764000000000,
  signature: '0x416d4575dd1e7854932d7e45e1f995d2d4c027498a070e5c413d179a5cc8aa2c0b42ca89f79b95d4142b7e313a4725a9a635e9d53ffd6aaf7d2e4fec63fd945e1c',
};

const cases: { name: string; schema: z.ZodType; value: unknown }[] = [
  { name: 'announce', schema: HubCard, value: card },
  { name: 'state-online', schema: DeviceOnline, value: { v: 1, status: 'online', at: 1764000000000, agentVersion: '0.1.0', name: 'rig-01', inventory } },
  { name: 'state-offline', schema: DeviceOffline, value: { v: 1, status: 'offline', at: 1764000000000, reason: 'will' } },
  { name: 'telemetry', schema: Telemetry, value: { v: 1, at: 1764000000000, seq: 7, full: false, metrics: { 'cpu.load': 12.5, 'mem.usedBytes': 1234567 } } },
  { name: 'rpc-locator-resolve-result', schema: locatorService.methods.resolve.result, value: { name: 'system', methods: { info: 2, ping: 3 } } },
  { name: 'rpc-system-info-result', schema: systemService.methods.info.result, value: { deviceId: 'rig-01-ab12cd', name: 'rig-01', agentVersion: '0.1.0', uptimeSec: 12, node: 'v20.20.2', inventory } },
  { name: 'rpc-provision-register-params', schema: provisionService.methods.register.params, value: { key: 'k1.s3cr3t', nonce: 'abcdefghijklmnop', name: 'rig-01' } },
  { name: 'rpc-provision-register-result', schema: provisionService.methods.register.result, value: { hubId: 'hub-19e7e376', deviceId: 'rig-01-ab12cd', username: 'dev:rig-01-ab12cd', password: 'test-fixture-not-a-secret' } },
  { name: 'rpc-devices-call-params', schema: devicesService.methods.call.params, value: { deviceId: 'rig-01-ab12cd', service: 'system', method: 'info', params: {} } },
  {
    name: 'state-online-jobs',
    schema: DeviceOnline,
    value: { v: 1, status: 'online', at: 1764000000000, agentVersion: '0.1.0', name: 'rig-01', inventory, jobs: { engine: { name: 'docker', version: '20.10.24', apiVersion: '1.41' }, askPerSec: '1000', capacity: { cpus: 12, memoryBytes: 13743895347, jobs: 8 } } },
  },
  {
    name: 'rpc-jobs-start-params',
    schema: deviceJobsService.methods.start.params,
    value: {
      job: {
        id: 'j-abcdefghijkm.0.0', jobId: 'j-abcdefghijkm', leaseSec: 30, issuedAt: 1764000000000,
        spec: JobSpec.parse({ image: 'busybox:1.36', command: ['sh', '-c', 'echo hi'], env: { A: '1' }, resources: { cpus: 2, memoryBytes: 268435456, pids: 64, gpus: { count: 1, vendor: 'nvidia', vramMin: 8589934592 } }, timeoutSec: 600, bid: '123456789012345678901', replicas: 3, output: { path: '/out' } }),
      },
    },
  },
  { name: 'rpc-jobs-update-params', schema: hubJobsService.methods.update.params, value: { id: 'j-abcdefghijkm.0.0', state: 'succeeded', at: 1764000000000, exitCode: 0, oom: false, digest: `sha256:${'ab'.repeat(32)}`, startedAt: 1764000000000, finishedAt: 1764000002500, runtimeMs: 2500, endpoints: [], restarts: 0 } },
  { name: 'rpc-jobs-lease-params', schema: hubJobsService.methods.lease.params, value: { ids: ['j-abcdefghijkm.0.0'], health: 'ok' } },
  { name: 'rpc-jobs-log-params', schema: hubJobsService.methods.log.params, value: { id: 'j-abcdefghijkm.0.0', pieces: [{ stream: 'stdout', data: 'hi\n', at: 1764000000001 }], dropped: 12 } },
];

const frames: { name: string; value: unknown[] }[] = [
  { name: 'frame-open', value: [42, 0, [{ name: 'system' }]] },
  { name: 'frame-chunk', value: [42, 0, [{ sum: 5 }]] },
  { name: 'frame-error', value: [42, 1, ['E_NOT_FOUND', 'no service named "x"']] },
  { name: 'frame-choke', value: [42, 2, []] },
  { name: 'bigint-amount', value: [1, 0, [{ amount: 123456789012345678901234567890n }]] },
];

function golden(name: string, value: unknown): Uint8Array {
  const file = join(dir, `${name}.msgpack`);
  if (!existsSync(file)) {
    if (process.env.SOSNA_WRITE_GOLDEN !== '1') throw new Error(`missing golden fixture ${file}: run with SOSNA_WRITE_GOLDEN=1 once`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, codec.encode(value));
  }
  return new Uint8Array(readFileSync(file));
}

describe('golden fixtures v1', () => {
  for (const c of cases) {
    it(`${c.name} still decodes and validates`, () => {
      const decoded = codec.decode(golden(c.name, c.value));
      expect(c.schema.parse(decoded)).toEqual(c.value);
      expect(Buffer.from(codec.encode(c.value))).toEqual(Buffer.from(golden(c.name, c.value)));
    });
  }
  for (const f of frames) {
    it(`${f.name} still decodes`, () => {
      expect(codec.decode(golden(f.name, f.value))).toEqual(f.value);
    });
  }
  it('the golden card verifies, and any change to it breaks the signature', () => {
    const decoded = codec.decode(golden('announce', card)) as typeof card;
    expect(verifyHubCard(decoded)).toMatchObject({ ok: true });
    expect(verifyHubCard(decoded, '0x0000000000000000000000000000000000000001')).toMatchObject({ ok: false, reason: expect.stringContaining('not the expected') });
    expect(verifyHubCard({ ...decoded, name: 'Evil hub' })).toMatchObject({ ok: false, reason: expect.stringContaining('not by its owner') });
    expect(verifyHubCard({ ...decoded, endpoints: ['mqtt://evil:1883'] }).ok).toBe(false);
    expect(verifyHubCard({ ...decoded, signature: 'nope' })).toMatchObject({ ok: false, reason: expect.stringContaining('signature') });
  });
});
