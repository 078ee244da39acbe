// A remote shell must not outlive the agent: script and the shell run in sessions of their own, so an agent
// process that dies (here: an uncaught error) would leave them waiting on their PTY for ever. The agent's
// compiled remote service (agent/dist, npm run build) runs in a child node process that opens a shell and
// then crashes; the shell must be gone.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './procs.js';
import { waitFor } from './helpers.js';

const gone = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z'); // a zombie is gone too
  } catch {
    return true;
  }
};

describe('remote shells and the agent process', () => {
  it('are hung up when the agent exits, even by an uncaught error', async () => {
    const service = join(ROOT, 'agent', 'dist', 'remote', 'service.js');
    if (!existsSync(service)) throw new Error(`${service} is missing: run npm run build`);
    const code = `
      import { DeviceConfig, silentLogger } from '@sosna/protocol';
      import { remoteHandlers } from ${JSON.stringify(service)};
      const base = DeviceConfig.parse({ hub: { url: 'mqtt://127.0.0.1:1883' }, stateDir: '/tmp/x' }).remoteShell;
      const h = remoteHandlers({ deviceId: () => 'x', config: { ...base, enabled: true, command: ['/bin/sh', '-c', 'echo pid=$$; exec sleep 600'] },
        bytesPerSec: 1e6, configPath: null, log: silentLogger, engine: null, containerOf: () => null, logTail: null, journal: null });
      void h.open({ sessionId: 's-0000000000000001', operator: 'a', cols: 80, rows: 24 }, { peer: 'x', meta: undefined, signal: new AbortController().signal, emit: (c) => {
        if (c.kind === 'out' && /pid=\\d+/.test(c.data)) { process.stdout.write(c.data); setTimeout(() => { throw new Error('agent crash'); }, 50); }
      } });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: join(ROOT, 'agent'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    await waitFor('the shell pid', () => /pid=\d+/.test(out) || child.exitCode !== null, 15_000);
    const pid = Number(/pid=(\d+)/.exec(out)?.[1]);
    expect(pid, out).toBeGreaterThan(0);
    expect(await exited).not.toBe(0);
    expect(out).toContain('agent crash');
    await waitFor(`the shell ${pid} gone`, () => gone(pid), 15_000);
  }, 30_000);
});
