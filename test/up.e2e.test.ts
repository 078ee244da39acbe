// `sosna up` (what `npm start` runs) as a process, with --dir elsewhere than .sosna, dashboard port 8480
// taken by another listener, and PATH starting with fake `reboot`, `systemctl` and `shutdown` that only
// write a marker file (so nothing here can reboot this machine): the banner's commands work with that
// --dir, the device refuses the console's reboot with the reason, it has a dev-chain owner at the hub,
// and with --host 0.0.0.0 the banner gives the LAN addresses rigs use.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { RebootChunk } from '@sosna/protocol';
import { CLI, cli, freePort, requireBuild, start } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('sosna-up-');
const dir = join(tmp.dir, 'quick');
const fakeBin = join(tmp.dir, 'fake-bin');
const marker = join(tmp.dir, 'REBOOTED');
const noEngine = `unix://${join(tmp.dir, 'no-such-engine.sock')}`;
const env = () => ({ PATH: `${fakeBin}:${process.env.PATH ?? ''}`, SOSNA_PROFILE: '', HOME: tmp.dir, DOCKER_HOST: noEngine });
// anvil's dev account #1 (public test key of the mnemonic "test test ... junk"): the quick start's owner
const DEV_OWNER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
let up: Proc | null = null;
let blocker: Server | null = null;
let mqttPort = 0;

