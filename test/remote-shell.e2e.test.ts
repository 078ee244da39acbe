// The remote shell, driven as a person would through a real terminal (tmux): `sosna console shell DEVICE`
// against a hub process and agents from the installed single-file bundle. Typing, output, a resize the
// remote `stty size` sees, Ctrl-C interrupting a running command, `exit 3` ending the session with the CLI
// exiting 3, the session on the hub's record; refusals for a viewer, an operator, a device whose owner has
// not allowed it, an unknown and an offline device; the agent's log, once and followed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ShellSessionRecord } from '@sosna/protocol';
import { CLI, cli, freePort, installBundle, requireBuild, start, startExecutable, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';

const tmp = tempDir('sosna-rshell-');
const hubDir = join(tmp.dir, 'hub');
const binDir = join(tmp.dir, 'device-bin');
const socket = `sosna-rshell-${process.pid}`;
let hub: Proc;
let installed: string;
const profile = (file = 'console.json') => ({ SOSNA_PROFILE: join(hubDir, file) });

interface Device { name: string; id: string; config: string; agent: Proc | null }
const devices: Device[] = [];
const byName = (name: string) => devices.find((d) => d.name === name)!;

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const screen = (s: string) => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', s);
const keys = (s: string, ...k: string[]) => tmux('send-keys', '-t', s, ...k);
const type = (s: string, text: string) => tmux('send-keys', '-t', s, '-l', text);
const see = (s: string, pattern: RegExp | string, timeoutMs = 20_000) =>
  waitFor(`${JSON.stringify(String(pattern))} on the ${s} screen`, () => {
    const text = screen(s);
    return (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) ? text : null;
  }, timeoutMs, 50).catch((err: Error) => {
    throw new Error(`${err.message}\n--- screen ---\n${screen(s)}`);
  });

beforeAll(async () => {
  requireBuild();
  execFileSync('tmux', ['-V']); // scripts/test-deps/console.sh installs it
  const port = await freePort();
  installed = installBundle(binDir);
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--no-chain']);
  await hub.waitFor(/hub \S+ ready/, 30_000);
  const csv = join(tmp.dir, 'devices.csv');
  writeFileSync(csv, 'name,tags,owner\nopen-1,lab,\nclosed-2,lab,\naway-3,lab,\n');
  const prov = await cli(['provision', 'fleet', '--hub', `mqtt://127.0.0.1:${port}`, '--fleet', 'lab', '--csv', csv, '--credentials', '--data-dir', hubDir, '--out', join(tmp.dir, 'fleet')], { timeoutMs: 60_000 });
  expect(prov.code, prov.output).toBe(0);
  for (const [user, role] of [['vic', 'viewer'], ['olga', 'operator']]) {
    const r = await cli(['hub', 'operators', 'add', user!, '--role', role!, '--write-profile', join(hubDir, `${user}.json`), '--url', `mqtt://127.0.0.1:${port}`, '--data-dir', hubDir]);
    expect(r.code, r.output).toBe(0);
  }
  for (const name of ['open-1', 'closed-2', 'away-3']) {
    const dir = join(tmp.dir, 'fleet', 'devices', name);
    const creds = JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')) as { deviceId: string };
    const stateDir = join(tmp.dir, name, 'state');
    mkdirSync(stateDir, { recursive: true });
    copyFileSync(join(dir, 'credentials.json'), join(stateDir, 'credentials.json'));
    const base = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const config = writeJson(join(tmp.dir, name, 'config.json'), {
      ...base, stateDir, telemetry: { intervalSec: 1 }, dashboard: { enabled: false }, jobs: { enabled: false },
      mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 },
      system: { rebootCommand: ['true'] },
      // only open-1's owner allows the remote shell; a plain bash without start files keeps the screen predictable
      ...(name === 'open-1' ? { remoteShell: { enabled: true, command: ['/bin/bash', '--norc', '--noprofile', '-i'] } } : {}),
    });
    devices.push({ name, id: creds.deviceId, config, agent: null });
  }
  for (const d of devices.slice(0, 2)) d.agent = startExecutable(installed, ['--config', d.config], binDir); // away-3 stays offline
  await waitFor('open-1 and closed-2 online', async () => {
    const r = await cli(['console', 'devices', '--json', '--online'], { env: profile(), timeoutMs: 30_000 });
    return r.code === 0 && (JSON.parse(r.stdout) as unknown[]).length === 2;
  }, 60_000, 300);
}, 120_000);

