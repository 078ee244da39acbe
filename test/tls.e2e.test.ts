// TLS end to end (issue 12, item 7): a hub that serves only MQTT over TLS from its own CA (`sosna hub
// --tls-only`), devices from the single-file agent bundle provisioned by `sosna provision fleet` (which
// writes the hub's CA into their configs), a job on a private Docker Engine, the console over mqtts://, and
// third-party clients: mosquitto_sub with the CA file, openssl s_client, and a raw TCP socket. A device that
// trusts another CA is refused with the reason. (In-process: expired certificates, mutual TLS, WSS, the
// plain-text warnings: test/tls.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConsoleClient, ConsoleProfile } from '@sosna/hub';
import { createCa } from '@sosna/hub/tls';
import { jobsService, topics, usernames } from '@sosna/protocol';
import { CLI, cli, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { SKIP_DOCKER, startPrivateDocker } from './docker.js';
import type { PrivateDocker } from './docker.js';

const run = promisify(execFile);

const tmp = tempDir('sosna-tls-e2e-');
const hubDir = join(tmp.dir, 'hub');
const caFile = join(hubDir, 'tls', 'ca.pem');
let port: number;
let hub: Proc;
let hubId: string;
let bundle: string;
let engine: PrivateDocker | null = null;
const procs: Proc[] = [];
const profile = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });
const admin = () => JSON.parse(readFileSync(join(hubDir, 'console.json'), 'utf8')) as { url: string; password: string; ca?: string; hubId: string };

function agent(config: string): Proc {
  const p = start([bundle, '--config', config], { cwd: join(tmp.dir, 'device-bin') });
  procs.push(p);
  return p;
}

async function newKey(fleet: string): Promise<string> {
  const r = await cli(['hub', 'keys', 'create', '--fleet', fleet, '--max', '1', '--data-dir', hubDir]);
  expect(r.code, r.output).toBe(0);
  return r.stdout.trim();
}

beforeAll(async () => {
  requireBuild();
  if (!SKIP_DOCKER) engine = await startPrivateDocker();
  port = await freePort();
  bundle = installBundle(join(tmp.dir, 'device-bin'));
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--tls-only', '--tls-port', String(port), '--wss-port', 'off', '--host', '127.0.0.1', '--no-chain', '--name', 'tls test hub']);
  procs.push(hub);
  hubId = (await hub.waitFor(/hub (\S+) ready on mqtts:\/\/0\.0\.0\.0:\d+\n/))[1]!;
  expect(hub.output()).toContain(`TLS CA (devices get it as hub.ca): ${caFile}`);
}, 120_000);

afterAll(async () => {
  for (const p of procs.reverse()) await p.stop('SIGKILL');
  await engine?.stop();
  tmp.cleanup();
}, 120_000);

