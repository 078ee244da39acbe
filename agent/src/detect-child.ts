// The daemon runs full hardware detection in a short-lived child process (`sosna-agent detect --json`):
// the detection libraries never load into the long-running agent, and a detector that hangs or crashes
// cannot take the agent with it. The child is killed at the time-out.
import { spawn } from 'node:child_process';
import type { Logger } from '@sosna/protocol';

export interface DetectedHardware {
  inventory: Record<string, unknown>;
  warnings: { source: string; message: string }[];
  durationMs: number;
  profiles?: { matches: { component: string; profileId: string; reason?: string }[] };
}

export function detectInChild(opts: { bundle: string; configFile: string | null; timeoutMs: number; log: Logger }): Promise<DetectedHardware | null> {
  const args = ['detect', '--json', '--patient', ...(opts.configFile ? ['--config', opts.configFile] : [])];
  return runChildJson<DetectedHardware>({ bundle: opts.bundle, args, timeoutMs: opts.timeoutMs, log: opts.log, what: 'hardware detection' });
}

/** Runs `node <bundle> <args>` and parses its stdout as JSON; null (with a log line) on any failure. */
export function runChildJson<T>(opts: { bundle: string; args: string[]; timeoutMs: number; log: Logger; what: string }): Promise<T | null> {
  return new Promise((resolve) => {
    // short-lived: without the daemon's malloc setting (first line of the bundle), which only pays off in a long run
    const env = { ...process.env };
    delete env.MALLOC_MMAP_THRESHOLD_;
    const child = spawn(process.execPath, [opts.bundle, ...opts.args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const timer = setTimeout(() => {
      opts.log.warn(`${opts.what} timed out; continuing without it`, { timeoutMs: opts.timeoutMs });
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (e) => opts.log.warn(`${opts.what} could not start`, { error: e.message }));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        if (code !== null) opts.log.warn(`${opts.what} failed`, { code, stderr: err.slice(-500) });
        return resolve(null);
      }
      try {
        resolve(JSON.parse(out) as T);
      } catch (e) {
        opts.log.warn(`${opts.what} printed no JSON`, { error: (e as Error).message });
        resolve(null);
      }
    });
  });
}

/** Runs `node <bundle> <args>` to completion, passing its log through; rejects with its last words on failure. */
export function runChild(opts: { bundle: string; args: string[]; timeoutMs: number; log: Logger; what: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, opts.bundle, ...opts.args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
      process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (e) => reject(new Error(`${opts.what} could not start: ${e.message}`)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const last = err.trim().split('\n').filter(Boolean).at(-1) ?? '';
      reject(new Error(`${opts.what} ${signal ? `was killed (${signal})` : `exited with ${code}`}${last ? `: ${last.replace(/^\d{4}-\d\d-\d\dT\S+\s+\S+\s+(\[\S+\]\s+)?/, '').replace(/^sosna-agent provision: /, '')}` : ''}`));
    });
  });
}
