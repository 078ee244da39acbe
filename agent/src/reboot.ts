// `sosna console devices reboot`: the agent answers the hub first, then runs the reboot command. Which
// command is planned (pure: rebootCommand) from the config and whether systemd runs the machine; before
// answering `ok` the agent checks that the command can be found, so a missing one is reported, not lost.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** The argv to run: the configured one, else `systemctl reboot` under systemd, else `reboot`. Pure. */
export function rebootCommand(configured: string[] | undefined, host: { systemd: boolean }): string[] {
  if (configured?.length) return configured;
  return host.systemd ? ['systemctl', 'reboot'] : ['reboot'];
}

/** systemd's own test (sd_booted): /run/systemd/system exists. */
export function systemdRuns(root = '/'): boolean {
  return existsSync(join(root, 'run', 'systemd', 'system'));
}

/** The file a command name runs (absolute or through PATH), or null. */
export function findExecutable(name: string, pathVar = process.env.PATH ?? ''): string | null {
  const candidates = name.includes('/') ? [name] : pathVar.split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    if (!isAbsolute(c) && !name.includes('/')) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return null;
}

/** After `delayMs` (time for the answer to reach the hub), starts the command detached from the agent. */
export function runLater(argv: string[], delayMs: number, onError: (msg: string) => void): void {
  const t = setTimeout(() => {
    try {
      const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore' });
      child.once('error', (err) => onError(`${argv.join(' ')}: ${err.message}`));
      child.once('exit', (code, signal) => {
        if (code !== 0) onError(`${argv.join(' ')} exited with ${code ?? signal}`);
      });
      child.unref();
    } catch (err) {
      onError(`${argv.join(' ')}: ${(err as Error).message}`);
    }
  }, delayMs);
  t.unref();
}
