import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, rebootCommand, systemdRuns } from './reboot.js';

describe('reboot: which command', () => {
  it('takes the configured argv, else systemctl reboot under systemd, else reboot', () => {
    expect(rebootCommand(['touch', '/tmp/m'], { systemd: true })).toEqual(['touch', '/tmp/m']);
    expect(rebootCommand(undefined, { systemd: true })).toEqual(['systemctl', 'reboot']);
    expect(rebootCommand(undefined, { systemd: false })).toEqual(['reboot']);
  });

  it('finds systemd by /run/systemd/system and commands on PATH', () => {
    const root = mkdtempSync(join(tmpdir(), 'sosna-reboot-'));
    try {
      expect(systemdRuns(root)).toBe(false);
      mkdirSync(join(root, 'run', 'systemd', 'system'), { recursive: true });
      expect(systemdRuns(root)).toBe(true);
      const bin = join(root, 'bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'reboot'), '#!/bin/sh\n');
      chmodSync(join(bin, 'reboot'), 0o755);
      expect(findExecutable('reboot', `/nonexistent:${bin}`)).toBe(join(bin, 'reboot'));
      expect(findExecutable('systemctl', bin)).toBeNull();
      expect(findExecutable(join(bin, 'reboot'), '')).toBe(join(bin, 'reboot'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