afterAll(async () => {
  try {
    execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // no server left
  }
  for (const d of devices) await d.agent?.stop();
  await hub?.stop();
  tmp.cleanup();
});

describe('sosna console shell DEVICE', () => {
  it('types, sees output, resizes, interrupts with Ctrl-C, exits with the remote code; the hub records it', async () => {
    const id = byName('open-1').id;
    const env = Object.entries({ ...profile(), HOME: tmp.dir, SOSNA_CONSOLE_PASSWORD: '' }).map(([k, v]) => `'${k}=${v}'`).join(' ');
    const cmd = `env ${env} '${process.execPath}' '${CLI}' console shell ${id}; echo "[shell exited $?]"; sleep 600`;
    const t0 = Date.now();
    tmux('new-session', '-d', '-s', 'sh', '-x', '200', '-y', '50', cmd);

    type('sh', 'echo hello-$((6*7))');
    keys('sh', 'Enter');
    await see('sh', /^hello-42/m);
    type('sh', 'stty size; tput cols');
    keys('sh', 'Enter');
    await see('sh', /^50 200\s*\n200/m);

    tmux('resize-window', '-t', 'sh', '-x', '150', '-y', '40');
    await waitFor('tmux resized', () => /^150 40$/m.test(tmux('display', '-p', '-t', 'sh', '#{window_width} #{window_height}')), 5000);
    type('sh', 'clear; stty size');
    keys('sh', 'Enter');
    await see('sh', /^40 150/m);

    type('sh', 'sleep 300; echo not-interrupted');
    keys('sh', 'Enter');
    await new Promise((r) => setTimeout(r, 500)); // sleep is running (no time bound is asserted)
    keys('sh', 'C-c');
    type('sh', 'echo after-$((40+2))');
    keys('sh', 'Enter');
    await see('sh', /^after-42/m);
    expect(screen('sh')).not.toMatch(/^not-interrupted/m);

    type('sh', 'exit 3');
    keys('sh', 'Enter');
    console.log((await see('sh', '[shell exited 3]')).trimEnd());
    console.log(`remote shell session with resize and Ctrl-C done in ${Date.now() - t0} ms`);

    const r = await cli(['console', 'sessions', '--device', id, '--json'], { env: profile() });
    expect(r.code, r.output).toBe(0);
    const [rec] = (JSON.parse(r.stdout) as unknown[]).map((x) => ShellSessionRecord.parse(x));
    expect(rec).toMatchObject({ kind: 'shell', operator: 'admin', deviceId: id, exitCode: 3 });
    expect(rec!.endedAt).toBeGreaterThanOrEqual(rec!.startedAt);
    expect(rec!.bytesIn).toBeGreaterThan(0);
    expect(rec!.bytesOut).toBeGreaterThan(0);
    const shown = await cli(['console', 'sessions'], { env: profile() });
    expect(shown.stdout).toMatch(new RegExp(`${rec!.id}\\s+shell\\s+admin\\s+${id}\\s+\\S+\\s+\\d+ s\\s+3`));
  }, 90_000);

  it('takes piped input as a script (its end is Ctrl-D), and ends the session when the terminal closes', async () => {
    const id = byName('open-1').id;
    const run = (input: string) => new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'console', 'shell', id], { env: { ...process.env, ...profile() }, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (out += d));
      child.once('exit', (code) => resolve({ code, out }));
      child.stdin.end(input);
    });
    const scripted = await run('echo piped-$((1+1))\nexit 4\n');
    expect(scripted.code, scripted.out).toBe(4);
    expect(scripted.out).toMatch(/^piped-2/m);
    const eof = await run('true\n');
    expect(eof.code, eof.out).toBe(0);

    // a terminal that goes away (SIGHUP) cancels the session: the hub records its end without waiting for the idle time-out
    const env = Object.entries({ ...profile(), HOME: tmp.dir }).map(([k, v]) => `'${k}=${v}'`).join(' ');
    tmux('new-session', '-d', '-s', 'gone', '-x', '100', '-y', '30', `env ${env} '${process.execPath}' '${CLI}' console shell ${id}`);
    type('gone', 'echo here-$((2+3))');
    keys('gone', 'Enter');
    await see('gone', /^here-5/m);
    const open = async () => {
      const r = await cli(['console', 'sessions', '--device', id, '--json'], { env: profile() });
      return (JSON.parse(r.stdout) as { endedAt: number | null; reason: string | null }[])[0]!;
    };
    expect((await open()).endedAt).toBeNull();
    tmux('kill-session', '-t', 'gone');
    const ended = await waitFor('the session ended on the record', async () => ((await open()).endedAt !== null ? open() : null), 20_000, 300);
    expect(ended.reason).toMatch(/cancel/);
  }, 60_000);

  it('refuses a viewer and an operator, a device whose owner has not allowed it, an unknown and an offline device', async () => {
    const open = byName('open-1').id;
    for (const [file, who, role] of [['vic.json', 'vic', 'viewer'], ['olga.json', 'olga', 'operator']]) {
      const r = await cli(['console', 'shell', open], { env: profile(file) });
      expect(r.code).not.toBe(0);
      expect(r.output).toContain(`remote.shell needs the admin role; ${who} is a ${role}`);
      const s = await cli(['console', 'sessions'], { env: profile(file) });
      expect(s.output).toContain(`remote.sessions needs the admin role; ${who} is a ${role}`);
    }
    const closed = await cli(['console', 'shell', byName('closed-2').id], { env: profile() });
    expect(closed.code).not.toBe(0);
    expect(closed.output).toMatch(/the remote shell is off on this device: its owner allows it with remoteShell\.enabled: true in \S+config\.json/);
    const unknown = await cli(['console', 'shell', 'no-such-rig'], { env: profile() });
    expect(unknown.output).toContain('no device no-such-rig');
    const away = await cli(['console', 'shell', byName('away-3').id], { env: profile() });
    expect(away.output).toMatch(new RegExp(`device ${byName('away-3').id} is offline \\(never seen\\)`));
    // forwarding the device's own remote calls through devices.call is refused (they would skip the record)
    const forwarded = await cli(['console', 'call', open, 'remote.open', '{"sessionId":"s-0000000000000000","operator":"admin"}'], { env: profile() });
    expect(forwarded.output).toContain('remote.open is the hub');
  }, 60_000);
});

describe('sosna console logs DEVICE', () => {
  it("prints the agent's last lines and follows new ones", async () => {
    const d = byName('open-1');
    const r = await cli(['console', 'logs', d.id, '-n', '500'], { env: profile() });
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/\[agent(\.\w+)*\] starting/);
    expect(r.stdout).toMatch(/remote shell closed .*code=3/);
    const viewer = await cli(['console', 'logs', d.id], { env: profile('vic.json') });
    expect(viewer.output).toContain('remote.logs needs the operator role; vic is a viewer');

    const follow = start([CLI, 'console', 'logs', d.id, '-f', '-n', '0'], { env: profile() });
    try {
      await new Promise((res) => setTimeout(res, 1000)); // let the follow start; the line below comes after
      const reboot = await cli(['console', 'devices', 'reboot', '--device', d.id], { env: profile() });
      expect(reboot.code, reboot.output).toBe(0);
      await follow.waitFor(/rebooting on the hub's request/, 20_000);
    } finally {
      await follow.stop();
    }
  }, 60_000);
});
