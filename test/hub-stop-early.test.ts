// A hub stopped before it is ready (SIGTERM while its embedded chain starts) leaves no anvil process behind.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, freePort, requireBuild, start } from './procs.js';
import { tempDir, waitFor } from './helpers.js';

const tmp = tempDir('sosna-hub-early-');
afterAll(() => tmp.cleanup());

/** Whether `pid` is a running anvil (not some other process that got the number since). */
function anvilAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false; // a zombie is gone, only not reaped yet
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('anvil');
  } catch {
    return false;
  }
}

describe('sosna hub stopped before it is ready', () => {
  it('SIGTERM while the embedded chain starts: the hub exits and its anvil process is gone', async () => {
    requireBuild();
    const dataDir = join(tmp.dir, 'hub');
    const hub = start([CLI, 'hub', '--data-dir', dataDir, '--port', String(await freePort()), '--ws-port', 'off', '--host', '127.0.0.1']);
    // the hub writes chain.pid as soon as anvil answers; the contracts are deployed after that (seconds)
    const pidFile = join(dataDir, 'chain.pid');
    const pid = await waitFor('anvil started (chain.pid)', () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) || null : null), 90_000, 5);
    hub.child.kill('SIGTERM');
    const code = await Promise.race([hub.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
    if (code === 'hung') await hub.stop('SIGKILL');
    expect(code, hub.output()).toBe(0);
    expect(hub.output()).not.toMatch(/hub \S+ ready/); // stopped before ready, as intended
    expect(hub.output()).toMatch(/stopped by SIGTERM before it was ready/);
    expect(anvilAlive(pid), `anvil ${pid} still running after the hub exited`).toBe(false);
  }, 180_000);
});
