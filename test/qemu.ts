// Boots a disk image in qemu for tests: UEFI firmware (OVMF) from Debian's ovmf package, TCG emulation
// (this machine's /dev/kvm does not boot standard kernels), user networking (the host's loopback is
// 10.0.2.2 for the guest). The serial console is captured; the process is ended by its pid.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const OVMF = [
  ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'],
  ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
] as const;

export function ovmf(): { code: string; vars: string } | null {
  const found = OVMF.find(([c, v]) => existsSync(c) && existsSync(v));
  return found ? { code: found[0], vars: found[1] } : null;
}

/**
 * How long a guest may take. A TCG guest's speed follows the host's load (on a busy 2-core machine a boot
 * takes several times as long as on a quiet one), so a fixed deadline either fails a healthy guest on a busy
 * machine or waits for ever on a hung one. Instead a guest is given up on when its console has printed
 * nothing for `stallMs` (it hangs), or, as a last resort, after `capMs` in all.
 */
export interface GuestPatience {
  stallMs?: number;
  capMs?: number;
}
export const GUEST_STALL_MS = 240_000;
export const GUEST_CAP_MS = 1_500_000;
/** A vitest time-out for a test that waits on a guest: above the cap, so the guest's own error is what shows. */
export const GUEST_TEST_TIMEOUT_MS = GUEST_CAP_MS + 300_000;

export interface Guest {
  child: ChildProcess;
  startedAt: number;
  output(): string;
  /** Resolves with the time (ms after start) when the console printed a match; fails when the guest stalls or exits. */
  waitFor(pattern: RegExp, patience?: GuestPatience): Promise<number>;
  /** Polls `check` (e.g. the hub's device list) until it returns a value, while the guest makes progress. */
  until<T>(what: string, check: () => T | Promise<T>, patience?: GuestPatience & { everyMs?: number }): Promise<NonNullable<T>>;
  stop(): Promise<void>;
}

/**
 * `firmware`: 'uefi' (default: OVMF in pflash) or 'bios' (no pflash: qemu's own SeaBIOS, which boots the
 * MBR's boot code, i.e. legacy BIOS boot; its console shows "SeaBIOS" and GRUB's "GRUB loading.").
 */
export function bootImage(image: string, scratch: string, opts: { memoryMiB?: number; firmware?: 'uefi' | 'bios' } = {}): Guest {
  const firmware: string[] = [];
  if ((opts.firmware ?? 'uefi') === 'uefi') {
    const fw = ovmf();
    if (!fw) throw new Error('OVMF firmware is missing: bash scripts/test-deps/image.sh (apt-get install ovmf)');
    const vars = join(scratch, `OVMF_VARS-${Date.now()}.fd`);
    copyFileSync(fw.vars, vars);
    firmware.push('-drive', `if=pflash,format=raw,readonly=on,file=${fw.code}`, '-drive', `if=pflash,format=raw,file=${vars}`);
  }
  const args = [
    '-accel', 'tcg', '-smp', '2', '-m', String(opts.memoryMiB ?? 1024),
    '-nographic', '-no-reboot', '-monitor', 'none', '-serial', 'stdio',
    ...firmware,
    '-drive', `file=${image},format=raw,if=virtio`,
    '-nic', 'user,model=virtio-net-pci',
  ];
  return runGuest('qemu-system-x86_64', args);
}

/** Starts a qemu binary with `args`, captures its serial console, and ends it by its pid (also if this test process ends first). */
export function runGuest(binary: string, args: string[]): Guest {
  const startedAt = Date.now();
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let lastOutputAt = startedAt;
  const onData = (d: Buffer) => {
    out += d.toString('latin1');
    lastOutputAt = Date.now();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  // if the test process itself ends (a crash, a failed hook), qemu must not outlive it
  const killOnExit = () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  };
  process.once('exit', killOnExit);
  const exited = new Promise<void>((r) => child.once('exit', () => (process.off('exit', killOnExit), r())));
  const guest: Guest = {
    child,
    startedAt,
    output: () => out,
    async waitFor(pattern, patience) {
      await guest.until(`${pattern} on the console`, () => pattern.test(out), { ...patience, everyMs: 100 });
      return Date.now() - startedAt;
    },
    async until(what, check, patience = {}) {
      const stallMs = patience.stallMs ?? GUEST_STALL_MS;
      const capMs = patience.capMs ?? GUEST_CAP_MS;
      const since = Date.now();
      let last: unknown;
      for (;;) {
        try {
          const v = await check();
          if (v) return v as NonNullable<Awaited<typeof v>>;
        } catch (err) {
          last = err;
        }
        const why =
          child.exitCode !== null || child.signalCode !== null ? 'qemu exited'
          : Date.now() - lastOutputAt > stallMs ? `the guest's console printed nothing for ${stallMs} ms`
          : Date.now() - since > capMs ? `still not after ${capMs} ms`
          : null;
        if (why) throw new Error(`waiting for ${what}: ${why}${last ? ` (last error: ${String(last)})` : ''}; ${((Date.now() - startedAt) / 1000).toFixed(0)} s after qemu started; console:\n${out.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, patience.everyMs ?? 1000));
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      process.kill(child.pid, 'SIGTERM');
      const t = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  return guest;
}
