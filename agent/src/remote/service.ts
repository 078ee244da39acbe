// The agent's `remote` service: an interactive shell on a PTY (only with remoteShell.enabled in the device's
// config, which a hub can never set), a command in a job's container (docker exec), and the agent's own log.
// Output of all three is bounded by a token bucket of jobs.logBytesPerSec, the bound of job output: a shell's
// or exec's output is paused (the PTY or the pipe fills and the program waits), log lines over the rate are
// dropped and counted.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { deviceRemoteService, SosnaError } from '@sosna/protocol';
import type { DeviceConfig, Handlers, LogLinesChunk, Logger, RemoteChunk } from '@sosna/protocol';
import type { Engine } from '../jobs/index.js';
import { Demuxer } from '../jobs/demux.js';
import type { LogTail } from '../dashboard/logtail.js';
import { ByteBucket } from './rate.js';
import { defaultShell, findScript, spawnPty } from './pty.js';
import type { Pty } from './pty.js';

export interface RemoteDeps {
  deviceId(): string;
  config: DeviceConfig['remoteShell'];
  /** Bytes per second of output (jobs.logBytesPerSec). */
  bytesPerSec: number;
  /** Where the owner turns the shell on, for the refusal's message. */
  configPath: string | null;
  log: Logger;
  engine: Engine | null;
  containerOf(runId: string): { containerId: string; state: string } | null;
  logTail: LogTail | null;
  /** `journalctl -u sosna-agent` when the agent runs under systemd with a journal; null: the in-memory tail. */
  journal?: { command: string[] } | null;
  now?: () => number;
}

/** journald is the agent's log when systemd started it (INVOCATION_ID) and journalctl is here. */
export function journalSource(env: Record<string, string | undefined> = process.env, exists: (p: string) => boolean = existsSync): { command: string[] } | null {
  if (!env.INVOCATION_ID || !exists('/run/systemd/journal/socket')) return null;
  const bin = ['/usr/bin/journalctl', '/bin/journalctl'].find(exists);
  return bin ? { command: [bin, '-u', 'sosna-agent', '-o', 'cat', '--no-pager'] } : null;
}

interface Session {
  pty: Pty;
  operator: string;
  touch(): void;
}

