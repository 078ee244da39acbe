// A pseudo-terminal for the remote shell without a native module: util-linux `script` owns the PTY (it is
// on every Debian-based image, `bsdutils`), the agent talks to it through pipes. The start size is set by
// `stty` inside the PTY before the shell starts; a resize runs `stty -F /dev/pts/N` on the shell's terminal,
// which also sends SIGWINCH to its foreground process group. Why not node-pty: it needs a native build per
// architecture (x64 and arm64 images, and the OTA bundle is one JavaScript file that cannot carry it).
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** A POSIX shell word. Pure. */
export const shellQuote = (s: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The argv that starts `command` on a new PTY of the given size. Pure. */
export function scriptArgv(command: string[], cols: number, rows: number): string[] {
  const inner = `stty cols ${cols} rows ${rows} 2>/dev/null; exec ${command.map(shellQuote).join(' ')}`;
  return ['script', '-qfec', inner, '/dev/null'];
}

/** The default shell: bash where there is one, else sh, as a login shell. */
export function defaultShell(exists: (p: string) => boolean = existsSync): string[] {
  return exists('/bin/bash') ? ['/bin/bash', '-l'] : ['/bin/sh', '-l'];
}

/** Whether `script` is here (the remote shell needs it). */
export function findScript(path = process.env.PATH ?? '/usr/bin:/bin', exists: (p: string) => boolean = existsSync): string | null {
  for (const dir of path.split(':')) if (dir && exists(`${dir}/script`)) return `${dir}/script`;
  return null;
}

export interface Pty {
  readonly pid: number;
  write(data: string): boolean;
  /** Bytes written but not yet taken by the PTY. */
  readonly pendingInput: number;
  resize(cols: number, rows: number): Promise<void>;
  pause(): void;
  resume(): void;
  /** Hangs up the shell; `now`: also kills script at once (the agent is exiting and cannot wait). */
  kill(now?: boolean): void;
  /** Resolves with the shell's exit code (128 + n for a signal). */
  readonly exited: Promise<number>;
}

export function spawnPty(o: { script: string; command: string[]; cols: number; rows: number; cwd?: string; env?: Record<string, string | undefined>; onData: (text: string) => void }): Pty {
  const [, ...args] = scriptArgv(o.command, o.cols, o.rows);
  const env = { ...process.env, TERM: 'xterm-256color', ...o.env, SHELL: '/bin/sh' }; // script runs its argument with $SHELL -c
  const child: ChildProcess = spawn(o.script, args, { cwd: o.cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const decoder = new StringDecoder('utf8');
  child.stdout!.on('data', (b: Buffer) => {
    const t = decoder.write(b);
    if (t) o.onData(t);
  });
  child.stderr!.on('data', (b: Buffer) => o.onData(b.toString('utf8')));
  child.stdin!.on('error', () => {}); // the shell exited while input was on its way
  const exited = new Promise<number>((resolve) => {
    child.once('error', () => resolve(127));
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1)));
  });
  // the shell is script's child, in its own session on the slave side of the PTY
  const shells = (): number[] => {
    try {
      return readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return []; // not started yet, or gone
    }
  };
  let tty: string | null = null;
  const findTty = (): string | null => {
    if (tty) return tty;
    for (const pid of shells()) {
      try {
        const t = readlinkSync(`/proc/${pid}/fd/0`);
        if (t.startsWith('/dev/pts/')) return (tty = t);
      } catch {
        // gone
      }
    }
    return null;
  };
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig); // the process group
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // gone
      }
    }
  };
  return {
    pid: child.pid ?? -1,
    write: (data) => child.stdin!.write(data),
    get pendingInput() {
      return child.stdin!.writableLength;
    },
    resize: (cols, rows) =>
      new Promise<void>((resolve, reject) => {
        const t = findTty();
        if (!t) return reject(new Error('the shell has no terminal yet'));
        execFile('stty', ['-F', t, 'cols', String(cols), 'rows', String(rows)], (err) => (err ? reject(err) : resolve()));
      }),
    pause: () => child.stdout!.pause(),
    resume: () => child.stdout!.resume(),
    kill: (now = false) => {
      // script itself outlives a SIGHUP: hang up the shell (its foreground job goes with it), and script
      // then exits; whatever is left after 3 s is killed
      for (const pid of shells()) signal(pid, 'SIGHUP');
      if (now) return signal(child.pid!, 'SIGKILL');
      child.stdin!.end();
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) signal(child.pid!, 'SIGKILL');
      }, 3000).unref();
    },
    exited,
  };
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
const signalNumber = (s: string) => SIGNALS[s];
