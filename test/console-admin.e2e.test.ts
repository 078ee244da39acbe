// Provisioning keys and operators from the MQTT console, end to end with real processes: a hub
// (`sosna hub`), agents from the installed single-file bundle, and the real `sosna console keys|operators`.
// An admin creates a key over the console and an agent provisions with it; after a revoke a second agent
// with the same key is refused; a viewer is refused; a promotion counts on the viewer's very next call
// on a connection that stays open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleClient, ConsoleProfile } from '@sosna/hub';
import { devicesService, KeySummary, OperatorSummary } from '@sosna/protocol';
import { CLI, cli, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';

const tmp = tempDir('sosna-console-admin-');
const hubDir = join(tmp.dir, 'hub');
const binDir = join(tmp.dir, 'device-bin');
let port: number;
let hub: Proc;
let bundle: string;
const agents: Proc[] = [];
const as = (file: string) => ({ SOSNA_PROFILE: join(hubDir, file) });
const admin = as('console.json');
const vicProfile = as('vic.json');

async function devices(): Promise<{ id: string; name: string; fleet: string | null; online: boolean }[]> {
  const r = await cli(['console', 'devices', '--json'], { env: admin, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`sosna console devices failed: ${r.output}`);
  return JSON.parse(r.stdout) as { id: string; name: string; fleet: string | null; online: boolean }[];
}

async function keys(): Promise<KeySummary[]> {
  const r = await cli(['console', 'keys', 'ls', '--json'], { env: admin, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`sosna console keys ls failed: ${r.output}`);
  return KeySummary.array().parse(JSON.parse(r.stdout));
}

function startAgent(name: string, key: string): Proc {
  const config = writeJson(join(tmp.dir, name, 'config.json'), {
    hub: { url: `mqtt://127.0.0.1:${port}` }, provisioningKey: key, name, stateDir: join(tmp.dir, name, 'state'),
    telemetry: { intervalSec: 1 }, dashboard: { enabled: false }, jobs: { enabled: false },
    mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 1000 },
  });
  const p = start([bundle, '--config', config], { cwd: binDir }); // no node_modules there: the bundle stands alone
  agents.push(p);
  return p;
}

beforeAll(async () => {
  requireBuild();
  port = await freePort();
  bundle = installBundle(binDir);
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--no-chain']);
  await hub.waitFor(/hub \S+ ready/, 30_000);
}, 120_000); // sized for a loaded machine

afterAll(async () => {
  for (const a of agents) await a.stop('SIGKILL');
  await hub?.stop();
  tmp.cleanup();
});

describe('sosna console keys and operators (admin)', { timeout: 180_000 }, () => {
  let key = '';
  let keyId = '';

  it('an admin creates a provisioning key over the console and an agent from the bundle joins with it', async () => {
    const r = await cli(['console', 'keys', 'create', '--fleet', 'lab', '--max', '5', '--expires', '1d', '--json'], { env: admin, timeoutMs: 30_000 });
    expect(r.code, r.output).toBe(0);
    const created = JSON.parse(r.stdout) as { key: string; keyId: string; fleet: string; max: number; expiresAt: number };
    expect(created).toMatchObject({ fleet: 'lab', max: 5 });
    expect(created.expiresAt - Date.now()).toBeGreaterThan(23 * 3_600_000);
    key = created.key;
    keyId = created.keyId;
    expect(key.startsWith(`${keyId}.`)).toBe(true);

    startAgent('rig-a', key);
    const rig = await waitFor('rig-a online', async () => (await devices()).find((d) => d.name === 'rig-a' && d.online), 60_000, 300);
    expect(rig.fleet).toBe('lab');

    const ls = await cli(['console', 'keys', 'ls'], { env: admin, timeoutMs: 30_000 });
    expect(ls.code, ls.output).toBe(0);
    expect(ls.output).not.toContain(key.split('.')[1]!); // the secret is never listed
    expect(ls.stdout).toMatch(new RegExp(`${keyId}\\s+lab\\s+1/5\\s+\\S+\\s+active`));
  });

  it('after the admin revokes the key, a second agent with it is refused and never registered', async () => {
    const r = await cli(['console', 'keys', 'revoke', keyId], { env: admin, timeoutMs: 30_000 });
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toBe(`revoked ${keyId}\n`);
    expect((await keys()).find((k) => k.keyId === keyId)).toMatchObject({ status: 'revoked', uses: 1 });
    const again = await cli(['console', 'keys', 'revoke', keyId], { env: admin, timeoutMs: 30_000 });
    expect(again.code).not.toBe(0);
    expect(again.output).toContain(`provisioning key ${keyId} is already revoked`);

    const second = startAgent('rig-b', key);
    await second.waitFor(/provisioning failed reason=.*not authorized/, 20_000);
    await second.waitFor(/provisioning failed[\s\S]*provisioning failed/, 20_000); // it keeps retrying, still refused
    const list = await devices();
    expect(list.some((d) => d.name === 'rig-b')).toBe(false);
    expect(list.find((d) => d.name === 'rig-a')?.online).toBe(true); // the one already provisioned keeps working
  });

  it('a viewer cannot create keys or add operators; a promotion counts on its next call', { timeout: 90_000 }, async () => {
    const add = await cli(['console', 'operators', 'add', 'vic', '--role', 'viewer', '--write-profile', vicProfile.SOSNA_PROFILE], { env: admin, timeoutMs: 30_000 });
    expect(add.code, add.output).toBe(0);
    const dup = await cli(['console', 'operators', 'add', 'vic', '--role', 'admin'], { env: admin, timeoutMs: 30_000 });
    expect(dup.code).not.toBe(0);
    expect(dup.output).toContain('operator vic already exists');

    const keyTry = await cli(['console', 'keys', 'create', '--fleet', 'lab'], { env: vicProfile, timeoutMs: 30_000 });
    expect(keyTry.code).not.toBe(0);
    expect(keyTry.output).toContain('keys.create needs the admin role; vic is a viewer');
    const opTry = await cli(['console', 'operators', 'add', 'eve', '--role', 'admin'], { env: vicProfile, timeoutMs: 30_000 });
    expect(opTry.code).not.toBe(0);
    expect(opTry.output).toContain('operators.add needs the admin role; vic is a viewer');
    // the viewer's profile before the subcommand is the one used, not the default (here: admin's)
    const before = await cli(['console', '--profile', vicProfile.SOSNA_PROFILE, 'keys', 'create', '--fleet', 'lab'], { env: admin, timeoutMs: 30_000 });
    expect(before.code).not.toBe(0);
    expect(before.output).toContain('keys.create needs the admin role; vic is a viewer');
    expect((await keys()).length).toBe(1); // nothing was created

    // one connection for vic, kept open across the promotion
    const vic = await ConsoleClient.connect(ConsoleProfile.parse(JSON.parse(readFileSync(vicProfile.SOSNA_PROFILE, 'utf8'))));
    try {
      const rig = (await devices()).find((d) => d.name === 'rig-a')!;
      const tag = () => vic.call(devicesService, 'tag', { target: { deviceId: rig.id }, add: ['promoted'], remove: [] });
      await expect(tag()).rejects.toThrow('devices.tag needs the operator role; vic is a viewer');

      const promote = await cli(['console', 'operators', 'role', 'vic', 'operator'], { env: admin, timeoutMs: 30_000 });
      expect(promote.code, promote.output).toBe(0);
      expect(promote.stdout).toBe('vic: viewer -> operator\n');
      expect(await tag()).toEqual({ devices: [{ deviceId: rig.id, tags: ['promoted'] }] });

      const stillNoKeys = await cli(['console', 'keys', 'create', '--fleet', 'lab'], { env: vicProfile, timeoutMs: 30_000 });
      expect(stillNoKeys.output).toContain('keys.create needs the admin role; vic is a operator');
    } finally {
      await vic.close();
    }

    const ops = await cli(['console', 'operators', 'ls', '--json'], { env: admin, timeoutMs: 30_000 });
    expect(ops.code, ops.output).toBe(0);
    expect(OperatorSummary.array().parse(JSON.parse(ops.stdout)).map((o) => [o.name, o.role])).toEqual([['admin', 'admin'], ['vic', 'operator']]);
  });

  it("an admin issues a device's own login (devices issue) and an agent runs on it; devices revoke cuts it off at once", async () => {
    const state = join(tmp.dir, 'issued', 'state');
    mkdirSync(state, { recursive: true });
    const file = join(state, 'credentials.json');
    const r = await cli(['console', 'devices', 'issue', 'issued-1', '--fleet', 'lab', '--tag', 'pre', '--out', file], { env: admin, timeoutMs: 30_000 });
    expect(r.code, r.output).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const creds = JSON.parse(readFileSync(file, 'utf8')) as { deviceId: string; username: string; password: string; url: string };
    expect(creds).toMatchObject({ username: `dev:${creds.deviceId}`, url: `mqtt://127.0.0.1:${port}` });
    expect(r.stdout).toContain(`issued ${creds.deviceId} (issued-1)`);
    expect(r.stdout).not.toContain(creds.password);
    const config = writeJson(join(tmp.dir, 'issued', 'config.json'), {
      hub: { url: `mqtt://127.0.0.1:${port}` }, stateDir: state, telemetry: { intervalSec: 1 }, dashboard: { enabled: false }, jobs: { enabled: false },
      mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 1000 },
    });
    const agent = start([bundle, '--config', config], { cwd: binDir });
    agents.push(agent);
    await waitFor('issued-1 online', async () => (await devices()).find((d) => d.id === creds.deviceId && d.online), 60_000, 300);

    const notAdmin = await cli(['console', 'devices', 'revoke', creds.deviceId], { env: vicProfile, timeoutMs: 30_000 });
    expect(notAdmin.code).not.toBe(0);
    expect(notAdmin.output).toContain('credentials.revoke needs the admin role; vic is a operator');
    const rv = await cli(['console', 'devices', 'revoke', creds.deviceId], { env: admin, timeoutMs: 30_000 });
    expect(rv.code, rv.output).toBe(0);
    expect(rv.stdout).toBe(`${creds.deviceId} revoked: its login is refused and its connection closed\n`);
    await waitFor('issued-1 offline', async () => (await devices()).find((d) => d.id === creds.deviceId && !d.online), 30_000, 300);
    // the revoked agent keeps retrying: stopped here, or its failed logins lock this address out (the login throttle)
    await agent.stop('SIGKILL');
    // a third-party client with the issued password is refused
    const pub = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-i', creds.deviceId, '-u', creds.username, '-P', creds.password, '-t', 'x', '-m', 'x'], { encoding: 'utf8', timeout: 20_000 });
    expect(pub.status).not.toBe(0);
    expect(`${pub.stdout}${pub.stderr}`).toMatch(/not authori[sz]ed|bad user name or password/i);
    const unknown = await cli(['console', 'devices', 'revoke', 'no-such-device'], { env: admin, timeoutMs: 30_000 });
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toContain('no device no-such-device');
  });

  it('the last admin cannot remove or demote themself; another operator can be removed', async () => {
    const rm = await cli(['console', 'operators', 'rm', 'admin'], { env: admin, timeoutMs: 30_000 });
    expect(rm.code).not.toBe(0);
    expect(rm.output).toContain('you (admin) are the last admin and cannot be removed');
    const demote = await cli(['console', 'operators', 'role', 'admin', 'viewer'], { env: admin, timeoutMs: 30_000 });
    expect(demote.code).not.toBe(0);
    expect(demote.output).toContain('you (admin) are the last admin and cannot be made a viewer');

    const gone = await cli(['console', 'operators', 'rm', 'vic'], { env: admin, timeoutMs: 30_000 });
    expect(gone.code, gone.output).toBe(0);
    const refused = await cli(['console', 'devices', '--json'], { env: vicProfile, timeoutMs: 30_000 });
    expect(refused.code).not.toBe(0); // removed: its credentials no longer open a console
    expect(refused.output).toMatch(/refused operator op:vic: the user name or the password is wrong \(or the operator was removed\)/);
  });
});
