// `sosna console shell DEVICE`, `console logs DEVICE`, `console jobs exec JOB -- CMD`, `console sessions`:
// remote access through the hub's `remote` service. The shell puts the local terminal in raw mode and sends
// what is typed as it comes, one input call at a time (keys typed meanwhile travel together in the next), so
// keystrokes arrive in order; the terminal's size goes along at the start and on every resize. The command
// exits with the remote shell's exit code.
import type { Command } from 'commander';
import { remoteService, SHELL_INPUT_MAX } from '@sosna/protocol';
import type { RemoteChunk } from '@sosna/protocol';
import type { ConsoleClient } from '@sosna/hub/console-client';
import { ago, table } from '../table.js';
import { connOptions } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';

/** Sessions may run for hours: the call lives as long as the hub lets the session live (hub/src/console/remote.ts). */
const SESSION_CALL_MS = 12 * 3600_000 + 60_000;

/** Serialises input calls: at most one in flight; what is typed meanwhile goes with the next. */
export class InputQueue {
  private buf = '';
  private busy = false;
  private closed = false;

  constructor(private readonly send: (data: string) => Promise<unknown>, private readonly onError: (err: Error) => void) {}

  push(data: string): void {
    if (this.closed) return;
    this.buf += data;
    void this.pump();
  }

  close(): void {
    this.closed = true;
    this.buf = '';
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.buf && !this.closed) {
        // never split a surrogate pair
        let n = Math.min(this.buf.length, SHELL_INPUT_MAX);
        if (n < this.buf.length && /[\uD800-\uDBFF]/.test(this.buf[n - 1]!)) n--;
        const piece = this.buf.slice(0, n);
        this.buf = this.buf.slice(n);
        await this.send(piece).catch((err: Error) => this.onError(err));
      }
    } finally {
      this.busy = false;
    }
  }
}

/** Runs a remote shell on `deviceId` over `c` with this process's terminal; resolves with its exit code. */
export async function remoteShell(c: ConsoleClient, deviceId: string, io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const { stdin, stdout, stderr } = io;
  const tty = stdin.isTTY && stdout.isTTY;
  let sessionId: string | null = null;
  let code = 1;
  let queue: InputQueue | null = null;
  const onData = (b: Buffer | string) => queue?.push(typeof b === 'string' ? b : b.toString('utf8'));
  const onResize = () => {
    if (sessionId) void c.call(remoteService, 'resize', { sessionId, cols: stdout.columns, rows: stdout.rows }).catch(() => {});
  };
  // piped input (not a terminal): its end is a Ctrl-D on an empty line, so `echo 'cmd' | sosna console shell D` ends.
  // A Ctrl-D that reaches the remote terminal before the shell switched it to raw mode is consumed by the line
  // discipline and never read: so it is sent again each second (up to 20 times) until the session ends.
  let eofTimer: NodeJS.Timeout | null = null;
  const onEnd = () => {
    let left = 20;
    queue?.push('\x04');
    eofTimer = setInterval(() => (left-- > 0 ? queue?.push('\x04') : clearInterval(eofTimer!)), 1000);
  };
  const attach = (id: string) => {
    sessionId = id;
    queue = new InputQueue((data) => c.call(remoteService, 'input', { sessionId: id, data }), (err) => stderr.write(`\r\nsosna: input not delivered: ${err.message}\r\n`));
    if (tty) stdin.setRawMode(true); // Ctrl-C, Ctrl-D, arrows go to the remote terminal as bytes
    stdin.on('data', onData);
    if (!tty) stdin.once('end', onEnd);
    stdin.resume();
    if (tty) stdout.on('resize', onResize);
  };
  // the terminal closed or the process was told to stop: cancel the call, so the hub and the device end the
  // session now rather than at the idle time-out
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  for (const sig of ['SIGHUP', 'SIGTERM'] as const) process.once(sig, onSignal);
  try {
    await c.call(
      remoteService,
      'shell',
      { deviceId, cols: tty ? stdout.columns : 80, rows: tty ? stdout.rows : 24 },
      {
        timeoutMs: SESSION_CALL_MS,
        signal: ac.signal,
        onChunk: (chunk) => {
          const ch = chunk as RemoteChunk;
          if (ch.kind === 'started') attach(ch.sessionId);
          else if (ch.kind === 'out') stdout.write(ch.data);
          else if (ch.kind === 'dropped') stderr.write(`\r\n[${ch.bytes} bytes of output dropped]\r\n`);
          else if (ch.kind === 'exit') {
            code = ch.code;
            if (ch.reason) stderr.write(`\r\nsosna: remote shell ended: ${ch.reason}\r\n`);
          }
        },
      },
    );
  } catch (err) {
    if (!ac.signal.aborted) throw err;
    code = 129; // hung up
  } finally {
    for (const sig of ['SIGHUP', 'SIGTERM'] as const) process.off(sig, onSignal);
    (queue as InputQueue | null)?.close();
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    if (eofTimer) clearInterval(eofTimer);
    if (tty) {
      stdout.off('resize', onResize);
      stdin.setRawMode(false);
    }
    stdin.pause();
  }
  return code;
}

