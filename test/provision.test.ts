// `sosna provision fleet` against a real hub database: 100 configs in under 5 s with a provisioning key or
// with pre-issued credentials, every config valid, no secrets in the manifest; a device started with its
// pre-issued credentials joins the hub without any key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceConfig, parseConfig } from '@sosna/protocol';
import { CLI, cli, freePort, installBundle, requireBuild, start } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';

const tmp = tempDir('sosna-provision-');
const hubDir = join(tmp.dir, 'hub');
let port: number;
let hub: Proc;
const agents: Proc[] = [];
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });

type Manifest = { fleet: string; auth: string; hub: { url: string; id?: string }; devices: { name: string; tags: string[]; owner: string | null; deviceId: string | null; config: string; credentials: string | null }[] };

beforeAll(async () => {
  requireBuild();
  port = await freePort();
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1']);
  await hub.waitFor(/hub \S+ ready/);
}, 120_000);

afterAll(async () => {
  for (const a of agents) await a.stop();
  await hub?.stop();
  tmp.cleanup();
});

// how long `provision fleet --count 100` takes is a figure of `npm run bench fleet`, not asserted here
async function fleet(args: string[]): Promise<{ manifest: Manifest; out: string }> {
  const out = join(tmp.dir, `fleet-${Math.random().toString(36).slice(2, 8)}`);
  const r = await cli(['provision', 'fleet', '--hub', `mqtt://127.0.0.1:${port}`, '--fleet', 'rigs', '--out', out, '--data-dir', hubDir, ...args], { timeoutMs: 120_000 });
  expect(r.code, r.output).toBe(0);
  return { manifest: JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest, out };
}

function checkAll(m: Manifest, out: string): void {
  for (const d of m.devices) {
    const r = parseConfig(DeviceConfig, JSON.parse(readFileSync(join(out, d.config), 'utf8')), { file: d.config });
    expect(r.ok, r.ok ? '' : r.errors.join('\n')).toBe(true);
  }
}

describe('sosna provision fleet', () => {
  it('--count 100 with a new provisioning key: every config valid, the key limited to 100 uses', async () => {
    const { manifest, out } = await fleet(['--count', '100']);
    expect(manifest.devices).toHaveLength(100);
    expect(manifest.auth).toBe('provisioning-key');
    expect(manifest.hub.id).toMatch(/^hub-/);
    checkAll(manifest, out);
    const key = (JSON.parse(readFileSync(join(out, manifest.devices[0]!.config), 'utf8')) as { provisioningKey: string }).provisioningKey;
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).not.toContain(key.split('.')[1]);
    const keys = await cli(['hub', 'keys', 'ls', '--json', '--data-dir', hubDir]);
    expect(JSON.parse(keys.stdout)).toContainEqual(expect.objectContaining({ id: key.split('.')[0], fleet: 'rigs', maxUses: 100, uses: 0 }));
  }, 180_000); // two CLI processes, 100 configs: sized for a loaded machine

  it('--count 100 --credentials: every device registered with its own credentials', async () => {
    const { manifest, out } = await fleet(['--count', '100', '--credentials', '--prefix', 'pre']);
    expect(manifest.auth).toBe('pre-issued');
    checkAll(manifest, out);
    const manifestText = readFileSync(join(out, 'manifest.json'), 'utf8') + readFileSync(join(out, 'manifest.csv'), 'utf8');
    for (const d of manifest.devices.slice(0, 10)) {
      const creds = JSON.parse(readFileSync(join(out, d.credentials!), 'utf8')) as { password: string; deviceId: string };
      expect(creds.deviceId).toBe(d.deviceId);
      expect(manifestText).not.toContain(creds.password);
    }

    // a device with pre-issued credentials joins without a key: the agent, started with the config as written
    // (credentials.json beside it), takes them into its empty state directory
    const d = manifest.devices[0]!;
    const state = join(tmp.dir, 'pre-device', 'state');
    const configPath = join(out, d.config);
    const config = { ...(JSON.parse(readFileSync(configPath, 'utf8')) as object), stateDir: state }; // not /var/lib/sosna in a test
    writeFileSync(configPath, JSON.stringify(config));
    const bundle = installBundle(join(tmp.dir, 'pre-device', 'bin'));
    agents.push(start([bundle, '--config', configPath], { cwd: join(tmp.dir, 'pre-device', 'bin') }));
    const online = await waitFor('the pre-issued device online', async () => {
      const r = await cli(['console', 'devices', '--json', '--fleet', 'rigs'], { env: profile() });
      return (JSON.parse(r.stdout) as { id: string; online: boolean }[]).find((x) => x.id === d.deviceId && x.online);
    }, 30_000, 250);
    expect(online.id).toBe(d.deviceId);
  }, 240_000); // 100 scrypt hashes, an agent and CLI processes: sized for a loaded machine

  it('--csv with names, tags and owner wallets; a bad CSV is refused with its line numbers', async () => {
    const owner = `0x${'12'.repeat(20)}`;
    const csv = join(tmp.dir, 'devices.csv');
    writeFileSync(csv, `name,tags,owner\nrig-kyiv-1,gpu;kyiv,${owner}\nrig-kyiv-2,cpu,\n`);
    const { manifest, out: csvOut } = await fleet(['--csv', csv, '--key', 'kfixed.secretsecret']);
    expect(manifest.devices.map((d) => [d.name, d.tags, d.owner])).toEqual([['rig-kyiv-1', ['gpu', 'kyiv'], owner], ['rig-kyiv-2', ['cpu'], null]]);
    // and they reach each device's config (the agent sends its owner with its birth, its tags when it provisions)
    const cfg = (i: number) => JSON.parse(readFileSync(join(csvOut, manifest.devices[i]!.config), 'utf8')) as { owner?: string; tags?: string[] };
    expect(cfg(0)).toMatchObject({ owner, tags: ['gpu', 'kyiv'] });
    expect(cfg(1)).toMatchObject({ tags: ['cpu'] });
    writeFileSync(csv, 'name,tags,owner\nrig-1,,0xnope\nrig-1,,\n');
    const bad = await cli(['provision', 'fleet', '--hub', 'mqtt://h:1883', '--fleet', 'rigs', '--csv', csv, '--out', join(tmp.dir, 'bad'), '--key', 'k.s']);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toMatch(/devices\.csv:2: column 3 \(owner\) "0xnope": must be a wallet address, 0x followed by 40 hex digits/);
    expect(bad.output).toMatch(/devices\.csv:3: name "rig-1" repeats line 2/);
    const badUrl = await cli(['provision', 'fleet', '--hub', 'http://h', '--fleet', 'rigs', '--count', '2', '--out', join(tmp.dir, 'bad2'), '--key', 'k.s']);
    expect(badUrl.code).not.toBe(0);
    expect(badUrl.output).toMatch(/hub\.url: must be an mqtt:\/\//);
  }, 90_000); // three CLI processes
});
