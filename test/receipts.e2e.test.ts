// Device keys and receipts end to end with real processes: a hub (`sosna hub`), two agents from the
// single-file bundle on a private Docker Engine (test/docker.ts), the operator's real `sosna console`
// and the offline `sosna verify`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateKey } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { receiptDigests, signReceipt } from '@sosna/protocol';
import type { ReceiptFile } from '@sosna/protocol';
import { cli, CLI, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { startPrivateDocker, SKIP_DOCKER } from './docker.js';
import type { PrivateDocker } from './docker.js';

const tmp = tempDir('sosna-receipts-e2e-');
const hubDir = join(tmp.dir, 'hub');
const owners = ['alice', 'bob'];
let engine: PrivateDocker;
let hub: Proc;
let bundle: string;
const agents: Proc[] = [];
const configs: string[] = [];
const deviceOf: string[] = [];
const admin = () => ({ SOSNA_PROFILE: join(hubDir, 'console.json') });
const stateDir = (i: number) => join(tmp.dir, `agent${i + 1}`, 'state');
const keyFile = (i: number) => join(stateDir(i), 'device-key.json');
const storedKey = (i: number) => JSON.parse(readFileSync(keyFile(i), 'utf8')) as { publicKey: string; privateKeyPem: string };

const sosna = (args: string[], env = admin()) => cli(args, { env, timeoutMs: 30_000 });
const startAgent = (i: number) => (agents[i] = start([bundle, '--config', configs[i]!], { cwd: join(tmp.dir, 'device-bin') }));
async function deviceKey(i: number) {
  const r = await sosna(['console', 'devices', 'key', deviceOf[i]!, '--json']);
  expect(r.code, r.output).toBe(0);
  return JSON.parse(r.stdout) as { binding: { publicKey: string } | null; refused: { publicKey: string } | null; previous: { publicKey: string }[] };
}
async function online(i: number) {
  await waitFor(`${deviceOf[i]} online`, async () => {
    const r = await sosna(['console', 'devices', '--json']);
    const d = (JSON.parse(r.stdout) as { id: string; online: boolean }[]).find((x) => x.id === deviceOf[i]);
    return d?.online ? d : null;
  }, 60_000, 300);
}

beforeAll(async () => {
  if (SKIP_DOCKER) return;
  requireBuild();
  engine = await startPrivateDocker();
  const port = await freePort();
  bundle = installBundle(join(tmp.dir, 'device-bin'));
  hub = start([CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--config', writeJson(join(tmp.dir, 'hub.json'), { jobs: { tickMs: 250, trust: { enabled: false } } })]);
  await hub.waitFor(/hub \S+ ready/);
  for (let i = 0; i < owners.length; i++) {
    const key = await cli(['hub', 'keys', 'create', '--fleet', owners[i]!, '--max', '1', '--data-dir', hubDir]);
    expect(key.code, key.output).toBe(0);
    configs[i] = writeJson(join(tmp.dir, `agent${i + 1}`, 'config.json'), {
      hub: { url: `mqtt://127.0.0.1:${port}` }, provisioningKey: key.stdout.trim(), name: `rig-${i + 1}`, stateDir: stateDir(i),
      mqtt: { keepaliveSec: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 },
      jobs: { dockerHost: engine.host, askPerSec: '1', publicHost: '127.0.0.1', bindAddress: '127.0.0.1', maxJobs: 2 },
    });
    startAgent(i);
  }
  const devices = await waitFor('two devices online with a container engine', async () => {
    const r = await sosna(['console', 'devices', '--json']);
    const list = JSON.parse(r.stdout) as { id: string; name: string; online: boolean; inventory: { jobs?: { engine: unknown } } | null }[];
    return list.length === 2 && list.every((d) => d.online && d.inventory?.jobs?.engine) ? list : null;
  }, 90_000, 300);
  for (const d of devices) deviceOf[Number(d.name.slice(4)) - 1] = d.id;
}, 180_000);

afterAll(async () => {
  for (const p of agents) await p?.stop('SIGKILL');
  await hub?.stop();
  await engine?.stop();
  tmp.cleanup();
}, 120_000);

describe.skipIf(SKIP_DOCKER)('device keys and run receipts', { timeout: 180_000 }, () => {
  let jobId = '';
  let file = '';
  let pinned = '';

  it('each device made a key (0600 in its state dir) and the hub has its public half from provisioning', async () => {
    for (let i = 0; i < 2; i++) {
      expect(statSync(keyFile(i)).mode & 0o777).toBe(0o600);
      const k = await deviceKey(i);
      expect(k.binding?.publicKey).toBe(storedKey(i).publicKey);
    }
    expect(storedKey(0).publicKey).not.toBe(storedKey(1).publicKey);
  });

  it('a finished run has a receipt that verifies offline against the registered key', async () => {
    const sub = await sosna(['console', 'jobs', 'submit', '--image', engine.images.local, '--bid', '5', '--timeout', '60', '--json', '--', 'sh', '-c', 'echo receipt; exit 3']);
    expect(sub.code, sub.output).toBe(0);
    jobId = (JSON.parse(sub.stdout) as { jobId: string }).jobId;
    const out = join(tmp.dir, 'receipts');
    const files = await waitFor('the receipt', async () => {
      const r = await sosna(['console', 'jobs', 'receipts', jobId, '--out', out, '--json']);
      expect(r.code, r.output).toBe(0);
      const list = JSON.parse(r.stdout) as ReceiptFile[];
      return list.length ? list : null;
    }, 90_000, 500);
    const f = files[0]!;
    const show = JSON.parse((await sosna(['console', 'jobs', 'show', jobId, '--json'])).stdout) as { runs: { id: string; deviceId: string; exitCode: number; digest: string | null; runtimeMs: number }[] };
    const run = show.runs[0]!;
    expect(f.receipt).toMatchObject({ jobId, runId: run.id, deviceId: run.deviceId, exitCode: 3, outputDigest: run.digest, inputHash: null, image: engine.images.local });
    const img = await engine.docker.getImage(engine.images.local).inspect();
    expect(f.receipt.imageId).toBe(img.Id);
    expect(f.receipt.billedSeconds).toBe(Math.ceil(run.runtimeMs / 1000));
    file = join(out, `${run.id}.receipt.json`);
    const i = deviceOf.indexOf(run.deviceId);
    const key = await sosna(['console', 'devices', 'key', run.deviceId]);
    pinned = key.stdout.split('\n')[0]!.trim();
    expect(pinned).toBe(storedKey(i).publicKey);
    const ok = await sosna(['verify', file, '--key', pinned]);
    expect(ok.code, ok.output).toBe(0);
    expect(ok.stdout).toMatch(/OK: receipt of run .* signed by device .*'s registered key/);
    const owner = (JSON.parse(readFileSync(join(hubDir, 'runtime.json'), 'utf8')) as { owner: string }).owner;
    expect((await sosna(['verify', file, '--hub-owner', owner])).code).toBe(0);
  });

  it('a tampered exit code fails, naming the field', async () => {
    const f = JSON.parse(readFileSync(file, 'utf8')) as ReceiptFile;
    const bad = join(tmp.dir, 'tampered.json');
    writeFileSync(bad, JSON.stringify({ ...f, receipt: { ...f.receipt, exitCode: 0 } }));
    const r = await sosna(['verify', bad, '--key', pinned]);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/FAILED \(tampered, field exitCode\): tampered field exitCode \(now 0\)/);
  });

  it("a receipt signed by another device's key fails; a key that is not the device's is the wrong key", async () => {
    const f = JSON.parse(readFileSync(file, 'utf8')) as ReceiptFile;
    const other = deviceOf.indexOf(f.receipt.deviceId) === 0 ? 1 : 0;
    const k = storedKey(other);
    const forged = signReceipt(f.receipt, createPrivateKey(k.privateKeyPem), k.publicKey);
    const bad = join(tmp.dir, 'forged.json');
    writeFileSync(bad, JSON.stringify({ ...f, signature: forged.signature, signedDigests: receiptDigests(f.receipt) }));
    const r = await sosna(['verify', bad, '--key', pinned]);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/FAILED \(bad-signature, field signature\): bad signature: the receipt was not signed by device \S+'s registered key/);
    const wrong = await sosna(['verify', file, '--key', k.publicKey]);
    expect(wrong.code).toBe(1);
    expect(wrong.output).toMatch(/wrong key: the receipt names device key/);
    const junk = join(tmp.dir, 'junk.json');
    writeFileSync(junk, JSON.stringify({ ...f, receipt: { ...f.receipt, imageId: 'latest' } }));
    const m = await sosna(['verify', junk]);
    expect(m.code).toBe(1);
    expect(m.output).toContain(`${junk}: FAILED (malformed, field receipt.imageId)`);
  });

  it("only the job's submitter or an admin sees its receipts", async () => {
    const eve = { SOSNA_PROFILE: join(tmp.dir, 'eve.json') };
    const add = await sosna(['console', 'operators', 'add', 'eve', '--role', 'operator', '--write-profile', eve.SOSNA_PROFILE]);
    expect(add.code, add.output).toBe(0);
    const r = await sosna(['console', 'jobs', 'receipts', jobId], eve);
    expect(r.code).toBe(1);
    expect(r.output).toContain(`no job ${jobId} of yours`);
  });

  it('the key survives a restart; a new key is refused until an admin clears the old one', async () => {
    const before = storedKey(0).publicKey;
    await agents[0]!.stop('SIGKILL');
    startAgent(0);
    await online(0);
    expect(storedKey(0).publicKey).toBe(before);
    expect((await deviceKey(0)).binding?.publicKey).toBe(before);

    await agents[0]!.stop('SIGKILL');
    rmSync(keyFile(0));
    const p = startAgent(0);
    await p.waitFor(/the hub did not take the device key/, 60_000);
    const fresh = storedKey(0).publicKey;
    expect(fresh).not.toBe(before);
    const refused = await deviceKey(0);
    expect(refused.binding?.publicKey).toBe(before);
    expect(refused.refused?.publicKey).toBe(fresh);

    const clear = await sosna(['console', 'devices', 'key', deviceOf[0]!, '--clear', '--reason', 'disk replaced']);
    expect(clear.code, clear.output).toBe(0);
    await agents[0]!.stop('SIGKILL');
    startAgent(0);
    const after = await waitFor('the new key registered', async () => {
      const k = await deviceKey(0);
      return k.binding?.publicKey === fresh ? k : null;
    }, 60_000, 500);
    expect(after.previous.map((k) => k.publicKey)).toEqual([before]);
    // the old receipt still verifies: its file carries the binding of the key that signed it
    if (JSON.parse(readFileSync(file, 'utf8')).receipt.deviceId === deviceOf[0]) expect((await sosna(['verify', file])).code).toBe(0);
  });
});