export interface RemoteOptions {
  /** The interactive console shell runs the same tree; a remote shell inside it is refused (one terminal, one reader). */
  inRepl?: boolean;
  /** `console shell` with no device: the interactive console shell. */
  repl?: (flags: ConnFlags) => Promise<void>;
}

export function registerRemote(consoleCmd: Command, session: ConsoleSession, o: RemoteOptions = {}): void {
  connOptions(consoleCmd.command('shell [device]').description('a shell on a device (admins; the device owner must allow it: remoteShell.enabled); no device: the interactive console'))
    .action(async (device: string | undefined, flags: ConnFlags) => {
      if (!device) {
        if (o.inRepl || !o.repl) throw new Error('this is the interactive console already; give a device: shell DEVICE (from your terminal)');
        return o.repl(flags);
      }
      if (o.inRepl) throw new Error(`run the remote shell from your terminal: sosna console shell ${device}`);
      const code = await session.withConsole(flags, (c) => remoteShell(c, device));
      process.exitCode = code;
    });

  connOptions(consoleCmd.command('logs <device>').description("a device agent's log (journald on the image); -f follows it"))
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .option('-n, --lines <n>', 'how many of the last lines first', '100')
    .action(async (device: string, flags: ConnFlags & { follow?: boolean; lines: string }) => {
      const lines = Number(flags.lines);
      if (!Number.isInteger(lines) || lines < 0 || lines > 10_000) throw new Error(`--lines ${JSON.stringify(flags.lines)}: use a whole number from 0 to 10000`);
      await session.withConsole(flags, (c) =>
        c.call(remoteService, 'logs', { deviceId: device, lines, follow: !!flags.follow }, {
          ...(flags.follow ? { timeoutMs: SESSION_CALL_MS } : {}),
          onChunk: (chunk) => {
            const ch = chunk as { lines: string[]; dropped: number };
            if (ch.lines.length) process.stdout.write(`${ch.lines.join('\n')}\n`);
            if (ch.dropped) process.stderr.write(`[${ch.dropped} bytes of log dropped over the rate limit (jobs.logBytesPerSec)]\n`);
          },
        }),
      );
    });

  connOptions(consoleCmd.command('sessions').description('recorded remote shell and exec sessions: who, device, start, duration, exit (admins)'))
    .option('--device <device>', 'only this device')
    .option('--limit <n>', 'how many, newest first', '50')
    .option('--json', 'machine-readable output')
    .action(async (flags: ConnFlags & { device?: string; limit: string; json?: boolean }) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new Error(`--limit ${JSON.stringify(flags.limit)}: use a whole number from 1 to 1000`);
      const { sessions } = await session.withConsole(flags, (c) => c.call(remoteService, 'sessions', { deviceId: flags.device, limit }));
      if (flags.json) return void process.stdout.write(`${JSON.stringify(sessions, null, 2)}\n`);
      if (!sessions.length) return void process.stdout.write('no remote sessions recorded\n');
      const rows = sessions.map((s) => [
        s.id, s.kind, s.operator, s.deviceId, new Date(s.startedAt).toISOString(),
        s.endedAt === null ? `open (${ago(s.startedAt)})` : `${Math.round((s.endedAt - s.startedAt) / 1000)} s`,
        s.exitCode === null ? '-' : String(s.exitCode), [s.jobId, s.command].filter(Boolean).join(': ') || '-', s.reason ?? '-',
      ]);
      process.stdout.write(`${table(['SESSION', 'KIND', 'OPERATOR', 'DEVICE', 'STARTED', 'DURATION', 'EXIT', 'JOB/COMMAND', 'REASON'], rows)}\n`);
    });

  const jobs = consoleCmd.commands.find((c) => c.name() === 'jobs');
  if (jobs) {
    connOptions(jobs.command('exec <job>').description("run a command in a running job's container: sosna console jobs exec JOB -- CMD... (its submitter or an admin)"), '--call-timeout')
      .argument('<command...>', 'command and arguments (after --)')
      .option('--replica <n>', 'which replica (default: the first running one)')
      .action(async (job: string, command: string[], flags: ConnFlags & { replica?: string }) => {
        const replica = flags.replica === undefined ? undefined : Number(flags.replica);
        if (replica !== undefined && (!Number.isInteger(replica) || replica < 0)) throw new Error(`--replica ${JSON.stringify(flags.replica)}: use a replica number (0, 1, ...)`);
        let code = 1;
        await session.withConsole(flags, (c) =>
          c.call(remoteService, 'exec', { jobId: job, cmd: command, replica }, {
            timeoutMs: SESSION_CALL_MS,
            onChunk: (chunk) => {
              const ch = chunk as RemoteChunk;
              if (ch.kind === 'out') (ch.stream === 'stderr' ? process.stderr : process.stdout).write(ch.data);
              else if (ch.kind === 'dropped') process.stderr.write(`[${ch.bytes} bytes of output dropped]\n`);
              else if (ch.kind === 'exit') code = ch.code;
            },
          }),
        );
        process.exitCode = code;
      });
  }
}
