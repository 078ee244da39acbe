// The interactive console shell driven as a person would, through a real pseudo-terminal (tmux): tab
// completion of a command, a device id and a device's methods; a bulk config change across 20 devices of
// which 5 are offline (they get it when they come back, from the retained desired state); a viewer refused.
// The hub runs in-process; devices are lightweight simulated devices on the protocol package; the shell is
// the built CLI (cli/dist).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addOperator, preIssueDevice, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import {
  connectOnce, createCodec, createLogger, DesiredConfig, hubConfigService, publishAsync, RpcEndpoint, RpcPeer, subscribeAsync, systemService, topics,
} from '@sosna/protocol';
import type { MqttClient } from '@sosna/protocol';
import { CLI } from './procs.js';
import { tempDir, waitFor } from './helpers.js';

const tmp = tempDir('sosna-shell-');
const silent = createLogger({ level: 'error', write: () => {} });
const fast = { N: 1024, r: 8, p: 1 };
const codec = createCodec();
const socket = `sosna-test-${process.pid}`;
let hub: Hub;
let url: string;

interface Creds { deviceId: string; username: string; password: string; name: string }
interface Sim { creds: Creds; client: MqttClient | null; versions: number[]; values: Record<string, unknown> }
const sims: Sim[] = [];

/** A device that registers (birth, Will), answers system.* and applies its retained desired config. */
async function connectSim(sim: Sim): Promise<void> {
  const { deviceId, username, password, name } = sim.creds;
  const at = Date.now();
  const state = topics.device(hub.hubId, deviceId, 'state');
  const c = await connectOnce({ url, clientId: deviceId, username, password, keepaliveSec: 30, will: { topic: state, payload: codec.encode({ v: 1, status: 'offline', at, reason: 'will' }), retain: true, qos: 1 } });
  const inventory = { hostname: name, platform: 'linux', arch: 'x64', os: { distro: 'sim', release: '1', kernel: 'sim' }, cpu: { manufacturer: 'sim', brand: 'sim', cores: 2, physicalCores: 1, speedGHz: 1 }, memory: { totalBytes: 2 ** 30 } };
  const endpoint = new RpcEndpoint().add(systemService, {
    info: () => ({ deviceId, name, agentVersion: 'sim', uptimeSec: 1, node: process.version, inventory }),
    ping: ({ echo }) => ({ echo, at: Date.now() }),
  });
  const peer = new RpcPeer({ role: 'owner', codec, endpoint, send: (b) => c.publish(topics.device(hub.hubId, deviceId, 'rpc/out'), Buffer.from(b), { qos: 1 }) });
  const configTopic = topics.device(hub.hubId, deviceId, 'config');
  c.on('message', (topic, payload) => {
    if (topic !== configTopic) return peer.receive(payload);
    const msg = DesiredConfig.parse(codec.decode(payload));
    sim.versions.push(msg.version);
    sim.values = msg.values;
    void peer.call(hubConfigService, 'report', { version: msg.version, status: 'applied' }).catch(() => {});
  });
  await subscribeAsync(c, topics.device(hub.hubId, deviceId, 'rpc/in'));
  await publishAsync(c, state, codec.encode({ v: 1, status: 'online', at, agentVersion: 'sim', name, inventory }), { retain: true, qos: 1 });
  await subscribeAsync(c, configTopic);
  sim.client = c;
}

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const screen = (session: string) => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', session);
const keys = (session: string, ...k: string[]) => tmux('send-keys', '-t', session, ...k);
const type = (session: string, text: string) => tmux('send-keys', '-t', session, '-l', text);
/** Waits until the screen shows the pattern (bounded); returns the screen. */
const see = (session: string, pattern: RegExp | string, timeoutMs = 15_000) =>
  waitFor(`${JSON.stringify(String(pattern))} on the ${session} screen`, () => {
    const s = screen(session);
    return (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s)) ? s : null;
  }, timeoutMs, 50).catch((err: Error) => {
    throw new Error(`${err.message}\n--- screen ---\n${screen(session)}`);
  });

function openShell(session: string, profile: string): void {
  const env = [`HOME=${tmp.dir}`, `XDG_CONFIG_HOME=${join(tmp.dir, 'config')}`, `SOSNA_PROFILE=${profile}`, 'SOSNA_CONSOLE_PASSWORD='];
  // the pane stays after the shell exits, so a crash shows on the screen (and in the failure message)
  const cmd = `env ${env.map((e) => `'${e}'`).join(' ')} '${process.execPath}' '${CLI}' console; echo "[shell exited $?]"; sleep 600`;
  tmux('new-session', '-d', '-s', session, '-x', '220', '-y', '60', cmd);
}

beforeAll(async () => {
  execFileSync('tmux', ['-V']); // the test needs tmux (scripts/test-deps/console.sh installs it)
  hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, chain: { mode: 'off' } }, { log: silent });
  url = `mqtt://127.0.0.1:${hub.mqttPort}`;
  for (const [user, role] of [['olga', 'operator'], ['vic', 'viewer']] as const) {
    const { password } = await addOperator(hub.store, user, role, fast);
    writeFileSync(join(tmp.dir, `${user}.json`), JSON.stringify({ url, hubId: hub.hubId, user, password }));
  }
  for (let i = 0; i < 20; i++) {
    const name = `rig-${String(i).padStart(2, '0')}`;
    const { deviceId, username, password } = await preIssueDevice(hub.store, { name, fleet: 'rigs' });
    sims.push({ creds: { deviceId, username, password, name }, client: null, versions: [], values: {} });
  }
  await Promise.all(sims.slice(0, 15).map(connectSim)); // 5 stay offline
  await waitFor('15 devices online', () => hub.store.countDevices().online === 15, 15_000);
}, 120_000); // sized for a loaded machine

