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
  return new Promise((resolve) => {
    const args = [opts.bundle, 'detect', '--json', ...(opts.configFile ? ['--config', opts.configFile] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const timer = setTimeout(() => {
      opts.log.warn('hardware detection timed out; continuing without it', { timeoutMs: opts.timeoutMs });
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (e) => opts.log.warn('hardware detection could not start', { error: e.message }));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        if (code !== null) opts.log.warn('hardware detection failed', { code, stderr: err.slice(-500) });
        return resolve(null);
      }
      try {
        resolve(JSON.parse(out) as DetectedHardware);
      } catch (e) {
        opts.log.warn('hardware detection printed no JSON', { error: (e as Error).message });
        resolve(null);
      }
    });
  });
}
