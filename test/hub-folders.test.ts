// The hub's folders import one way (issue 13): scripts/hub-folder-imports.mjs reads the import lines of
// hub/src and fails on two folders importing each other or a longer cycle between folders.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, '..', 'scripts', 'hub-folder-imports.mjs');

describe('hub/src folders', () => {
  it('import one way: no pair of folders imports each other, no longer cycle', () => {
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/ 0 folder pairs importing each other, 0 longer cycle\(s\)/);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
