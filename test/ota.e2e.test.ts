// Agent updates over the air, end to end with real processes: a hub (sosna hub), three agents started from
// the installed single-file bundle (the stable loader), the operator's real `sosna console update`.
// A device's service manager restarts the agent when it exits (the image's systemd unit has Restart=always);
// here a small restart loop around each agent process stands in for it (supervise() below).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { signRelease } from '@sosna/protocol';
import type { RolloutRow } from '@sosna/protocol';
import { BUNDLE, CLI, cli, freePort, installBundle, requireBuild, start, startExecutable, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';

const tmp = tempDir('sosna-ota-');
const hubDir = join(tmp.dir, 'hub');
const binDir = join(tmp.dir, 'device-bin');
let port: number;
let hub: Proc;
let installed: string;
let baseVersion: string;
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });

/** Stand-in for systemd's Restart=always: starts the agent again whenever it exits, until stopped. */
class Supervised extends EventEmitter {
  starts = 0;
  exits: (number | null)[] = [];
  proc!: Proc;
  private log = '';
  private stopped = false;
  constructor(private readonly file: string, private readonly args: string[]) {
    super();
    this.spawn();
  }
  private spawn(): void {
    this.starts++;
    const p = startExecutable(this.file, this.args, binDir);
    this.proc = p;
    void p.exited.then((code) => {
      this.log += p.output();
      this.exits.push(code);
      this.emit('exit', code);
      if (this.stopped || code === 78) return;
      setTimeout(() => !this.stopped && this.spawn(), 200); // systemd's RestartSec, shortened
    });
  }
  output(): string {
    return this.log + (this.proc.child.exitCode === null ? this.proc.output() : '');
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.proc.stop();
  }
}

interface Device {
  name: string;
  id: string;
  stateDir: string;
  agent: Supervised;
}
const devices: Device[] = [];
const byName = (name: string) => devices.find((d) => d.name === name)!;

