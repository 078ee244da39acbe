// Rig mode with real processes: a hub (sosna hub), the single-file agent bundle with a flight sheet, the
// fake xmrig (test/fake-miner.ts) as the owner's miner and the hardware tests' six-card nvidia-smi fixture
// behind a fake `nvidia-smi` first on the agent's PATH. The agent starts the miner on the sheet's GPUs, its
// hashrate and shares reach the hub (`sosna console devices show`) and /metrics; stopping the agent stops the
// miner; a sheet naming a GPU the rig does not have is refused with the field and the reason; the watchdog
// restarts a slow miner, then reboots (a fake reboot command), and after that reboot (a new agent process on
// the same state directory) does not reboot again within the rate limit.
import { chmod, writeFile } from 'node:fs/promises';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { makeFakeMiner, type FakeMiner } from './fake-miner.js';

const tmp = tempDir('sosna-rig-e2e-');
const hubDir = join(tmp.dir, 'hub');
const binDir = join(tmp.dir, 'device-bin');
const fakeBin = join(tmp.dir, 'fake-bin');
const profile = { SOSNA_PROFILE: join(hubDir, 'console.json') };
const FIXTURES = join(import.meta.dirname, '..', 'agent', 'src', 'hardware', 'fixtures', 'nvidia-smi');
let hub: Proc;
let agent: Proc | null = null;
let installed: string;
let deviceId: string;
let base: Record<string, unknown>;
let stateDir: string;
let miner: FakeMiner;
let apiPort: number;
let metricsPort: number;

const startAgent = (mining: unknown, extra: Record<string, unknown> = {}) => {
  const config = writeJson(join(tmp.dir, 'rig-1', 'config.json'), {
    ...base, stateDir, ...extra, telemetry: { intervalSec: 1, fullEverySec: 10 }, jobs: { enabled: false }, dashboard: { enabled: false },
    metrics: { enabled: true, port: metricsPort }, mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 }, mining,
  });
  agent = start([installed, '--config', config], { cwd: binDir, env: { PATH: `${fakeBin}:${process.env.PATH ?? ''}` } });
  return agent;
};
const sheet = (gpus: number[]) => ({
  miner: { id: 'xmrig', command: [miner.path, '--url', '{pool}', '--http-port', '{apiPort}', '--devices', '{gpus}', '--control', miner.control], api: { port: apiPort } },
  algorithm: 'randomx', pool: 'pool.example.org:3333', wallet: '48wallet', gpus, statsIntervalSec: 1,
});
const scrape = (port: number) =>
  new Promise<string>((ok, fail) => get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
    let body = '';
    res.on('data', (c) => (body += c));
    res.on('end', () => ok(body));
  }).on('error', fail));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  requireBuild();
  miner = await makeFakeMiner();
  await miner.setRate({ total: 2_000_000, perGpu: 1_000_000 });
  apiPort = await freePort();
  metricsPort = await freePort();
  mkdirSync(fakeBin, { recursive: true });
  const smi = join(fakeBin, 'nvidia-smi');
  await writeFile(smi, `#!/bin/sh\nif [ $# -eq 0 ]; then cat '${join(FIXTURES, 'banner.txt')}'; else cat '${join(FIXTURES, 'rig-6x-mixed.csv')}'; fi\n`);
  await chmod(smi, 0o755);
  const port = await freePort();
  installed = installBundle(binDir);
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--no-chain']);
  await hub.waitFor(/hub \S+ ready/, 60_000);
  const csv = join(tmp.dir, 'devices.csv');
  writeFileSync(csv, 'name,tags,owner\nrig-1,lab,\n');
  const prov = await cli(['provision', 'fleet', '--hub', `mqtt://127.0.0.1:${port}`, '--fleet', 'lab', '--csv', csv, '--credentials', '--data-dir', hubDir, '--out', join(tmp.dir, 'fleet')], { timeoutMs: 60_000 });
  expect(prov.code, prov.output).toBe(0);
  const dir = join(tmp.dir, 'fleet', 'devices', 'rig-1');
  deviceId = (JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')) as { deviceId: string }).deviceId;
  stateDir = join(tmp.dir, 'rig-1', 'state');
  mkdirSync(stateDir, { recursive: true });
  copyFileSync(join(dir, 'credentials.json'), join(stateDir, 'credentials.json'));
  base = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  await hub?.stop();
  tmp.cleanup();
});

