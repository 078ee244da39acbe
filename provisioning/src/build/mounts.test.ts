import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanLeftoverBuilds, OWNER_FILE, parseMountinfo, planLeftoverCleanup, planUnmounts, unmountBelowSync } from './mounts.js';

const W = '/tmp/out/.build-full-x86_64-AbC123';
const mountinfo = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  `50 22 0:5 / ${W}/rootfs/proc rw - proc proc rw`,
  `51 50 0:6 / ${W}/rootfs/proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw`,
  `52 22 0:7 / ${W}/rootfs/dev/pts rw - devpts devpts rw`,
  `53 22 0:8 / ${W}/rootfs/sys rw - sysfs sysfs rw`,
  '54 22 0:9 / /tmp/out/.build-full-x86_64-Live99/rootfs/proc rw - proc proc rw',
  '55 22 0:10 / /tmp/with\\040space rw - tmpfs tmpfs rw',
  '56 22 0:11 / /tmp/out/.build-full-x86_64-AbC1234/x rw - tmpfs tmpfs rw',
].join('\n');

describe('the mount cleanup planner', () => {
  it('reads mount points from mountinfo, escapes decoded', () => {
    const m = parseMountinfo(mountinfo);
    expect(m).toContain(`${W}/rootfs/proc`);
    expect(m).toContain('/tmp/with space');
  });

  it('unmounts what is below the folder, deepest first, and nothing beside it', () => {
    expect(planUnmounts(parseMountinfo(mountinfo), W)).toEqual([
      `${W}/rootfs/proc/sys/fs/binfmt_misc`,
      `${W}/rootfs/dev/pts`,
      `${W}/rootfs/proc`,
      `${W}/rootfs/sys`,
    ]);
    expect(planUnmounts(parseMountinfo(mountinfo), `${W}/`)).toHaveLength(4);
    expect(planUnmounts(parseMountinfo(mountinfo), '/tmp/out/.build-full-x86_64-AbC12')).toEqual([]); // a prefix is not a parent
  });

  it('leftovers: only the work folders of builds no longer running; their mounts first, then the folders', () => {
    const stale = new Set([W, '/tmp/out/.build-smoke-arm64-ZZzz11']);
    const plan = planLeftoverCleanup(parseMountinfo(mountinfo), ['/tmp/out/.build-smoke-arm64-ZZzz11', '/tmp/out/sosna-full-x86_64.img', '/tmp/out/.build-full-x86_64-Live99'], (d) => stale.has(d));
    expect(plan.remove).toEqual([W, '/tmp/out/.build-smoke-arm64-ZZzz11']);
    expect(plan.unmount).toEqual([`${W}/rootfs/proc/sys/fs/binfmt_misc`, `${W}/rootfs/dev/pts`, `${W}/rootfs/proc`, `${W}/rootfs/sys`]);
  });
});

// A real mount: as root, a tmpfs in a "killed" build's rootfs is unmounted and its folder removed by the next build's cleanup.
const canMount = process.getuid?.() === 0 && process.platform === 'linux';
describe.skipIf(!canMount)('leftovers of a killed build, with a real mount', () => {
  const out = mkdtempSync(join(tmpdir(), 'sosna-mounts-'));
  afterAll(() => {
    unmountBelowSync(out);
    rmSync(out, { recursive: true, force: true });
  });

  it('a killed build leaves /proc-like mounts; the next build unmounts them and removes the folder', () => {
    const work = join(out, '.build-full-x86_64-Kill3d');
    const proc = join(work, 'rootfs', 'proc');
    mkdirSync(join(proc), { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '']).pid!; // a process that has ended: the "killed" build
    writeFileSync(join(work, OWNER_FILE), String(dead));
    try {
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', proc]);
    } catch (err) {
      return void console.warn(`cannot mount here (${(err as Error).message.split('\n')[0]}): skipped`);
    }
    const inner = join(proc, 'sys', 'fs');
    mkdirSync(inner, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', inner]);
    writeFileSync(join(inner, 'big'), 'x'.repeat(1024));
    expect(() => rmdirSync(inner)).toThrow(/EBUSY/); // what the old cleanup ran into
    const live = join(out, '.build-full-x86_64-Al1ve0'); // a build still running (this process) is left alone
    mkdirSync(live);
    writeFileSync(join(live, OWNER_FILE), String(process.pid));

    const removed = cleanLeftoverBuilds([work, live, join(out, 'other.img')]);
    expect(removed).toEqual([work]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(work);
    expect(existsSync(work)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });
});
