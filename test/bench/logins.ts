// npm run bench (logins part, issue 12 items 5 and 9): against an in-process hub with production scrypt cost,
// the time to a refusal for an unknown id beside a wrong password (they should match: a dummy hash of the same
// kind), the cost of one verification per stored-hash kind, and a reconnect storm of devices with good
// secrets. Medians of interleaved runs; prints figures, never fails on time.
import { join } from 'node:path';
import { addOperator, hashMachineSecret, hashSecret, preIssueDevice, startHub, verifySecret } from '@sosna/hub';
import { connectOnce, silentLogger, usernames } from '@sosna/protocol';
import type { MqttClient } from '@sosna/protocol';
import { tempDir } from '../helpers.js';

const RUNS = Number(process.env.BENCH_LOGIN_RUNS ?? 41);
const STORM = Number(process.env.BENCH_LOGIN_STORM ?? 2000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(3)} ms`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export async function benchLogins(): Promise<Record<string, unknown>> {
  const tmp = tempDir('sosna-bench-logins-');
  const never = { free: 1e9, leakMs: 1, baseMs: 1, maxMs: 1 }; // the throttle would refuse these refusals unhashed
  const hub = await startHub(
    { dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, chain: { mode: 'off' } }, // scryptN: the default
    { log: silentLogger, loginThrottle: { byAddress: never, byUser: never, maxEntries: 1000 } },
  );
  const url = `mqtt://127.0.0.1:${hub.mqttPort}`;
  const clients: MqttClient[] = [];
  try {
    await addOperator(hub.store, 'bench');
    const dev = await preIssueDevice(hub.store, { name: 'bench', fleet: null });
    const refused = (clientId: string, username: string) => timed(() => connectOnce({ url, clientId, username, password: 'wrong' }).then((c) => c.end(true), () => {}));
    const cases: [string, () => Promise<number>][] = [
      ['operator: wrong password', () => refused('op-bench-1', usernames.operator('bench'))],
      ['operator: unknown name', () => refused('op-nobody-1', usernames.operator('nobody'))],
      ['device: wrong password', () => refused(dev.deviceId, dev.username)],
      ['device: unknown id', () => refused('ghost-abcdef', usernames.device('ghost-abcdef'))],
    ];
    console.log(`== logins: time to CONNACK refusal, median of ${RUNS} interleaved runs (scrypt N = 16384 for operators)`);
    const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    for (const [, run] of cases) await run(); // warm up
    for (let i = 0; i < RUNS; i++) for (const [name, run] of cases) times.get(name)!.push(await run());
    const out: Record<string, unknown> = { runs: RUNS };
    for (const [name] of cases) {
      const m = median(times.get(name)!);
      out[name] = m;
      console.log(`${name.padEnd(28)} ${ms(m)}`);
    }
    console.log(`unknown/wrong ratio: operator ${((out['operator: unknown name'] as number) / (out['operator: wrong password'] as number)).toFixed(2)}, device ${((out['device: unknown id'] as number) / (out['device: wrong password'] as number)).toFixed(2)}`);

    const secret = 'x'.repeat(32);
    const machine = hashMachineSecret(secret);
    const human = await hashSecret(secret);
    const perKind = { sha256: [] as number[], scrypt: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      perKind.sha256.push(await timed(() => verifySecret(secret, machine)));
      perKind.scrypt.push(await timed(() => verifySecret(secret, human)));
    }
    out.verifySha256Ms = median(perKind.sha256);
    out.verifyScryptMs = median(perKind.scrypt);
    console.log(`one verification: machine (sha256) ${ms(out.verifySha256Ms as number)}, human (scrypt N=16384) ${ms(out.verifyScryptMs as number)}`);

    const devices: Awaited<ReturnType<typeof preIssueDevice>>[] = [];
    for (let i = 0; i < STORM; i++) devices.push(await preIssueDevice(hub.store, { name: `storm-${i}`, fleet: null }));
    const stormMs = await timed(async () => {
      clients.push(...(await Promise.all(devices.map((d) => connectOnce({ url, clientId: d.deviceId, username: d.username, password: d.password, connectTimeoutMs: 120_000 })))));
    });
    out.storm = { devices: STORM, ms: stormMs };
    console.log(`reconnect storm: ${STORM} devices with good secrets from one address connected in ${(stormMs / 1000).toFixed(2)} s (hashing alone with scrypt would take ~${((STORM * (out.verifyScryptMs as number)) / 1000).toFixed(1)} s)`);
    return out;
  } finally {
    for (const c of clients) c.end(true);
    await hub.stop();
    tmp.cleanup();
  }
}
