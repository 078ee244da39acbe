// The console's device actions end to end with real processes: a hub (sosna hub), two agents from the
// installed single-file bundle and a third registered device that never comes online, driven by the real
// `sosna console devices reboot|identify|watch`. The agents' reboot command is a harmless `touch MARKER`
// (system.rebootCommand) and their sysfs root an empty folder, so identify has no LED to blink here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RebootChunk, SetConfigChunk, WatchEvent } from '@sosna/protocol';
import { CLI, cli, freePort, installBundle, requireBuild, start, startExecutable, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';

const tmp = tempDir('sosna-devact-');
const hubDir = join(tmp.dir, 'hub');
const binDir = join(tmp.dir, 'device-bin');
const sysfs = join(tmp.dir, 'empty-sysfs');
let hub: Proc;
let installed: string;
const profile = (file = 'console.json') => ({ SOSNA_PROFILE: join(hubDir, file) });

interface Device { name: string; id: string; config: string; marker: string; agent: Proc | null }
const devices: Device[] = [];
const byName = (name: string) => devices.find((d) => d.name === name)!;
const startAgent = (d: Device) => (d.agent = startExecutable(installed, ['--config', d.config], binDir));

async function fleet(): Promise<{ id: string; name: string; online: boolean }[]> {
  const r = await cli(['console', 'devices', '--json'], { env: profile(), timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`sosna console devices failed: ${r.output}`);
  return JSON.parse(r.stdout) as { id: string; name: string; online: boolean }[];
}

beforeAll(async () => {
  requireBuild();
  mkdirSync(sysfs, { recursive: true });
  const port = await freePort();
  installed = installBundle(binDir);
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--no-chain']);
  await hub.waitFor(/hub \S+ ready/, 30_000);
  const csv = join(tmp.dir, 'devices.csv');
  writeFileSync(csv, 'name,tags,owner\nlab-1,lab,\nlab-2,lab,\nlab-3,lab,\n');
  const prov = await cli(['provision', 'fleet', '--hub', `mqtt://127.0.0.1:${port}`, '--fleet', 'lab', '--csv', csv, '--credentials', '--data-dir', hubDir, '--out', join(tmp.dir, 'fleet')], { timeoutMs: 60_000 });
  expect(prov.code, prov.output).toBe(0);
  const viewer = await cli(['hub', 'operators', 'add', 'vic', '--role', 'viewer', '--write-profile', join(hubDir, 'vic.json'), '--url', `mqtt://127.0.0.1:${port}`, '--data-dir', hubDir]);
  expect(viewer.code, viewer.output).toBe(0);
  for (const name of ['lab-1', 'lab-2', 'lab-3']) {
    const dir = join(tmp.dir, 'fleet', 'devices', name);
    const creds = JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')) as { deviceId: string };
    const stateDir = join(tmp.dir, name, 'state');
    mkdirSync(stateDir, { recursive: true });
    copyFileSync(join(dir, 'credentials.json'), join(stateDir, 'credentials.json'));
    const base = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const marker = join(tmp.dir, name, 'rebooted');
    const config = writeJson(join(tmp.dir, name, 'config.json'), {
      ...base, stateDir, telemetry: { intervalSec: 1 }, dashboard: { enabled: false }, jobs: { enabled: false },
      mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 },
      system: { rebootCommand: ['touch', marker], sysfsRoot: sysfs },
    });
    devices.push({ name, id: creds.deviceId, config, marker, agent: null });
  }
  startAgent(byName('lab-1'));
  startAgent(byName('lab-2')); // lab-3 stays offline
  await waitFor('lab-1 and lab-2 online', async () => (await fleet()).filter((d) => d.online).length === 2, 60_000, 300);
}, 120_000);

afterAll(async () => {
  for (const d of devices) await d.agent?.stop();
  await hub?.stop();
  tmp.cleanup();
});

describe('console device actions', () => {
  it('reboots the devices of a tag: the online ones run their reboot command, the offline one is reported offline', async () => {
    const t0 = Date.now();
    const r = await cli(['console', 'devices', 'reboot', '--tag', 'lab', '--json'], { env: profile(), timeoutMs: 30_000 });
    expect(r.code, r.output).toBe(0);
    const results = r.stdout.trim().split('\n').map((l) => RebootChunk.parse(JSON.parse(l)));
    expect(Object.fromEntries(results.map((x) => [x.name, x.status]))).toEqual({ 'lab-1': 'ok', 'lab-2': 'ok', 'lab-3': 'offline' });
    expect(results.find((x) => x.name === 'lab-3')?.reason).toMatch(/offline/);
    await waitFor('both reboot markers', () => existsSync(byName('lab-1').marker) && existsSync(byName('lab-2').marker), 10_000);
    console.log(`reboot --tag lab: answered and both markers written in ${Date.now() - t0} ms`);
    expect(existsSync(byName('lab-3').marker)).toBe(false);
    expect(byName('lab-1').agent!.output()).toMatch(/rebooting on the hub's request/);

    // the table for people, and a viewer refused (nothing runs)
    const table = await cli(['console', 'devices', 'reboot', '--device', byName('lab-3').id], { env: profile() });
    expect(table.code, table.output).toBe(0);
    expect(table.stdout).toMatch(/lab-3\s+offline/);
    expect(table.stdout).toMatch(/1 device\(s\): 0 rebooting, 1 offline, 0 failed/);
    const refused = await cli(['console', 'devices', 'reboot', '--tag', 'lab'], { env: profile('vic.json') });
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/devices\.reboot needs the operator role; vic is a viewer/);
  }, 60_000);

  it('identify says unsupported with the reason, and how to find the device', async () => {
    const d = byName('lab-1');
    const r = await cli(['console', 'devices', 'identify', d.id, '--seconds', '5', '--json'], { env: profile() });
    expect(r.code, r.output).toBe(0);
    const answer = JSON.parse(r.stdout) as { deviceId: string; supported: boolean; reason: string; name: string; hostname: string; addresses: string[] };
    expect(answer).toMatchObject({ deviceId: d.id, supported: false, name: 'lab-1', hostname: hostname() });
    expect(answer.reason).toBe(`no LEDs under ${sysfs}/class/leds (this board has none the kernel exposes)`);
    const people = await cli(['console', 'devices', 'identify', d.id], { env: profile() });
    expect(people.stdout).toMatch(new RegExp(`device ${d.id} \\(lab-1\\): unsupported: no LEDs under`));
    const off = await cli(['console', 'devices', 'identify', byName('lab-3').id], { env: profile() });
    expect(off.code).not.toBe(0);
    expect(off.output).toMatch(/is offline/);
  }, 30_000);

  it('watch --json streams telemetry, an offline and an online event of the tag until stopped', async () => {
    const watch = start([CLI, 'console', 'devices', 'watch', '--tag', 'lab', '--json'], { env: profile() });
    const events = () => watch.output().split('\n').filter((l) => l.startsWith('{')).map((l) => WatchEvent.parse(JSON.parse(l)));
    try {
      const t0 = Date.now();
      await waitFor('a telemetry event', () => events().some((e) => e.kind === 'telemetry'), 15_000, 50);
      console.log(`watch: first telemetry event after ${Date.now() - t0} ms`);
      const tele = events().find((e) => e.kind === 'telemetry')!;
      expect(tele.kind === 'telemetry' && Object.keys(tele.metrics).length).toBeGreaterThan(0);
      const lab2 = byName('lab-2');
      await lab2.agent!.stop();
      await waitFor('lab-2 offline', () => events().some((e) => e.kind === 'offline' && e.deviceId === lab2.id), 15_000, 50);
      startAgent(lab2);
      await waitFor('lab-2 online again', () => events().some((e) => e.kind === 'online' && e.deviceId === lab2.id), 30_000, 50);
      expect(events().every((e) => e.kind === 'job' || devices.some((d) => d.id === e.deviceId))).toBe(true);
    } finally {
      await watch.stop('SIGINT');
    }
    expect(await watch.exited).toBe(0); // Ctrl-C ends it cleanly
  }, 60_000);

  it('devices set reaches real agents: applied and persisted online, and the offline one applies it when it comes back', async () => {
    const interval = (name: string) => (JSON.parse(readFileSync(byName(name).config, 'utf8')) as { telemetry: { intervalSec: number } }).telemetry.intervalSec;
    const r = await cli(['console', 'devices', 'set', 'telemetry.intervalSec=7', '--tag', 'lab', '--json'], { env: profile(), timeoutMs: 60_000 });
    expect(r.code, r.output).toBe(0);
    const results = r.stdout.trim().split('\n').map((l) => SetConfigChunk.parse(JSON.parse(l))).filter((c) => c.kind === 'result');
    expect(Object.fromEntries(results.map((x) => [x.name, x.status]))).toEqual({ 'lab-1': 'applied', 'lab-2': 'applied', 'lab-3': 'pending' });
    // written to each online device's own config file (it survives a restart); lab-3 has not seen it yet
    expect([interval('lab-1'), interval('lab-2'), interval('lab-3')]).toEqual([7, 7, 1]);
    const lab3 = byName('lab-3');
    startAgent(lab3);
    await waitFor('lab-3 applies the retained config when it first connects', () => interval('lab-3') === 7, 60_000, 200);
    await waitFor('the hub hears lab-3 applied it', async () => {
      const show = await cli(['console', 'devices', 'show', lab3.id, '--json'], { env: profile(), timeoutMs: 30_000 });
      return (JSON.parse(show.stdout) as { config?: { status: string; values: Record<string, unknown> } | null }).config?.status === 'applied';
    }, 30_000, 500);
    // a viewer may not change config
    const refused = await cli(['console', 'devices', 'set', 'telemetry.intervalSec=9', '--tag', 'lab'], { env: profile('vic.json') });
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/devices\.set needs the operator role; vic is a viewer/);
    expect(interval('lab-1')).toBe(7);
  }, 120_000);
});
