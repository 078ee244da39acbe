// A fresh clone: the README's install step (npm ci, which `npm start` runs before it builds) must link
// `sosna` into node_modules/.bin, so that `npx sosna ...` works once the build is there. npm links a bin only
// when its file exists at install time; a bin in cli/dist/ (not built yet) was never linked.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { requireBuild, ROOT } from './procs.js';

const WORKSPACES = ['protocol', 'contracts', 'agent', 'hub', 'provisioning', 'cli'];

describe('fresh install (npm ci on a clean tree, then npx sosna)', () => {
  const tmp = tempDir('sosna-fresh-');
  afterAll(() => tmp.cleanup());

  it('links node_modules/.bin/sosna; it asks for the build while there is none and runs once built', { timeout: 600_000 }, () => {
    requireBuild();
    // what a clone holds: the tracked files (and new ones not ignored), no node_modules, no dist
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f && existsSync(join(ROOT, f)));
    for (const f of files) {
      mkdirSync(dirname(join(tmp.dir, f)), { recursive: true });
      cpSync(join(ROOT, f), join(tmp.dir, f), { verbatimSymlinks: true });
    }
    expect(existsSync(join(tmp.dir, 'node_modules'))).toBe(false);
    expect(existsSync(join(tmp.dir, 'cli', 'dist'))).toBe(false);

    execFileSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: tmp.dir, stdio: 'pipe', timeout: 580_000 });
    expect(existsSync(join(tmp.dir, 'node_modules', '.bin', 'sosna'))).toBe(true);

    const npx = (...args: string[]) => spawnSync('npx', ['--no', '--', 'sosna', ...args], { cwd: tmp.dir, encoding: 'utf8', timeout: 60_000 });
    const unbuilt = npx('--help');
    expect(unbuilt.stderr).toMatch(/not built yet; run npm run build \(or npm start\)/);
    expect(unbuilt.status).not.toBe(0);
    expect(unbuilt.stderr).not.toMatch(/could not determine executable/);

    for (const w of WORKSPACES) if (existsSync(join(ROOT, w, 'dist'))) cpSync(join(ROOT, w, 'dist'), join(tmp.dir, w, 'dist'), { recursive: true });
    const built = npx('--help');
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    expect(built.stdout).toMatch(/Usage: sosna/);
    const version = npx('--version');
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