/** The banner's lines that start with `npx sosna` (the commands a user copies), as argv after `sosna`. */
function printedCommands(out: string): string[][] {
  return out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('npx sosna ')).map((l) => l.replace(/#.*$/, '').trim().split(/\s+/).slice(2));
}

async function startUp(extra: string[]): Promise<Proc> {
  const p = start([CLI, 'up', '--dir', dir, '--port', String(mqttPort), '--ws-port', 'off', ...extra], { cwd: tmp.dir, env: env() });
  await p.waitFor(/Ctrl-C stops the agent/, 120_000);
  return p;
}

beforeAll(async () => {
  requireBuild();
  mkdirSync(fakeBin, { recursive: true });
  for (const name of ['reboot', 'systemctl', 'shutdown', 'poweroff', 'halt']) {
    writeFileSync(join(fakeBin, name), `#!/bin/sh\necho "${name} $*" >> '${marker}'\n`);
    chmodSync(join(fakeBin, name), 0o755);
  }
  mqttPort = await freePort();
  // 8480 taken by another listener (or already taken on this machine: the same case)
  blocker = await new Promise<Server | null>((ok) => {
    const s = createServer();
    s.once('error', () => ok(null));
    s.listen(8480, '0.0.0.0', () => ok(s));
  });
  up = await startUp([]);
}, 150_000);

afterAll(async () => {
  await up?.stop('SIGINT', 15_000);
  await new Promise<void>((ok) => (blocker ? blocker.close(() => ok()) : ok()));
  tmp.cleanup();
});

describe('sosna up', () => {
  it('prints commands that talk to --dir, and they work from another folder', async () => {
    const out = up!.output();
    const device = /this machine is device (\S+)\./.exec(out)![1]!;
    expect(out).toContain(`--profile ${join(dir, 'hub', 'console.json')}`);
    expect(out).toContain(`--data-dir ${join(dir, 'hub')}`);
    const cmds = printedCommands(out);
    expect(cmds.length).toBeGreaterThanOrEqual(4);
    // run the console ones (the profile must be named: nothing under the working folder's .sosna)
    for (const argv of cmds.filter((a) => a[0] === 'console')) {
      const r = await cli(argv, { cwd: tmp.dir, env: env(), timeoutMs: 30_000 });
      expect(r.code, `${argv.join(' ')}: ${r.output}`).toBe(0);
    }
    const devices = await cli(['console', 'devices', '--json', '--profile', join(dir, 'hub', 'console.json')], { cwd: tmp.dir, env: env() });
    expect(devices.stdout).toContain(device);
  }, 90_000);

  it('prints the dashboard port the agent really listens on when 8480 is taken', async () => {
    const out = up!.output();
    const port = Number(/the device dashboard: http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(8480);
    expect(out).toMatch(/\(8480 was taken\)/);
    const res = await fetch(`http://127.0.0.1:${port}/api/login`);
    expect(await res.json()).toMatchObject({ authenticated: false }); // the sosna dashboard answers there
    expect(out).toMatch(new RegExp(`dashboard listening.*:${port}`));
    // logged in with the one-time code from the agent log, the Jobs API says why this device runs no jobs
    const code = /dashboard login code[^:]*: (\S+)/.exec(out)![1]!;
    const login = await fetch(`http://127.0.0.1:${port}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: code }) });
    expect(login.status).toBe(200);
    const jobs = await (await fetch(`http://127.0.0.1:${port}/api/jobs`, { headers: { cookie: login.headers.get('set-cookie')!.split(';')[0]! } })).json() as { unavailable: string | null };
    expect(jobs.unavailable).toContain(`no container engine found (looked at ${noEngine} (DOCKER_HOST): `);
    expect(jobs.unavailable).toMatch(/; set jobs\.dockerHost in the config or DOCKER_HOST$/);
  }, 30_000);

  it('refuses the console\'s reboot of this developer machine, with the reason; nothing runs', async () => {
    const out = up!.output();
    const device = /this machine is device (\S+)\./.exec(out)![1]!;
    const r = await cli(['console', 'devices', 'reboot', '--device', device, '--json', '--profile', join(dir, 'hub', 'console.json')], { cwd: tmp.dir, env: env(), timeoutMs: 30_000 });
    expect(r.output).toMatch(/1 device\(s\) could not be rebooted/);
    const [chunk] = r.stdout.trim().split('\n').map((l) => RebootChunk.parse(JSON.parse(l)));
    expect(chunk).toMatchObject({ deviceId: device, status: 'failed' });
    expect(chunk!.reason).toContain('this device is a sosna up quick-start on a developer machine; reboot is off: ');
    expect(existsSync(marker)).toBe(false);
    // the agent is still there and answers (a reboot would have been run 0.5 s after the answer)
    const info = await cli(['console', 'call', device, 'system.info', '--profile', join(dir, 'hub', 'console.json')], { cwd: tmp.dir, env: env() });
    expect(info.code, info.output).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(out).toMatch(/reboot: off \(this is your machine\); sosna up --allow-reboot turns it on/);
  }, 60_000);

  it('gives the device an owner (a dev-chain test account) that the hub knows and the banner names', async () => {
    const out = up!.output();
    const device = /this machine is device (\S+)\./.exec(out)![1]!;
    expect(out).toContain(`earnings of this device go to ${DEV_OWNER}`);
    expect(out).toMatch(/dev-chain test account #1; its PUBLIC test key 0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d/);
    const show = await cli(['console', 'devices', 'show', device, '--json', '--profile', join(dir, 'hub', 'console.json')], { cwd: tmp.dir, env: env() });
    expect(show.code, show.output).toBe(0);
    expect(show.stdout.toLowerCase()).toContain(`"owner": "${DEV_OWNER.toLowerCase()}"`);
    const wallet = printedCommands(out).find((a) => a[0] === 'wallet')!;
    const w = await cli(wallet, { cwd: tmp.dir, env: env(), timeoutMs: 30_000 });
    expect(w.code, w.output).toBe(0);
    expect(w.stdout).toMatch(new RegExp(`${DEV_OWNER} can claim [\\d.]+ SNM`));
  }, 60_000);

  it('stays on loopback by default and says how to open it; --host 0.0.0.0 prints the LAN addresses', async () => {
    expect(up!.output()).toMatch(/this machine only[^\n]*\n\s+rigs on your LAN cannot reach it: start with `npm start -- --host 0\.0\.0\.0`/);
    await up!.stop('SIGINT', 15_000);
    up = await startUp(['--host', '0.0.0.0']);
    const out = up.output().slice(up.output().lastIndexOf('sosna is up'));
    const lan = Object.values(networkInterfaces()).flatMap((l) => l ?? []).filter((a) => !a.internal && a.family === 'IPv4').map((a) => a.address);
    if (lan.length === 0) {
      expect(out).toContain('no LAN address found');
      return;
    }
    for (const a of lan) expect(out).toContain(`mqtt://${a}:${mqttPort}`);
    expect(out).toContain(`{"hub":{"url":"mqtt://${lan[0]}:${mqttPort}"},"provisioningKey":"<that key>"}`);
    expect(out).not.toContain('this machine only');
  }, 150_000);

  it('--tls: the local agent and the console use mqtts:// with the hub\'s CA; the rig config names the CA', async () => {
    await up!.stop('SIGINT', 15_000);
    const tlsPort = await freePort();
    up = await startUp(['--tls', '--tls-port', String(tlsPort)]);
    const out = up.output().slice(up.output().lastIndexOf('sosna is up'));
    const device = /this machine is device (\S+)\./.exec(out)![1]!;
    expect(out).toContain(`mqtts://127.0.0.1:${tlsPort}`);
    const ca = readFileSync(join(dir, 'hub', 'tls', 'ca.pem'), 'utf8');
    const agentConfig = JSON.parse(readFileSync(join(dir, 'agent', 'config.json'), 'utf8')) as { hub: { url: string; ca?: string } };
    expect(agentConfig.hub).toMatchObject({ url: `mqtts://127.0.0.1:${tlsPort}`, ca });
    const profile = JSON.parse(readFileSync(join(dir, 'hub', 'console.json'), 'utf8')) as { url: string; ca?: string };
    expect(profile).toMatchObject({ url: `mqtts://127.0.0.1:${tlsPort}`, ca });
    const devices = await cli(['console', 'devices', '--json', '--profile', join(dir, 'hub', 'console.json')], { cwd: tmp.dir, env: env() });
    expect(devices.code, devices.output).toBe(0);
    expect(JSON.parse(devices.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ id: device, online: true })]));
  }, 150_000);
});
