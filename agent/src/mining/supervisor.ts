// The miner process: spawned from the owner's argv (never a shell), stopped with SIGTERM and, after a grace
// period, SIGKILL of its whole process group; restarted with backoff when it exits on its own. Its output
// is kept as the last few lines for the log and the dashboard, never unbounded.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '@sosna/protocol';
import { backoffDelay } from '@sosna/protocol';

export interface SupervisorOptions {
  argv: string[];
  env?: Record<string, string>;
  /** After SIGTERM, how long before SIGKILL. */
  graceMs: number;
  log: Logger;
  /** Restart backoff bounds after an unexpected exit. */
  restartMinMs?: number;
  restartMaxMs?: number;
  onExit?: (code: number | null, signal: NodeJS.Signals | null, expected: boolean) => void;
}

export type MinerState = 'stopped' | 'starting' | 'running' | 'stopping' | 'backoff';

export class MinerSupervisor {
  private child: ChildProcess | null = null;
  private wanted = false;
  private restarts = 0;
  private timer: NodeJS.Timeout | null = null;
  private exited: Promise<void> = Promise.resolve();
  private tail: string[] = [];
  state: MinerState = 'stopped';
  /** When the current process started (ms), null when none runs. */
  startedAt: number | null = null;

  constructor(private readonly opts: SupervisorOptions) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** The miner's last output lines (at most 50). */
  lastOutput(): string[] {
    return [...this.tail];
  }

  /** Starts the miner (with these arguments, when given) unless it runs already. */
  start(argv?: string[]): void {
    if (argv) this.opts.argv = argv;
    this.wanted = true;
    if (this.child || this.timer) return;
    this.spawnNow();
  }

  private spawnNow(): void {
    this.timer = null;
    if (!this.wanted) return;
    const [cmd, ...args] = this.opts.argv;
    this.state = 'starting';
    const child = spawn(cmd!, args, { env: { ...process.env, ...this.opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    const keep = (buf: Buffer) => {
      for (const line of buf.toString('utf8').split('\n')) if (line.trim()) this.tail.push(line.slice(0, 512));
      if (this.tail.length > 50) this.tail.splice(0, this.tail.length - 50);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let resolveExit!: () => void;
    this.exited = new Promise((r) => (resolveExit = r));
    child.once('spawn', () => {
      this.state = 'running';
      this.startedAt = Date.now();
      this.opts.log.info('miner started', { pid: child.pid, command: cmd });
    });
    const done = (code: number | null, signal: NodeJS.Signals | null, err?: Error) => {
      if (this.child !== child) return;
      this.child = null;
      this.startedAt = null;
      const expected = !this.wanted;
      this.opts.onExit?.(code, signal, expected);
      if (expected) {
        this.state = 'stopped';
        this.opts.log.info('miner stopped', { code, signal });
      } else {
        const delay = backoffDelay(this.restarts++, this.opts.restartMinMs ?? 1000, this.opts.restartMaxMs ?? 60_000);
        this.state = 'backoff';
        this.opts.log.warn('miner exited; restarting', { code, signal, error: err?.message, retryInMs: delay, output: this.tail.slice(-5) });
        this.timer = setTimeout(() => this.spawnNow(), delay);
        this.timer.unref();
      }
      resolveExit();
    };
    child.once('error', (err) => done(null, null, err));
    child.once('exit', (code, signal) => done(code, signal));
  }

  /** A restart the agent asks for (e.g. the watchdog): stop, then start again at once. */
  async restart(argv?: string[]): Promise<void> {
    await this.stop();
    this.restarts = 0;
    this.start(argv);
  }

  /** SIGTERM to the miner's process group, SIGKILL after the grace period; resolves when it has exited. */
  async stop(): Promise<void> {
    this.wanted = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const child = this.child;
    if (!child) {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    const signal = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig); // the group: a miner's own children go too
      } catch {
        child.kill(sig);
      }
    };
    signal('SIGTERM');
    const kill = setTimeout(() => {
      this.opts.log.warn('miner ignored SIGTERM; killing it', { pid: child.pid, graceMs: this.opts.graceMs });
      signal('SIGKILL');
    }, this.opts.graceMs);
    await this.exited;
    clearTimeout(kill);
  }
}