async function consoleJson<T>(...args: string[]): Promise<T> {
  const r = await cli(['console', ...args, '--json'], { env: profile(), timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`sosna console ${args.join(' ')} failed: ${r.output}`);
  return JSON.parse(r.stdout) as T;
}
const fleet = () => consoleJson<{ id: string; name: string; online: boolean; agentVersion: string | null }[]>('devices');
const rollout = async (version: string) => (await consoleJson<{ devices: RolloutRow[] }>('update', 'status', '--version', version)).devices;

/** A copy of the real bundle that reports another version (the version constant, replaced once). */
function bundleWithVersion(version: string): string {
  const text = readFileSync(BUNDLE, 'utf8');
  // `var v="0.1.0"`, or `v="0.1.0"` inside a lazily initialised module of the minified bundle
  const literal = new RegExp(`((?:var )?[\\w$]+=)"${baseVersion.replace(/\./g, '\\.')}"(?=[;},])`, 'g');
  const hits = text.match(literal) ?? [];
  if (hits.length !== 1) throw new Error(`${BUNDLE}: expected one definition of the agent version "${baseVersion}", found ${hits.length}`);
  const file = join(tmp.dir, 'releases', `sosna-agent-${version}.mjs`);
  mkdirSync(join(tmp.dir, 'releases'), { recursive: true });
  writeFileSync(file, text.replace(literal, `$1"${version}"`), { mode: 0o755 });
  return file;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const bundlesOf = (d: Device) => {
  const dir = join(d.stateDir, 'update', 'bundles');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
};

beforeAll(async () => {
  requireBuild();
  port = await freePort();
  installed = installBundle(binDir);
  const v = start([installed, '--version'], { cwd: binDir });
  expect(await v.exited).toBe(0);
  baseVersion = v.output().trim();
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--no-chain']);
  await hub.waitFor(/hub \S+ ready/, 30_000);
  // three devices with pre-issued credentials: two canaries and one stable
  const csv = join(tmp.dir, 'devices.csv');
  writeFileSync(csv, 'name,tags,owner\nota-canary-1,canary,\nota-canary-2,canary,\nota-stable-1,stable,\n');
  const prov = await cli(['provision', 'fleet', '--hub', `mqtt://127.0.0.1:${port}`, '--fleet', 'ota', '--csv', csv, '--credentials', '--data-dir', hubDir, '--out', join(tmp.dir, 'fleet')], { timeoutMs: 60_000 });
  expect(prov.code, prov.output).toBe(0);
  for (const name of ['ota-canary-1', 'ota-canary-2', 'ota-stable-1']) {
    const dir = join(tmp.dir, 'fleet', 'devices', name);
    const creds = JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')) as { deviceId: string };
    const stateDir = join(tmp.dir, name, 'state');
    mkdirSync(stateDir, { recursive: true });
    copyFileSync(join(dir, 'credentials.json'), join(stateDir, 'credentials.json'));
    const base = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const config = writeJson(join(tmp.dir, name, 'config.json'), {
      ...base, stateDir, telemetry: { intervalSec: 2 }, dashboard: { enabled: false }, jobs: { enabled: false },
      mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 },
    });
    devices.push({ name, id: creds.deviceId, stateDir, agent: new Supervised(installed, ['--config', config]) });
  }
  await waitFor('three devices online', async () => {
    const list = await fleet();
    return list.length === 3 && list.every((d) => d.online && d.agentVersion === baseVersion);
  }, 60_000, 300);
}, 120_000);

afterAll(async () => {
  for (const d of devices) await d.agent.stop();
  await hub?.stop();
  tmp.cleanup();
});

describe('agent updates over the air', () => {
  it('a good bundle rolls out to every device of a tag and to no other', async () => {
    const good = bundleWithVersion('0.1.1');
    // the deadline covers a restart with hardware detection before the birth: generous for a loaded CI machine
    const pub = await cli(['console', 'update', 'publish', good, '--version', '0.1.1', '--tag', 'canary', '--deadline', '180'], { env: profile(), timeoutMs: 60_000 });
    expect(pub.code, pub.output).toBe(0);
    expect(pub.stdout).toMatch(/2 device\(s\) targeted/);
    const t0 = Date.now();
    let seen: RolloutRow[] = [];
    const rows = await waitFor('both canaries healthy on 0.1.1', async () => {
      const r = (seen = await rollout('0.1.1'));
      return r.length === 2 && r.every((x) => x.state === 'healthy') ? r : null;
    }, 200_000, 500).catch((err: Error) => {
      throw new Error(`${err.message}; last rollout rows: ${JSON.stringify(seen)}`);
    });
    console.log(`good update: published to healthy on 2 devices in ${Date.now() - t0} ms`);
    expect(rows.map((r) => r.name).sort()).toEqual(['ota-canary-1', 'ota-canary-2']);
    const list = await waitFor('the fleet list shows the new versions', async () => {
      const l = await fleet();
      return l.filter((d) => d.agentVersion === '0.1.1' && d.online).length === 2 ? l : null;
    }, 30_000, 300);
    expect(list.find((d) => d.name === 'ota-stable-1')?.agentVersion).toBe(baseVersion);
    for (const name of ['ota-canary-1', 'ota-canary-2']) {
      const d = byName(name);
      // one restart into the new bundle (exit 75), loaded by the installed file, which is unchanged
      expect(d.agent.exits).toEqual([75]);
      expect(d.agent.output()).toMatch(/starting the updated agent/);
      expect(bundlesOf(d)).toEqual(['sosna-agent-0.1.1.mjs']);
      expect(sha256(join(d.stateDir, 'update', 'bundles', 'sosna-agent-0.1.1.mjs'))).toBe(sha256(good));
      const state = JSON.parse(readFileSync(join(d.stateDir, 'update', 'state.json'), 'utf8')) as { current: { version: string }; trial: unknown };
      expect(state.current.version).toBe('0.1.1');
      expect(state.trial).toBeNull();
    }
    expect(sha256(installed)).toBe(sha256(BUNDLE));
    const stable = byName('ota-stable-1');
    expect(stable.agent.starts).toBe(1);
    expect(bundlesOf(stable)).toEqual([]);
    const table = await cli(['console', 'update', 'status'], { env: profile() });
    expect(table.code, table.output).toBe(0);
    expect(table.stdout).toMatch(/2 device\(s\): 2 healthy/);
    // resident memory: the loader plus the imported bundle in one process, against the installed bundle alone
    const rss = (d: Device) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d.agent.proc.child.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
    console.log(`agent RSS: updated (loader + 0.1.1) ${rss(byName('ota-canary-1')).toFixed(1)} / ${rss(byName('ota-canary-2')).toFixed(1)} MiB, installed ${baseVersion} ${rss(stable).toFixed(1)} MiB`);
  }, 300_000);

  it('a bundle that crashes on start rolls back by itself, and the console reports it', async () => {
    const crash = join(tmp.dir, 'releases', 'sosna-agent-0.2.0.mjs');
    writeFileSync(crash, "#!/usr/bin/env node\nthrow new Error('this bundle crashes on start (ota test)');\n");
    const d = byName('ota-canary-1');
    const pub = await cli(['console', 'update', 'publish', crash, '--version', '0.2.0', '--device', d.id, '--deadline', '60'], { env: profile(), timeoutMs: 60_000 });
    expect(pub.code, pub.output).toBe(0);
    const t0 = Date.now();
    const [row] = await waitFor('the rollback reported', async () => {
      const r = await rollout('0.2.0');
      return r.length === 1 && r[0]!.state === 'rolled-back' ? r : null;
    }, 150_000, 500);
    console.log(`crashing update: published to rolled back and reported in ${Date.now() - t0} ms`);
    expect(row!.reason).toMatch(/0\.2\.0 stopped 3 time\(s\) without becoming healthy/);
    // restart into 0.2.0 (75), three crashed starts (1), then the loader went back to 0.1.1
    expect(d.agent.exits).toEqual([75, 75, 1, 1, 1]);
    expect(d.agent.output()).toMatch(/this bundle crashes on start/);
    expect(d.agent.output()).toMatch(/update rolled back/);
    await waitFor('the device back on 0.1.1', async () => (await fleet()).find((x) => x.id === d.id && x.online && x.agentVersion === '0.1.1'), 30_000, 300);
    expect(bundlesOf(d)).toEqual(['sosna-agent-0.1.1.mjs']);
    const table = await cli(['console', 'update', 'status', '--version', '0.2.0'], { env: profile() });
    expect(table.stdout).toMatch(/rolled-back\s+0\.2\.0 stopped 3 time/);
    // offered again, the device refuses the version it rolled back
    const again = await cli(['console', 'call', d.id, 'update.offer', '{"version":"0.2.0"}'], { env: profile() });
    expect(again.code, again.output).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ accepted: false, reason: expect.stringMatching(/rolled back here before/) });
    // the other canary was not touched
    expect(byName('ota-canary-2').agent.exits).toEqual([75]);
  }, 240_000);

  it('a bundle with a bad signature is refused and nothing changes on the device', async () => {
    const d = byName('ota-stable-1');
    const bundle = bundleWithVersion('0.3.0');
    const forged = await signRelease({ version: '0.3.0', sha256: sha256(bundle), size: readFileSync(bundle).length }, Wallet.createRandom());
    const before = { installed: sha256(installed), files: bundlesOf(d), state: existsSync(join(d.stateDir, 'update', 'state.json')) };
    const pub = await cli(['console', 'update', 'publish', bundle, '--version', '0.3.0', '--device', d.id, '--signature', forged.signature], { env: profile(), timeoutMs: 60_000 });
    expect(pub.code, pub.output).toBe(0);
    const [row] = await waitFor('the refusal recorded', async () => {
      const r = await rollout('0.3.0');
      return r.length === 1 && r[0]!.state === 'refused' ? r : null;
    }, 30_000, 300);
    expect(row!.reason).toMatch(/release 0\.3\.0 is signed by 0x[0-9a-f]{40}, not by the hub's update key 0x[0-9a-f]{40}/);
    expect(d.agent.output()).toMatch(/update refused/);
    // same process, same bundle, same version, nothing downloaded or switched
    expect(d.agent.starts).toBe(1);
    expect(d.agent.exits).toEqual([]);
    expect(sha256(installed)).toBe(before.installed);
    expect(bundlesOf(d)).toEqual(before.files);
    expect(existsSync(join(d.stateDir, 'update', 'state.json'))).toBe(before.state);
    const info = await cli(['console', 'call', d.id, 'system.info'], { env: profile() });
    expect(JSON.parse(info.stdout)).toMatchObject({ agentVersion: baseVersion });
  }, 60_000);
});
