// `npm start` (scripts/up.sh) says what each step does before it starts it: a first run installs and builds
// for minutes, and printed nothing until the banner. Run here on a copy of the script with fake `npm` and
// `node` first on PATH (they only print what they were asked), in a folder without node_modules.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './procs.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('sosna-upsh-');
afterAll(() => tmp.cleanup());

describe('npm start (scripts/up.sh)', () => {
  it('announces the install, the build and the start, each before it runs', () => {
    const repo = join(tmp.dir, 'repo');
    const bin = join(tmp.dir, 'bin');
    mkdirSync(join(repo, 'scripts'), { recursive: true });
    mkdirSync(bin);
    copyFileSync(join(ROOT, 'scripts', 'up.sh'), join(repo, 'scripts', 'up.sh'));
    writeFileSync(join(repo, 'package-lock.json'), '{}');
    for (const tool of ['npm', 'node']) {
      writeFileSync(join(bin, tool), `#!/bin/sh\necho "ran ${tool} $*"\n`);
      chmodSync(join(bin, tool), 0o755);
    }
    const out = execFileSync('bash', [join(repo, 'scripts', 'up.sh'), '--dir', 'x'], { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` }, encoding: 'utf8' });
    const lines = out.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^== installing dependencies \(npm ci, first run only, ~1-2 min/),
      'ran npm ci --no-audit --no-fund',
      '== building (npm run build)',
      'ran node scripts/build.mjs',
      '== starting a hub and an agent for this machine (sosna up --dir x)',
      'ran node cli/bin/sosna.js up --dir x',
    ]);
  });
});
