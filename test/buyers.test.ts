// Buyers (issue 14 item 1) against a real hub (in-process, embedded broker) and a simulated device: a
// buyer submits, lists, shows, follows, cancels and execs into ITS OWN jobs only; another buyer's job
// answers exactly as a job that does not exist ("no job X"), both through the real `sosna console` CLI
// and as raw frames from a third-party MQTT client (mosquitto_pub/mosquitto_sub) logged in as the other
// buyer. Operators and admins keep seeing every job. A buyer has an on-chain address and sees nothing of
// the fleet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { addOperator, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { createCodec, silentLogger, topics } from '@sosna/protocol';
import { cli, requireBuild, writeJson } from './procs.js';
import { JobDevice } from './job-device.js';
import { tempDir, waitFor } from './helpers.js';

const codec = createCodec();
const tmp = tempDir('sosna-buyers-');
const fast = { N: 1024, r: 8, p: 1 };
const ANN = '0x00000000000000000000000000000000000a11ce';
const BOB = '0x00000000000000000000000000000000000000b0';
let hub: Hub;
let url: string;
const passwords: Record<string, string> = {};
const env: Record<string, Record<string, string>> = {};
let device: JobDevice;

async function sosna(who: string, args: string[]) {
  return cli(['console', ...args], { env: env[who]!, timeoutMs: 30_000 });
}

beforeAll(async () => {
  requireBuild();
  hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, chain: { mode: 'off' }, jobs: { leaseSec: 3600, tickMs: 100, trust: { enabled: false } } }, { log: silentLogger });
  url = `mqtt://127.0.0.1:${hub.mqttPort}`;
  for (const [name, role, address] of [['root', 'admin', undefined], ['olga', 'operator', undefined], ['ann', 'buyer', ANN], ['bob', 'buyer', BOB]] as const) {
    passwords[name] = (await addOperator(hub.store, name, role, fast, { address })).password;
    env[name] = { SOSNA_PROFILE: writeJson(join(tmp.dir, `${name}.json`), { url, hubId: hub.hubId, user: name, password: passwords[name] }) };
  }
  // one device that takes runs and never finishes them: ann's job stays running for exec/logs/cancel (it never
  // renews a lease either: leaseSec 3600 keeps a slow machine's run from lapsing and being placed again)
  device = await (await JobDevice.preIssue(hub, 'rig', { owner: '0x1111111111111111111111111111111111111111' })).connect(url);
  await waitFor('rig online', () => hub.store.getDevice(device.id)?.online);
}, 60_000);

afterAll(async () => {
  device?.close();
  await hub?.stop();
  tmp.cleanup();
});

let annJob = '';
let olgaJob = '';

describe('buyer accounts through the console CLI', () => {
  it('a buyer needs an on-chain address; the admin sees it in operators ls', async () => {
    const bad = await sosna('root', ['operators', 'add', 'bea', '--role', 'buyer']);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toContain('--address');
    const badAddr = await sosna('root', ['operators', 'add', 'bea', '--role', 'buyer', '--address', '0x12']);
    expect(badAddr.code).not.toBe(0);
    expect(badAddr.output).toContain('--address "0x12"');
    const ls = await sosna('root', ['operators', 'ls', '--json']);
    expect(ls.code, ls.output).toBe(0);
    expect(JSON.parse(ls.stdout)).toContainEqual(expect.objectContaining({ name: 'ann', role: 'buyer', address: ANN }));
  });

  it('a buyer submits and sees its own job; another buyer gets "no job" for list, show, logs, cancel and exec', async () => {
    const sub = await sosna('ann', ['jobs', 'submit', '--image', 'busybox', '--json', '--', 'sleep', '600']);
    expect(sub.code, sub.output).toBe(0);
    annJob = (JSON.parse(sub.stdout) as { jobId: string }).jobId;
    const run = await waitFor('ann job on the device', () => [...device.runs.values()].find((r) => r.jobId === annJob));
    await device.report({ id: run.id, state: 'running', startedAt: Date.now() });
    const o = await sosna('olga', ['jobs', 'submit', '--image', 'busybox', '--json', '--', 'true']);
    expect(o.code, o.output).toBe(0);
    olgaJob = (JSON.parse(o.stdout) as { jobId: string }).jobId;

    const annLs = JSON.parse((await sosna('ann', ['jobs', 'ls', '--json'])).stdout) as { id: string }[];
    expect(annLs.map((j) => j.id)).toEqual([annJob]); // not olga's either
    expect((await sosna('ann', ['jobs', 'show', annJob, '--json'])).code).toBe(0);

    const bobLs = await sosna('bob', ['jobs', 'ls', '--json']);
    expect(bobLs.code, bobLs.output).toBe(0);
    expect(JSON.parse(bobLs.stdout)).toEqual([]);
    const missing = 'j-aaaaaaaaaaaa';
    for (const args of [['jobs', 'show', annJob], ['jobs', 'logs', annJob], ['jobs', 'cancel', annJob], ['jobs', 'exec', annJob, '--', 'id']]) {
      const r = await sosna('bob', args);
      expect(r.code, `${args.join(' ')}: ${r.output}`).not.toBe(0);
      expect(r.output).toContain(`no job ${annJob}`);
      // word for word what a job that does not exist answers
      const none = await sosna('bob', args.map((a) => (a === annJob ? missing : a)));
      expect(none.output.replace(missing, annJob)).toBe(r.output);
    }
    expect(hub.store.jobs.getJob(annJob)?.state).not.toBe('cancelled');
    // a submit key is its submitter's: another buyer reusing it gets neither that job nor its id
    const keyed = await sosna('ann', ['jobs', 'submit', '--image', 'busybox', '--key', 'nightly-1', '--json', '--', 'true']);
    expect(keyed.code, keyed.output).toBe(0);
    const annKeyed = (JSON.parse(keyed.stdout) as { jobId: string }).jobId;
    const stolen = await sosna('bob', ['jobs', 'submit', '--image', 'busybox', '--key', 'nightly-1', '--json', '--', 'true']);
    expect(stolen.code).not.toBe(0);
    expect(stolen.output).toContain('submit key nightly-1 is taken');
    expect(stolen.output).not.toContain(annKeyed);
  }, 120_000);

  it('operators and admins keep seeing every job; a buyer sees nothing of the fleet', async () => {
    const ids = (JSON.parse((await sosna('olga', ['jobs', 'ls', '--json'])).stdout) as { id: string }[]).map((j) => j.id);
    expect(ids).toEqual(expect.arrayContaining([annJob, olgaJob]));
    expect((await sosna('root', ['jobs', 'show', annJob, '--json'])).code).toBe(0);
    for (const args of [['devices'], ['earnings'], ['alerts', 'ls']]) {
      const r = await sosna('bob', args);
      expect(r.code, r.output).not.toBe(0);
      expect(r.output).toContain('not for buyers');
    }
  }, 60_000);
});

