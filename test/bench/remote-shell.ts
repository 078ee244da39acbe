// npm run bench (remote-shell part): the remote shell's keystroke round trip, a key sent from the console
// until its echo is back at the console (console -> hub -> agent -> PTY -> bash's line editor -> agent ->
// hub -> console), beside a plain RPC ping to the same agent through the hub (devices.call system.ping), in
// the same run, interleaved. A real hub and a real agent in this process, bash on a PTY from `script`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addOperator, ConsoleClient, preIssueDevice, startHub } from '@sosna/hub';
import { DeviceConfig, devicesService, remoteService, silentLogger } from '@sosna/protocol';
import type { RemoteChunk } from '@sosna/protocol';
import { startAgent } from '../../agent/src/app.js';
import { tempDir, waitFor } from '../helpers.js';

const ROUNDS = Number(process.env.BENCH_SHELL_ROUNDS ?? 300);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

export async function benchRemoteShell(): Promise<Record<string, number>> {
  console.log(`== remote shell: keystroke round trip (key sent -> echo at the console) vs an RPC ping, ${ROUNDS} each, interleaved`);
  const tmp = tempDir('sosna-bench-shell-');
  const hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, chain: { mode: 'off' } }, { log: silentLogger });
  const url = `mqtt://127.0.0.1:${hub.mqttPort}`;
  const { password } = await addOperator(hub.store, 'root', 'admin', { N: 1024, r: 8, p: 1 });
  const dev = await preIssueDevice(hub.store, { name: 'bench-rig', fleet: 'bench' });
  const stateDir = join(tmp.dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'credentials.json'), JSON.stringify({ hubId: hub.hubId, deviceId: dev.deviceId, username: dev.username, password: dev.password, url, provisionedAt: Date.now() }));
  const config = DeviceConfig.parse({
    hub: { url }, stateDir, dashboard: { enabled: false }, jobs: { enabled: false },
    remoteShell: { enabled: true, command: ['/bin/bash', '--norc', '--noprofile', '-i'] },
  });
  const agent = await startAgent(config, silentLogger);
  const c = await ConsoleClient.connect({ url, hubId: hub.hubId, user: 'root', password });
  try {
    await waitFor('the agent online', () => hub.store.getDevice(dev.deviceId)?.online, 30_000);
    let screen = '';
    let waiter: (() => void) | null = null;
    let sessionId = '';
    const session = c.call(remoteService, 'shell', { deviceId: dev.deviceId, cols: 200, rows: 50 }, {
      timeoutMs: 3600_000,
      onChunk: (ch) => {
        const x = ch as RemoteChunk;
        if (x.kind === 'started') sessionId = x.sessionId;
        if (x.kind === 'out') {
          screen += x.data;
          waiter?.();
        }
      },
    });
    await waitFor('the prompt', () => /[$#] $/.test(screen), 15_000);
    /** Sends one key; resolves with the ms until its echo is back (the input call's own answer may come later). */
    const echoOf = async (key: string): Promise<number> => {
      screen = '';
      const seen = new Promise<void>((r) => (waiter = () => screen.includes(key) && r()));
      const t = process.hrtime.bigint();
      const call = c.call(remoteService, 'input', { sessionId, data: key });
      await seen;
      const took = ms(t);
      waiter = null;
      await call;
      return took;
    };
    const keyMs: number[] = [];
    const pingMs: number[] = [];
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    for (let i = 0; i < 20; i++) {
      await echoOf(letters[i % 26]!); // warm-up
      await new Promise((r) => setTimeout(r, 10));
    }
    await c.call(remoteService, 'input', { sessionId, data: '\x15' }); // Ctrl-U: an empty line again
    // a key every 10 ms at most (a fast typist makes 10-15 a second): below the hub's 200 input calls a second,
    // whose pacing is not what this measures
    const pace = async (since: bigint) => {
      const left = 10 - ms(since);
      if (left > 0) await new Promise((r) => setTimeout(r, left));
    };
    for (let i = 0; i < ROUNDS; i++) {
      const round = process.hrtime.bigint();
      keyMs.push(await echoOf(letters[i % 26]!));
      const t = process.hrtime.bigint();
      await c.call(devicesService, 'call', { deviceId: dev.deviceId, service: 'system', method: 'ping', params: {} }, { onChunk: () => {} });
      pingMs.push(ms(t));
      if (i % 60 === 59) await c.call(remoteService, 'input', { sessionId, data: '\x15' });
      await pace(round);
    }
    await c.call(remoteService, 'input', { sessionId, data: '\x15exit 0\n' });
    await session;
    const r = {
      keyP50Ms: +pct(keyMs, 50).toFixed(2), keyP95Ms: +pct(keyMs, 95).toFixed(2),
      pingP50Ms: +pct(pingMs, 50).toFixed(2), pingP95Ms: +pct(pingMs, 95).toFixed(2),
      keyOverPingP50: +(pct(keyMs, 50) / pct(pingMs, 50)).toFixed(2),
    };
    console.log(`keystroke echo   p50 ${r.keyP50Ms} ms   p95 ${r.keyP95Ms} ms`);
    console.log(`RPC ping         p50 ${r.pingP50Ms} ms   p95 ${r.pingP95Ms} ms`);
    console.log(`keystroke / ping at p50: ${r.keyOverPingP50}x (both cross console -> hub -> device and back; a key also the PTY and the shell's line editor)`);
    return r;
  } finally {
    await c.close();
    await agent.stop();
    await hub.stop();
    tmp.cleanup();
  }
}
