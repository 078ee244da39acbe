// The dashboard over HTTPS with real processes: a hub (sosna hub), the single-file agent bundle with
// `dashboard.https` on, and third-party clients. The certificate that openssl s_client and curl are
// served has the SHA-256 fingerprint the agent prints on its console and that `sosna console devices
// show` reports from the hub's inventory; plain HTTP on the port is only redirected; an agent restart
// serves the same certificate (kept in its state directory).
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceSummary } from '@sosna/protocol';
import { CLI, cli, freePort, installBundle, requireBuild, start, startExecutable, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';

const run = promisify(execFile);
const tmp = tempDir('sosna-dash-https-');
const hubDir = join(tmp.dir, 'hub');
const binDir = join(tmp.dir, 'device-bin');
const profile = { SOSNA_PROFILE: join(hubDir, 'console.json') };
const FINGERPRINT = /dashboard certificate SHA-256 fingerprint: ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})/;
let hub: Proc;
let agent: Proc;
let installed: string;
let config: string;
let deviceId: string;
let dashPort: number;

const startAgent = () => (agent = startExecutable(installed, ['--config', config], binDir));

async function servedFingerprint(): Promise<string> {
  const script = `openssl s_client -connect 127.0.0.1:${dashPort} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`;
  const { stdout } = await run('sh', ['-c', script], { timeout: 30_000 });
  return /sha256 Fingerprint=(\S+)/i.exec(stdout)?.[1] ?? `no certificate in: ${stdout}`;
}

async function show(): Promise<{ text: string; json: DeviceSummary }> {
  const text = await cli(['console', 'devices', 'show', deviceId], { env: profile, timeoutMs: 30_000 });
  if (text.code !== 0) throw new Error(`sosna console devices show failed: ${text.output}`);
  const json = await cli(['console', 'devices', 'show', deviceId, '--json'], { env: profile, timeoutMs: 30_000 });
  if (json.code !== 0) throw new Error(`sosna console devices show --json failed: ${json.output}`);
  return { text: text.stdout, json: DeviceSummary.parse(JSON.parse(json.stdout)) };
}
const inventoryFingerprint = (d: DeviceSummary) => (d.inventory?.dashboard as { certSha256?: string } | undefined)?.certSha256;

beforeAll(async () => {
  requireBuild();
  const port = await freePort();
  dashPort = await freePort();
  installed = installBundle(binDir);
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--no-chain']);
  await hub.waitFor(/hub \S+ ready/, 30_000);
  const csv = join(tmp.dir, 'devices.csv');
  writeFileSync(csv, 'name,tags,owner\nsecure-1,lab,\n');
  const prov = await cli(['provision', 'fleet', '--hub', `mqtt://127.0.0.1:${port}`, '--fleet', 'lab', '--csv', csv, '--credentials', '--data-dir', hubDir, '--out', join(tmp.dir, 'fleet')], { timeoutMs: 60_000 });
  expect(prov.code, prov.output).toBe(0);
  const dir = join(tmp.dir, 'fleet', 'devices', 'secure-1');
  deviceId = (JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')) as { deviceId: string }).deviceId;
  const stateDir = join(tmp.dir, 'secure-1', 'state');
  mkdirSync(stateDir, { recursive: true });
  copyFileSync(join(dir, 'credentials.json'), join(stateDir, 'credentials.json'));
  const base = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  config = writeJson(join(tmp.dir, 'secure-1', 'config.json'), {
    ...base, stateDir, telemetry: { intervalSec: 1 }, jobs: { enabled: false },
    mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 },
    dashboard: { host: '127.0.0.1', port: dashPort, https: true, password: 'correct horse battery' },
  });
  startAgent();
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  await hub?.stop();
  tmp.cleanup();
});

describe('dashboard over HTTPS (real agent and hub)', () => {
  let fingerprint = '';

  it('serves the certificate whose fingerprint the agent prints and the hub reports', async () => {
    fingerprint = (await agent.waitFor(FINGERPRINT, 60_000))[1]!;
    expect(agent.output()).toMatch(new RegExp(`dashboard listening url=https://127\\.0\\.0\\.1:${dashPort}`));
    expect(await servedFingerprint()).toBe(fingerprint);
    const { stdout } = await run('curl', ['-sk', `https://127.0.0.1:${dashPort}/api/login`], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({ mode: 'password', authenticated: false });
    const plain = await run('curl', ['-s', '-i', `http://127.0.0.1:${dashPort}/`], { timeout: 30_000 });
    expect(plain.stdout).toMatch(/^HTTP\/1\.1 308 /);
    expect(plain.stdout).toContain(`Location: https://127.0.0.1:${dashPort}/`);
    // the hub's inventory has it: `sosna console devices show`, in words and as JSON
    const shown = await waitFor('the dashboard in the inventory', async () => {
      const s = await show();
      return inventoryFingerprint(s.json) ? s : null;
    }, 60_000, 500);
    expect(shown.json.inventory?.dashboard).toEqual({ port: dashPort, https: true, certSha256: fingerprint });
    expect(shown.text).toContain(`dashboard https on port ${dashPort}, certificate SHA-256 ${fingerprint}`);
  }, 180_000);

  it('serves the same certificate after the agent restarts', async () => {
    await agent.stop();
    startAgent();
    const again = (await agent.waitFor(FINGERPRINT, 60_000))[1]!;
    expect(again).toBe(fingerprint);
    expect(agent.output()).not.toContain('made a self-signed certificate');
    expect(await servedFingerprint()).toBe(fingerprint);
    const { json } = await show();
    expect(inventoryFingerprint(json)).toBe(fingerprint);
  }, 120_000);
});
