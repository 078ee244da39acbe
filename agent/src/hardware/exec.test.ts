import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from './exec.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sosna-exec-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

/** Running (a killed process may linger as a zombie until its new parent reaps it: that counts as dead). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/u.test(stat);
  } catch {
    return false;
  }
}

describe('runCommand', () => {
  it('returns stdout and status ok for exit code 0', async () => {
    const r = await runCommand(await script('ok.sh', 'echo hello; echo oops >&2'), [], { timeoutMs: 5000 });
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('hello\n');
    expect(r.stderr).toBe('oops\n');
  });

  it('reports a non-zero exit as exit with its code', async () => {
    const r = await runCommand(await script('fail.sh', 'echo partial; exit 3'), [], { timeoutMs: 5000 });
    expect(r).toMatchObject({ status: 'exit', exitCode: 3, stdout: 'partial\n' });
  });

  it('reports a missing tool as missing, not as an error', async () => {
    const r = await runCommand(join(dir, 'no-such-tool'), [], { timeoutMs: 5000 });
    expect(r.status).toBe('missing');
  });

  it('kills a hung tool and its children at the time-out', async () => {
    const pidFile = join(dir, 'child.pid');
    const hung = await script('hung.sh', `sleep 30 & echo $! > ${pidFile}; wait`);
    // the status says the time-out fired (the tool itself would run 30 s); how fast is not asserted here
    const r = await runCommand(hung, [], { timeoutMs: 300 });
    expect(r.status).toBe('timeout');
    const childPid = Number((await readFile(pidFile, 'utf8')).trim());
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(alive(childPid)).toBe(false);
  });

  it('caps the output it keeps', async () => {
    const r = await runCommand(await script('loud.sh', 'head -c 100000 /dev/zero'), [], { timeoutMs: 5000, maxOutputBytes: 1000 });
    expect(r.stdout.length).toBe(1000);
  });
});