describe('rig mode (real agent, hub and miner process)', () => {
  it('mines on the sheet\'s GPUs; hashrate and shares reach devices show and /metrics; the miner stops with the agent', async () => {
    const a = startAgent(sheet([0, 2]));
    const started = await waitFor('the agent to start the miner', async () => (await miner.starts())[0], 60_000, 200);
    expect(started.argv).toEqual(expect.arrayContaining(['--url', 'pool.example.org:3333', '--http-port', String(apiPort), '--devices', '0,2']));
    const shown = await waitFor('the mining line in devices show', async () => {
      const r = await cli(['console', 'devices', 'show', deviceId], { env: profile, timeoutMs: 30_000 });
      return /\n {2}mining xmrig: 2\.00 MH\/s \(10s\), 2\.00 MH\/s \(60s\), 2\.00 MH\/s \(15m\); shares \d+ accepted, \d+ rejected; GPU 0 1\.00 MH\/s, GPU 2 1\.00 MH\/s; revenue rate stale or missing: mining keeps no job away\n/.test(r.stdout) ? r.stdout : null;
    }, 90_000, 1000);
    expect(shown).toContain('mining xmrig'); // the sheet sets no revenue rate: flagged stale through the hub
    const metrics = await waitFor('miner figures in /metrics', async () => {
      const body = await scrape(metricsPort).catch(() => '');
      return body.includes('sosna_agent_hashrate_hashes_per_second{source="miner",id="xmrig/gpu2",window="10s"} 1000000') ? body : null;
    }, 60_000, 500);
    expect(metrics).toContain('sosna_agent_hashrate_hashes_per_second{source="miner",id="xmrig",window="10s"} 2000000');
    expect(metrics).toContain('sosna_agent_miner_up{miner="xmrig"} 1');
    expect(metrics).toMatch(/sosna_agent_miner_shares_total\{miner="xmrig",result="accepted"\} \d+/);
    await a.stop('SIGTERM', 20_000);
    agent = null;
    expect(alive(started.pid)).toBe(false);
  }, 180_000);

  it('hub rates: an admin publishes a rate (retained), a rig started after gets it and weighs it; withdrawn, the rig flags it missing', async () => {
    const bad = await cli(['console', 'mining', 'rates', 'set', 'randomx', '12.5'], { env: profile, timeoutMs: 30_000 });
    expect(bad.code).not.toBe(0);
    expect(bad.output).toMatch(/RATE: "12\.5" is not a rate: give token wei per 10\^6 hashes as a whole decimal number/);
    const unknown = await cli(['console', 'mining', 'rates', 'set', 'ethash', '1'], { env: profile, timeoutMs: 30_000 });
    expect(unknown.output).toMatch(/ALGO: "ethash" is not a known algorithm \(one of sha256d, etchash/);
    const set = await cli(['console', 'mining', 'rates', 'set', 'randomx', '35000000000000000'], { env: profile, timeoutMs: 30_000 });
    expect(set.code, set.output).toBe(0);
    expect(set.stdout).toMatch(/^randomx: 35000000000000000 wei per MH published at \d{4}-/);
    const listed = await cli(['console', 'mining', 'rates'], { env: profile, timeoutMs: 30_000 });
    expect(listed.stdout).toMatch(/randomx\s+35000000000000000\s+\d{4}-\S+\s+0 min\s+\S+/);
    // the rig starts after the rate was set: the retained message reaches it on connect
    startAgent(sheet([0, 2]));
    await waitFor("the hub's rate on the mining line", async () => {
      const r = await cli(['console', 'devices', 'show', deviceId], { env: profile, timeoutMs: 30_000 });
      return /\n {2}mining xmrig: .*; revenue rate: the hub's, \d+ s old\n/.test(r.stdout) ? r.stdout : null;
    }, 90_000, 1000);
    const gone = await cli(['console', 'mining', 'rates', 'unset', 'randomx'], { env: profile, timeoutMs: 30_000 });
    expect(gone.stdout).toBe('randomx: rate withdrawn\n');
    await waitFor('the rate flagged missing again', async () => {
      const r = await cli(['console', 'devices', 'show', deviceId], { env: profile, timeoutMs: 30_000 });
      return /\n {2}mining xmrig: .*; revenue rate stale or missing: mining keeps no job away\n/.test(r.stdout) ? r.stdout : null;
    }, 60_000, 1000);
    await agent!.stop('SIGTERM', 20_000);
    agent = null;
  }, 240_000);

  it('refuses a flight sheet naming a GPU the rig does not have, with the field and the reason, and runs on without mining', async () => {
    const before = (await miner.starts()).length;
    const a = startAgent(sheet([0, 9]));
    await a.waitFor(/flight sheet refused: mining\.gpus\.1: GPU 9 does not exist on this device \(detected: 0, 1, 2, 3, 4, 5\)/, 60_000);
    // it runs on: connected to the hub, serving /metrics, with no miner
    const body = await waitFor('the agent on the hub without mining', async () => {
      const b = await scrape(metricsPort).catch(() => '');
      return b.includes('sosna_agent_hub_connected 1') ? b : null;
    }, 60_000, 500);
    expect(body).not.toContain('source="miner"');
    expect(a.child.exitCode).toBeNull();
    expect((await miner.starts()).length).toBe(before);
  }, 120_000);

  it('watchdog: low hashrate restarts the miner, then reboots once; after the reboot it does not reboot again within the limit', async () => {
    const rebooted = join(tmp.dir, 'rebooted');
    const reboot = join(fakeBin, 'fake-reboot');
    await writeFile(reboot, `#!/bin/sh\necho "$(date +%s)" >> '${rebooted}'\n`);
    await chmod(reboot, 0o755);
    const watched = { ...sheet([0, 2]), watchdog: { minHashrateHs: 1e9, lowForSec: 30, restartsBeforeReboot: 1, reboot: true } };
    const extra = { system: { rebootCommand: [reboot] } };
    const before = (await miner.starts()).length;
    let a = startAgent(watched, extra);
    await a.waitFor(/mining watchdog: restarting the miner: hashrate 2000000 H\/s below 1000000000 H\/s for \d+ min \(restart 1 of 1\)/, 120_000);
    await waitFor('the restarted miner', async () => (await miner.starts()).length >= before + 2, 30_000, 200);
    await a.waitFor(/mining watchdog: rebooting the rig/, 120_000);
    await waitFor('the reboot command', () => readFileSync(rebooted, 'utf8').trim().split('\n').length === 1 || null, 30_000, 200);
    expect(JSON.parse(readFileSync(join(stateDir, 'watchdog.json'), 'utf8')).reboots).toHaveLength(1);
    // "after the reboot": a new agent process on the same state; the rig stays slow
    await a.stop('SIGTERM', 20_000);
    a = startAgent(watched, extra);
    agent = a;
    await a.waitFor(/mining watchdog: .*not rebooting: the last watchdog reboot was \d+ min ago/, 180_000);
    expect(readFileSync(rebooted, 'utf8').trim().split('\n')).toHaveLength(1);
  }, 400_000);
});