export function remoteHandlers(d: RemoteDeps): Handlers<typeof deviceRemoteService> & { stop(): void } {
  const sessions = new Map<string, Session>();
  // A shell must not outlive the agent: script and the shell are in sessions of their own and an agent that
  // exits (crash included) leaves them waiting on their PTY. Under systemd the service's cgroup is killed
  // anyway; elsewhere (sosna up) this hangs them up while the agent exits.
  const onExit = () => {
    for (const s of sessions.values()) s.pty.kill(true);
  };
  const now = d.now ?? Date.now;
  const where = d.configPath ? `in ${d.configPath}` : 'in the device config (or SOSNA_REMOTE_SHELL_ENABLED=true)';
  const own = (sessionId: string) => {
    const s = sessions.get(sessionId);
    if (!s) throw new SosnaError('E_NOT_FOUND', `no remote shell session ${sessionId} on this device (it ended)`);
    return s;
  };

  /** Sends output at most at the rate; over it, pauses the source until the bucket refills. */
  const paced = (bucket: ByteBucket, pause: () => void, resume: () => void) => {
    let paused = false;
    return (bytes: number) => {
      const wait = bucket.take(bytes);
      if (wait > 0 && !paused) {
        paused = true;
        pause();
        setTimeout(() => ((paused = false), resume()), wait).unref();
      }
    };
  };

  return {
    open: async ({ sessionId, operator, cols, rows }, ctx) => {
      if (!d.config.enabled) {
        throw new SosnaError('E_UNAUTHORIZED', `the remote shell is off on this device: its owner allows it with remoteShell.enabled: true ${where} (a hub cannot set it)`);
      }
      if (sessions.has(sessionId)) throw new SosnaError('E_CONFLICT', `session ${sessionId} is open already`);
      if (sessions.size >= d.config.maxSessions) throw new SosnaError('E_CONFLICT', `${sessions.size} remote shell sessions are open on this device (remoteShell.maxSessions is ${d.config.maxSessions})`);
      const script = findScript();
      if (!script) throw new SosnaError('E_UNAVAILABLE', 'this device has no `script` command (util-linux / bsdutils), which the remote shell needs for its terminal');
      const started = now();
      let ended: { code: number; reason: string } | null = null;
      const bucket = new ByteBucket(d.bytesPerSec, now);
      let idle: NodeJS.Timeout | null = null;
      const touch = () => {
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => {
          ended ??= { code: 124, reason: `idle for ${d.config.idleTimeoutSec} s (remoteShell.idleTimeoutSec)` };
          pty.kill();
        }, d.config.idleTimeoutSec * 1000);
        idle.unref();
      };
      let pace: (n: number) => void = () => {};
      const pty = spawnPty({
        script, command: d.config.command ?? defaultShell(), cols, rows, cwd: process.env.HOME ?? '/',
        onData: (text) => {
          touch();
          ctx.emit({ kind: 'out', data: text } satisfies RemoteChunk);
          pace(Buffer.byteLength(text));
        },
      });
      pace = paced(bucket, () => pty.pause(), () => pty.resume());
      sessions.set(sessionId, { pty, operator, touch });
      if (sessions.size === 1) process.on('exit', onExit);
      touch();
      // from here on input is taken: the hub tells the console only now, so no early keystroke is lost
      ctx.emit({ kind: 'started', sessionId, deviceId: d.deviceId() } satisfies RemoteChunk);
      d.log.info('remote shell opened', { sessionId, operator, pid: pty.pid });
      const onAbort = () => {
        ended ??= { code: 129, reason: 'closed by the hub' };
        pty.resume();
        pty.kill();
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      try {
        const code = await pty.exited;
        const end: { code: number; reason?: string } = ended ?? { code };
        d.log.info('remote shell closed', { sessionId, operator, code: end.code, reason: end.reason, sec: Math.round((now() - started) / 1000) });
        ctx.emit({ kind: 'exit', ...end } satisfies RemoteChunk);
      } finally {
        if (idle) clearTimeout(idle);
        ctx.signal.removeEventListener('abort', onAbort);
        sessions.delete(sessionId);
        if (sessions.size === 0) process.off('exit', onExit);
      }
    },
    input: ({ sessionId, data }) => {
      const s = own(sessionId);
      if (s.pty.pendingInput > 256 * 1024) throw new SosnaError('E_UNAVAILABLE', 'the shell is not reading its input; wait');
      s.touch();
      s.pty.write(data);
      return { ok: true as const };
    },
    resize: async ({ sessionId, cols, rows }) => {
      const s = own(sessionId);
      s.touch();
      await s.pty.resize(cols, rows).catch((err: Error) => {
        throw new SosnaError('E_UNAVAILABLE', `resize: ${err.message}`);
      });
      return { ok: true as const };
    },
    exec: async ({ sessionId, runId, cmd }, ctx) => {
      const engine = d.engine;
      if (!engine) throw new SosnaError('E_UNAVAILABLE', 'this device has no container engine');
      const c = d.containerOf(runId);
      if (!c) throw new SosnaError('E_NOT_FOUND', `run ${runId} has no container on this device`);
      if (c.state !== 'running') throw new SosnaError('E_CONFLICT', `run ${runId} is ${c.state}, not running: there is nothing to exec into`);
      const container = engine.docker.getContainer(c.containerId);
      const exec = await container.exec({ Cmd: cmd, AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false });
      const stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream & { destroy?: () => void };
      d.log.info('exec in a job container', { sessionId, runId, cmd: cmd.join(' ') });
      ctx.emit({ kind: 'started', sessionId, deviceId: d.deviceId() } satisfies RemoteChunk);
      const pace = paced(new ByteBucket(d.bytesPerSec, now), () => stream.pause(), () => stream.resume());
      const demux = new Demuxer((s, b) => {
        ctx.emit({ kind: 'out', data: b.toString('utf8'), stream: s } satisfies RemoteChunk);
        pace(b.length);
      });
      const onAbort = () => stream.destroy?.();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      try {
        await new Promise<void>((resolve) => {
          stream.on('data', (b: Buffer) => demux.push(b));
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', () => resolve());
        });
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
      }
      if (ctx.signal.aborted) return;
      const info = await exec.inspect();
      ctx.emit({ kind: 'exit', code: info.ExitCode ?? -1 } satisfies RemoteChunk);
    },
    logs: async ({ lines, follow }, ctx) => {
      const bucket = new ByteBucket(d.bytesPerSec, now);
      const source: LogLinesChunk['source'] = d.journal ? 'journald' : 'memory';
      let batch: string[] = [];
      let batchBytes = 0;
      let dropped = 0;
      let timer: NodeJS.Timeout | null = null;
      const flush = () => {
        if (timer) clearTimeout(timer);
        timer = null;
        if (!batch.length && !dropped) return;
        ctx.emit({ lines: batch, dropped, source } satisfies LogLinesChunk);
        batch = [];
        batchBytes = 0;
        dropped = 0;
      };
      /** A line within the rate joins the batch (sent within 100 ms or at 64 KiB); over it, it is counted. */
      const add = (line: string, rated: boolean) => {
        const n = Buffer.byteLength(line) + 1;
        if (rated && !bucket.tryTake(n)) return void (dropped += n);
        batch.push(line);
        batchBytes += n;
        if (batchBytes >= 64 * 1024) flush();
        else timer ??= setTimeout(flush, 100);
      };
      if (d.journal) {
        const [bin, ...args] = d.journal.command;
        const child = spawn(bin!, [...args, '-n', String(lines), ...(follow ? ['-f'] : [])], { stdio: ['ignore', 'pipe', 'ignore'] });
        const onAbort = () => child.kill();
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        const rl = createInterface({ input: child.stdout });
        rl.on('line', (l) => add(l, true));
        await new Promise<void>((resolve) => child.once('close', () => resolve()));
        ctx.signal.removeEventListener('abort', onAbort);
        flush();
        return;
      }
      const tail = d.logTail;
      if (!tail) throw new SosnaError('E_UNAVAILABLE', 'this agent keeps no log (it was started without a log tail)');
      for (const l of tail.tail(lines)) add(l, true);
      flush();
      if (!follow) return;
      // the listener never logs (a line about a line would follow itself)
      const unfollow = tail.follow((l) => add(l, true));
      await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
      unfollow();
      if (timer) clearTimeout(timer);
    },
    stop: () => {
      for (const s of sessions.values()) s.pty.kill();
    },
  };
}
