import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@sosna/protocol';
import { loadUpdatedBundle } from './loader.js';
import { EMPTY_STATE, planSwitch } from './state.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const lines: string[] = [];
const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });

function stateDirWith(version: string, body: string | null, healthDeadlineSec = 60): string {
  const dir = mkdtempSync(join(tmpdir(), 'sosna-loader-'));
  dirs.push(dir);
  const bundles = join(dir, 'update', 'bundles');
  mkdirSync(bundles, { recursive: true });
  const file = `sosna-agent-${version}.mjs`;
  if (body !== null) writeFileSync(join(bundles, file), body);
  writeFileSync(join(bundles, 'sosna-agent-0.0.9.mjs.123.tmp'), 'leftover of an interrupted download');
  writeFileSync(join(dir, 'update', 'state.json'), JSON.stringify(planSwitch(EMPTY_STATE, { version, file, healthDeadlineSec })));
  return dir;
}
const readState = (dir: string) => JSON.parse(readFileSync(join(dir, 'update', 'state.json'), 'utf8'));

describe('loadUpdatedBundle', () => {
  it('imports the current bundle in this process, counting the trial start first and pruning leftovers', async () => {
    const dir = stateDirWith('0.2.0', '#!/usr/bin/env node\nexport async function agentMain(argv, boot) { return argv.length + boot.loader.version.length; }\n');
    const t0 = Date.now();
    const handoff = await loadUpdatedBundle({ stateDir: dir, installedVersion: '0.1.0', log, now: () => t0 });
    expect(handoff?.version).toBe('0.2.0');
    expect(await handoff!.main(['run'], { loader: { file: 'x', version: '0.1.0' } })).toBe(6);
    expect(readState(dir).trial).toMatchObject({ version: '0.2.0', attempts: 1, deadline: t0 + 60_000 });
    expect(existsSync(join(dir, 'update', 'bundles', 'sosna-agent-0.0.9.mjs.123.tmp'))).toBe(false);
  });

  it('ends a trial that is not healthy by its deadline (the timer runs in the loader)', async () => {
    const dir = stateDirWith('0.2.1', 'export async function agentMain() { return -1; }\n', 5);
    let now = Date.now();
    let fired: (version: string) => void = () => {};
    const missed = new Promise<string>((resolve) => (fired = resolve));
    // the clock moves 5 s per reading, so the 5 s deadline has passed when the timer is set: it fires at once
    const handoff = await loadUpdatedBundle({ stateDir: dir, installedVersion: '0.1.0', log, now: () => (now += 5_000), onDeadline: (v) => fired(v) });
    expect(handoff?.version).toBe('0.2.1');
    expect(await missed).toBe('0.2.1');
  });

  it('rolls back at once when the bundle file is missing', async () => {
    const dir = stateDirWith('0.2.2', null);
    expect(await loadUpdatedBundle({ stateDir: dir, installedVersion: '0.1.0', log })).toBeNull();
    const s = readState(dir);
    expect(s.current).toBeNull();
    expect(s.outcome).toMatchObject({ version: '0.2.2', state: 'rolled-back', reason: expect.stringContaining('is missing') });
  });

  it('a bundle that throws on import fails the start (counted: the next starts roll it back)', async () => {
    const dir = stateDirWith('0.2.3', "throw new Error('boom on start');\n");
    for (let i = 1; i <= 3; i++) {
      await expect(loadUpdatedBundle({ stateDir: dir, installedVersion: '0.1.0', log })).rejects.toThrow(/boom on start/);
      expect(readState(dir).trial.attempts).toBe(i);
    }
    expect(await loadUpdatedBundle({ stateDir: dir, installedVersion: '0.1.0', log })).toBeNull();
    expect(readState(dir).failed.map((f: { version: string }) => f.version)).toEqual(['0.2.3']);
  });
});