/** mosquitto_sub as `user` on its console reply topic, printing each payload as hex on a line. */
function rawConsole(user: string) {
  const out = topics.console(hub.hubId, user, 'out');
  // stdbuf: mosquitto_sub's debug lines (-d) are block-buffered into a pipe otherwise
  const sub = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(hub.mqttPort), '-i', `op-${user}-rawsub`, '-u', `op:${user}`, '-P', passwords[user]!, '-q', '1', '-t', out, '-F', '%x', '-d'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const frames: [number, number, unknown[]][] = [];
  let subscribed = false;
  let buf = '';
  sub.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      // -d: debug lines (with spaces) among the hex payload lines
      if (/received SUBACK/.test(line)) subscribed = true;
      else if (/^[0-9a-f]+$/.test(line)) frames.push(codec.decode(Buffer.from(line, 'hex')) as [number, number, unknown[]]);
    }
  });
  let n = 0;
  const publish = (frame: unknown) => {
    const file = join(tmp.dir, `frame-${user}-${n++}.bin`);
    writeFileSync(file, codec.encode(frame));
    return new Promise<string>((resolve) =>
      execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(hub.mqttPort), '-i', `op-${user}-rawpub${n}`, '-u', `op:${user}`, '-P', passwords[user]!, '-q', '1', '-t', topics.console(hub.hubId, user, 'in'), '-f', file], { timeout: 20_000 }, (err, so, se) =>
        resolve(err ? `failed: ${String(err)} ${se}` : `${so}${se}`),
      ),
    );
  };
  let channel = 1000;
  /** Opens a call and waits for its end: the chunks, or the error frame's [code, message]. */
  const call = async (slot: number, params: unknown) => {
    const ch = (channel += 2);
    const ended = () => frames.find((f) => f[0] === ch && (f[1] === 1 || f[1] === 2));
    expect(await publish([ch, slot, [params]])).not.toMatch(/^failed/);
    await waitFor(`an answer on channel ${ch}`, ended, 20_000);
    const end = ended()!;
    return { chunks: frames.filter((f) => f[0] === ch && f[1] === 0).map((f) => f[2][0]), error: end[1] === 1 ? (end[2] as [string, string]) : null };
  };
  return { sub, call, frames, subscribed: () => subscribed };
}

describe('buyer accounts as raw MQTT frames (mosquitto_pub / mosquitto_sub)', () => {
  it("buyer bob asking the hub for buyer ann's job gets what a job that does not exist gets", async () => {
    const bob = rawConsole('bob');
    try {
      await waitFor('mosquitto_sub subscribed', bob.subscribed, 30_000);
      // locator.resolve (slot 0) gives the jobs service's dispatch map
      const resolved = await bob.call(0, { name: 'jobs' });
      const slots = (resolved.chunks[0] as { methods: Record<string, number> }).methods;
      const ls = await bob.call(slots.ls!, { limit: 100 });
      expect(ls.error).toBeNull();
      expect((ls.chunks[0] as { jobs: { id: string }[] }).jobs.map((j) => j.id)).not.toContain(annJob);
      for (const method of ['show', 'logs', 'cancel'] as const) {
        const r = await bob.call(slots[method]!, { jobId: annJob });
        expect(r.error, method).toEqual(['E_NOT_FOUND', `no job ${annJob}`]);
        const none = await bob.call(slots[method]!, { jobId: 'j-aaaaaaaaaaaa' });
        expect(none.error).toEqual(['E_NOT_FOUND', 'no job j-aaaaaaaaaaaa']);
      }
      // and ann's job is still what it was
      expect(hub.store.jobs.getJob(annJob)?.state).toBe('running');
    } finally {
      bob.sub.kill();
    }
  }, 120_000);
});