describe('a hub that serves only TLS, from its own CA', { timeout: 180_000 }, () => {
  it('keeps its CA beside the owner key, key files mode 0600', async () => {
    const { statSync } = await import('node:fs');
    expect(statSync(join(hubDir, 'tls', 'ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(hubDir, 'tls', 'server.key')).mode & 0o777).toBe(0o600);
    expect(admin().url).toBe(`mqtts://127.0.0.1:${port}`);
    expect(admin().ca).toBe(readFileSync(caFile, 'utf8'));
  });

  it('a device provisioned by `sosna provision fleet` joins over mqtts:// and runs a job', async () => {
    const out = join(tmp.dir, 'fleet');
    const r = await cli(['provision', 'fleet', '--hub', `mqtts://127.0.0.1:${port}`, '--fleet', 'tls', '--count', '1', '--out', out, '--data-dir', hubDir]);
    expect(r.code, r.output).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { devices: { config: string }[] };
    const file = join(out, manifest.devices[0]!.config);
    const written = JSON.parse(readFileSync(file, 'utf8')) as { hub: { url: string; ca?: string } };
    expect(written.hub.ca).toBe(readFileSync(caFile, 'utf8')); // the CA travels inline in the device config
    writeJson(file, {
      ...written,
      stateDir: join(tmp.dir, 'dev-ok'),
      dashboard: { enabled: false },
      mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 },
      jobs: engine ? { dockerHost: engine.host, publicHost: '127.0.0.1', bindAddress: '127.0.0.1' } : { enabled: false },
    });
    const dev = agent(file);
    await dev.waitFor(/online/, 60_000);

    // the console over TLS, from the profile the hub wrote (mqtts URL and its CA)
    const devices = await waitFor('the device online in `sosna console devices`', async () => {
      const c = await cli(['console', 'devices', '--json'], { env: profile() });
      const list = JSON.parse(c.stdout || '[]') as { id: string; online: boolean; inventory: { jobs?: { engine: unknown } } | null }[];
      return list.length === 1 && list[0]!.online && (!engine || list[0]!.inventory?.jobs?.engine) ? list : null;
    }, 60_000, 500);
    if (!engine) return;
    const submitted = await cli(['console', 'jobs', 'submit', '--image', engine.images.local, '--bid', '1', '--timeout', '60', '--', 'sh', '-c', 'echo over tls'], { env: profile(), timeoutMs: 30_000 });
    expect(submitted.code, submitted.output).toBe(0);
    const jobId = submitted.stdout.trim();
    const operator = await ConsoleClient.connect(ConsoleProfile.parse(admin()));
    try {
      const job = await waitFor(`job ${jobId} finished`, async () => {
        const j = (await operator.call(jobsService, 'show', { jobId })) as { state: string; runs: { deviceId: string }[] };
        return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : null;
      }, 90_000, 300);
      expect(job.state).toBe('succeeded');
      expect(job.runs[0]!.deviceId).toBe(devices[0]!.id);
    } finally {
      await operator.close();
    }
    const logs = await cli(['console', 'jobs', 'logs', jobId], { env: profile() });
    expect(logs.stdout).toContain('over tls');
  });

  it('a device given another CA refuses the hub and says why', async () => {
    const other = await createCa({ name: 'someone else' });
    const file = writeJson(join(tmp.dir, 'dev-other-ca', 'config.json'), {
      hub: { url: `mqtts://127.0.0.1:${port}`, ca: other.cert },
      provisioningKey: await newKey('wrong-ca'),
      stateDir: join(tmp.dir, 'dev-other-ca', 'state'),
      dashboard: { enabled: false },
      jobs: { enabled: false },
      mqtt: { reconnectMinMs: 200, reconnectMaxMs: 1000 },
    });
    const dev = agent(file);
    const m = await dev.waitFor(/refusing the hub at mqtts:\/\/127\.0\.0\.1:\d+: TLS: [^\n]*\[(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\]/, 60_000);
    expect(m[0]).toContain(`mqtts://127.0.0.1:${port}`);
    await dev.stop();
    expect(dev.output()).not.toMatch(/provisioned/);
  });

  it('mosquitto_sub connects with the CA file and an operator login; without the CA it cannot', async () => {
    const { password } = admin();
    const topic = topics.announce(hubId);
    const sub = await run('mosquitto_sub', ['--cafile', caFile, '-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-i', 'op-admin-mosquitto', '-u', usernames.operator('admin'), '-P', password, '-t', topic, '-C', '1', '-W', '30', '-F', '%t'], { timeout: 40_000 });
    expect(sub.stdout.trim()).toBe(topic); // the retained card, read over TLS
    // the system CAs do not know the hub's own CA: the handshake fails, nothing is read
    const noCa = await run('mosquitto_sub', ['--capath', '/etc/ssl/certs', '-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-u', usernames.operator('admin'), '-P', password, '-t', topic, '-C', '1', '-W', '10'], { timeout: 20_000 }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, out: err.stdout + err.stderr }),
    );
    expect(noCa.code).not.toBe(0);
    expect(noCa.out).toMatch(/certificate verify failed|TLS|SSL/i);
  });

  it('`sosna hub client-cert` issues a client certificate that openssl verifies against the hub CA', async () => {
    const out = join(tmp.dir, 'client-certs');
    const r = await cli(['hub', 'client-cert', 'rig-9', '--out', out, '--data-dir', hubDir]);
    expect(r.code, r.output).toBe(0);
    const v = await run('openssl', ['verify', '-CAfile', caFile, '-purpose', 'sslclient', join(out, 'rig-9.pem')], { timeout: 20_000 });
    expect(v.stdout.trim()).toBe(`${join(out, 'rig-9.pem')}: OK`);
    const { statSync } = await import('node:fs');
    expect(statSync(join(out, 'rig-9.key')).mode & 0o777).toBe(0o600);
  });

  it('openssl s_client shows the certificate chain to the hub CA and verifies it', async () => {
    const r = await run('sh', ['-c', `openssl s_client -connect 127.0.0.1:${port} -CAfile '${caFile}' -verify_ip 127.0.0.1 -verify_return_error -showcerts </dev/null`], { timeout: 30_000 });
    expect(r.stdout).toMatch(/Certificate chain\n 0 s:\s*CN\s*=\s*localhost[\s\S]*i:\s*CN\s*=\s*tls test hub CA[\s\S]* 1 s:\s*CN\s*=\s*tls test hub CA/);
    expect(r.stdout).toContain('Verify return code: 0 (ok)');
  });

  it('a plain TCP client on the TLS port gets nothing: no CONNACK, the connection is closed', async () => {
    // an MQTT 3.1.1 CONNECT (clean session, empty client id): a plain broker would answer 0x20 CONNACK
    const connectPacket = Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = connect(port, '127.0.0.1', () => s.write(connectPacket));
      s.on('data', (d) => chunks.push(d));
      s.on('error', () => {}); // a reset counts as closed
      s.on('close', () => resolve(Buffer.concat(chunks)));
      setTimeout(() => reject(new Error('the TLS port kept a plain connection open for 30 s')), 30_000).unref();
    });
    expect(got.includes(0x20) && got[0] === 0x20).toBe(false);
    // whatever came back is at most a TLS alert record (content type 21), never MQTT
    if (got.length) expect(got[0]).toBe(0x15);
  });
});