afterAll(async () => {
  try {
    execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // no server left
  }
  for (const s of sims) s.client?.end(true);
  await hub?.stop();
  tmp.cleanup();
});

describe('the interactive console shell', () => {
  it('completes commands, device ids and methods; sets config across the fleet; offline devices get it on return', async () => {
    openShell('op', join(tmp.dir, 'olga.json'));
    await see('op', `olga@${hub.hubId}>`);

    // a command: "dev" + Tab -> "devices"; then its subcommand "sh" + Tab -> "show"
    type('op', 'dev');
    keys('op', 'Tab');
    await see('op', /> devices $/m); // the word and a space
    type('op', 'sh');
    keys('op', 'Tab');
    await see('op', /> devices show $/m);
    // a device id: a unique prefix + Tab completes the whole id
    const target = sims[7]!.creds.deviceId; // rig-07-xxxxxx
    type('op', target.slice(0, 'rig-07'.length));
    keys('op', 'Tab');
    await see('op', new RegExp(`> devices show ${target} $`, 'm'));
    keys('op', 'Enter');
    await see('op', new RegExp(`device ${target} \\(rig-07\\): online`));
    await see('op', 'config: nothing set from the hub');

    // the methods the device's locator lists: "call ID sys" + Tab Tab
    type('op', `call ${target} sys`);
    keys('op', 'Tab');
    await see('op', `> call ${target} system.`);
    keys('op', 'Tab');
    keys('op', 'Tab');
    const listed = await see('op', /system\.info\s+system\.ping/);
    expect(listed).toContain('system.ping');
    keys('op', 'C-u');

    // a value the config schema refuses never reaches any device
    type('op', 'devices set telemetry.intervalSec=0 --fleet rigs');
    keys('op', 'Enter');
    await see('op', /telemetry\.intervalSec: .*(>=1|too small)/i);
    expect(sims.every((s) => s.versions.length === 0)).toBe(true);

    // the bulk change: 15 online apply it, 5 offline stay pending
    type('op', 'devices set telemetry.intervalSec=42 log.level=debug --fleet rigs --wait 8000');
    keys('op', 'Enter');
    const done = await see('op', '20 device(s): 15 applied, 5 pending, 0 failed', 20_000);
    expect(done).toMatch(/progress: \d+\/20 reported/);
    for (const s of sims.slice(15)) expect(done).toMatch(new RegExp(`${s.creds.deviceId}\\s+${s.creds.name}\\s+v1\\s+pending\\s+offline: gets it when it comes back`));
    for (const s of sims.slice(0, 15)) expect(s.values).toEqual({ 'telemetry.intervalSec': 42, 'log.level': 'debug' });

    // the 5 come back and get it from the retained desired state, without anyone repeating the command
    await Promise.all(sims.slice(15).map(connectSim));
    await waitFor('the 5 returning devices applied v1', () => sims.slice(15).every((s) => hub.store.getDesiredConfig(s.creds.deviceId)?.status === 'applied'), 15_000);
    for (const s of sims.slice(15)) expect(s.values).toEqual({ 'telemetry.intervalSec': 42, 'log.level': 'debug' });
    const late = sims[18]!.creds.deviceId;
    type('op', `devices show ${late}`);
    keys('op', 'Enter');
    await see('op', /config v1 applied: telemetry\.intervalSec=42 log\.level="debug"/);

    // history is kept in the user's config dir
    keys('op', 'C-d');
    await see('op', '[shell exited 0]');
    expect(readFileSync(join(tmp.dir, 'config', 'sosna', 'console_history'), 'utf8')).toContain('devices set telemetry.intervalSec=42 log.level=debug --fleet rigs --wait 8000\n');
  }, 90_000);

  it('refuses a viewer anything that changes the fleet, naming the role needed, and lets it read', async () => {
    openShell('viewer', join(tmp.dir, 'vic.json'));
    await see('viewer', `vic@${hub.hubId}>`);
    type('viewer', 'devices set telemetry.intervalSec=5 --all');
    keys('viewer', 'Enter');
    await see('viewer', 'devices.set needs the operator role; vic is a viewer');
    type('viewer', `devices tag gpu --device ${sims[0]!.creds.deviceId}`);
    keys('viewer', 'Enter');
    await see('viewer', 'devices.tag needs the operator role; vic is a viewer');
    expect(hub.store.getDesiredConfig(sims[0]!.creds.deviceId)?.values).toEqual({ 'telemetry.intervalSec': 42, 'log.level': 'debug' });
    expect(hub.store.getDevice(sims[0]!.creds.deviceId)?.tags).toEqual([]);
    type('viewer', 'devices --online');
    keys('viewer', 'Enter');
    await see('viewer', '20 device(s), 20 online');

    // the role is read at call time: promoted, the same open shell may now tag
    hub.store.putOperator({ ...hub.store.getOperator('vic')!, role: 'operator' });
    type('viewer', `devices tag gpu --device ${sims[0]!.creds.deviceId}`);
    keys('viewer', 'Enter');
    await waitFor('the tag set by the promoted operator', () => hub.store.getDevice(sims[0]!.creds.deviceId)?.tags.includes('gpu'), 10_000);
  }, 60_000);
});
