// Runs an external tool with a hard time-out. A missing tool is a normal outcome ("none found"), not an
// error; a hung tool is killed (SIGKILL) at its time-out and we stop waiting for it even if the kernel
// keeps it alive (a process stuck in uninterruptible sleep on a dying GPU never exits).
import { spawn } from 'node:child_process';

export type ExecStatus = 'ok' | 'exit' | 'missing' | 'timeout' | 'error';

export interface ExecResult {
  /** `ok`: exit code 0; `exit`: non-zero exit; `missing`: not installed; `timeout`: killed; `error`: spawn failed. */
  status: ExecStatus;
  stdout: string;
  stderr: string;
  exitCode: number | null;
  /** Set for `error` and `timeout`. */
  message?: string;
  durationMs: number;
}

export interface ExecOptions {
  timeoutMs: number;
  /** Output beyond this many bytes per stream is dropped (a runaway tool must not fill memory). */
  maxOutputBytes?: number;
  env?: NodeJS.ProcessEnv;
}

/** The signature detectors depend on, so tests can pass a fake. */
export type ExecFn = (file: string, args: readonly string[], opts: ExecOptions) => Promise<ExecResult>;

const DEFAULT_MAX_OUTPUT = 4 * 1024 * 1024;

export const runCommand: ExecFn = (file, args, opts) => {
  const started = Date.now();
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  return new Promise<ExecResult>((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (status: ExecStatus, exitCode: number | null, message?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const result: ExecResult = {
        status,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode,
        durationMs: Date.now() - started,
      };
      if (message !== undefined) result.message = message;
      resolve(result);
    };

    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, [...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: opts.env ?? { ...process.env, LC_ALL: 'C' },
        // Own process group, so a time-out kills wrapper scripts and their children together.
        detached: process.platform !== 'win32',
        windowsHide: true,
      });
    } catch (e) {
      finish('error', null, e instanceof Error ? e.message : String(e));
      return;
    }

    timer = setTimeout(() => {
      killTree(child);
      finish('timeout', null, `killed after ${opts.timeoutMs} ms`);
    }, opts.timeoutMs);

    child.stdout?.on('data', (chunk: Buffer) => {
      if (outBytes < max) out.push(chunk.subarray(0, max - outBytes));
      outBytes += chunk.length;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (errBytes < max) err.push(chunk.subarray(0, max - errBytes));
      errBytes += chunk.length;
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') finish('missing', null, `${file} not found`);
      else if (e.code === 'EACCES') finish('missing', null, `${file} not executable`);
      else finish('error', null, e.message);
    });
    child.on('close', (code) => {
      finish(code === 0 ? 'ok' : 'exit', code);
    });
  });
};

function killTree(child: ReturnType<typeof spawn>): void {
  if (child.pid !== undefined && process.platform !== 'win32') {
    try {
      process.kill(-child.pid, 'SIGKILL');
      return;
    } catch {
      // fall back to the child alone
    }
  }
  try {
    child.kill('SIGKILL');
  } catch {
    // already gone
  }
}
