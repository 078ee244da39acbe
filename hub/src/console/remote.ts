// The console's `remote` service: a shell on a device, a command in a job's container, a device's agent log.
// A shell session is one streaming call (remote.shell) that the hub forwards to the device's remote.open;
// keystrokes and window sizes come as separate calls (remote.input / remote.resize) that name the session,
// and each is checked against the operator who opened it (the console endpoint's authorizer has already
// checked the role, read from the store at that call). Every session is recorded in the store when it
// starts and again when it ends (who, device, start, end, exit code, bytes each way).
import { randomBytes } from 'node:crypto';
import { RemoteChunk, remoteService, SosnaError } from '@sosna/protocol';
import type { Logger, RpcEndpoint } from '@sosna/protocol';
import type { DeviceStore } from '../fleet/store.js';
import type { JobStore } from '../jobs/store.js';
import type { SessionStore } from './store.js';
import type { DeviceLinks } from '../fleet/device-links.js';
import type { OperatorMeta } from '../auth/roles.js';
import { maySeeJob, requireRole } from '../auth/roles.js';

/** The longest a session lives, whatever its traffic (the device's idle time-out usually ends it first). */
export const MAX_SESSION_MS = 12 * 3600_000;
/**
 * Input and resize calls per second a session may make: above it a call waits for its turn (the console
 * sends one at a time, so a fast paste or piped input is slowed down, not refused); a session with more than
 * MAX_WAITING calls waiting at once is refused.
 */
export const INPUT_CALLS_PER_SEC = 200;
export const MAX_WAITING = 8;

interface Live {
  operator: string;
  deviceId: string;
  bytesIn: number;
  bytesOut: number;
  /** Call tokens (a bucket of INPUT_CALLS_PER_SEC, refilled continuously) and calls waiting for one. */
  tokens: number;
  at: number;
  waiting: number;
}

export const newSessionId = () => `s-${randomBytes(8).toString('hex')}`;

export function remoteServices(endpoint: RpcEndpoint<OperatorMeta>, deps: { store: Pick<DeviceStore, 'getDevice'> & { readonly jobs: Pick<JobStore, 'getJob' | 'runsOf'>; readonly sessions: SessionStore }; links: DeviceLinks; log: Logger; now?: () => number }): void {
  const { store, links, log } = deps;
  const now = deps.now ?? Date.now;
  const live = new Map<string, Live>();
  const closed = store.sessions.closeOpen(now(), 'hub restarted');
  if (closed) log.warn('remote sessions left open by the previous hub process closed', { count: closed });

  /** The session of `meta`'s operator once its turn comes (rate bound), or a refusal that says why. */
  const mine = async (sessionId: string, meta: OperatorMeta): Promise<Live> => {
    const s = live.get(sessionId);
    if (!s) throw new SosnaError('E_NOT_FOUND', `no open remote session ${sessionId}`);
    if (s.operator !== meta.operator) throw new SosnaError('E_UNAUTHORIZED', `session ${sessionId} belongs to ${s.operator}, not ${meta.operator}`);
    const t = now();
    s.tokens = Math.min(INPUT_CALLS_PER_SEC, s.tokens + ((t - s.at) / 1000) * INPUT_CALLS_PER_SEC);
    s.at = t;
    s.tokens -= 1;
    if (s.tokens < 0) {
      if (s.waiting >= MAX_WAITING) {
        s.tokens += 1;
        throw new SosnaError('E_UNAVAILABLE', `${MAX_WAITING} calls are waiting on session ${sessionId} (at most ${INPUT_CALLS_PER_SEC} a second); send one at a time`);
      }
      s.waiting++;
      await new Promise((r) => setTimeout(r, Math.ceil((-s.tokens / INPUT_CALLS_PER_SEC) * 1000)));
      s.waiting--;
    }
    return s;
  };

  /** Records, forwards and relays one session; `open` is the device call. */
  const run = async (
    s: { kind: 'shell' | 'exec'; operator: string; deviceId: string; jobId: string | null; command: string | null },
    emit: (c: RemoteChunk) => void,
    open: (sessionId: string, onChunk: (c: unknown) => void) => Promise<unknown>,
  ) => {
    const id = newSessionId();
    const l: Live = { operator: s.operator, deviceId: s.deviceId, bytesIn: 0, bytesOut: 0, tokens: INPUT_CALLS_PER_SEC, at: now(), waiting: 0 };
    const startedAt = now();
    store.sessions.start({ id, ...s, startedAt });
    log.info(`remote ${s.kind} session started`, { sessionId: id, operator: s.operator, deviceId: s.deviceId, ...(s.jobId ? { jobId: s.jobId } : {}) });
    live.set(id, l);
    let exit: { code: number | null; reason: string | null } = { code: null, reason: null };
    try {
      // `started` comes from the device once it takes input for the session; the console sends keys only then
      await open(id, (raw) => {
        const c = RemoteChunk.parse(raw);
        if (c.kind === 'out') l.bytesOut += Buffer.byteLength(c.data);
        if (c.kind === 'exit') exit = { code: c.code, reason: c.reason ?? null };
        emit(c.kind === 'started' ? { kind: 'started', sessionId: id, deviceId: s.deviceId } : c);
      });
      if (exit.code === null) exit = { code: null, reason: 'ended without an exit code' };
    } catch (err) {
      exit = { code: exit.code, reason: exit.reason ?? (err as Error).message };
      throw err;
    } finally {
      live.delete(id);
      const endedAt = now();
      store.sessions.end(id, { endedAt, exitCode: exit.code, reason: exit.reason, bytesIn: l.bytesIn, bytesOut: l.bytesOut });
      log.info(`remote ${s.kind} session ended`, { sessionId: id, operator: s.operator, deviceId: s.deviceId, code: exit.code, reason: exit.reason, sec: Math.round((endedAt - startedAt) / 1000) });
    }
  };

  endpoint.add(remoteService, {
    shell: async ({ deviceId, cols, rows }, ctx) => {
      requireRole(ctx.meta, 'admin', 'a remote shell');
      if (!store.getDevice(deviceId)) throw new SosnaError('E_NOT_FOUND', `no device ${deviceId} (sosna console devices lists them)`);
      const operator = ctx.meta.operator;
      await run({ kind: 'shell', operator, deviceId, jobId: null, command: null }, (c) => ctx.emit(c), (sessionId, onChunk) =>
        links.call(deviceId, 'remote', 'open', { sessionId, operator, cols, rows }, { timeoutMs: MAX_SESSION_MS, signal: ctx.signal, onChunk }),
      );
    },
    input: async ({ sessionId, data }, ctx) => {
      const s = await mine(sessionId, ctx.meta);
      s.bytesIn += Buffer.byteLength(data);
      await links.call(s.deviceId, 'remote', 'input', { sessionId, data }, { timeoutMs: 15_000 });
      return { ok: true as const };
    },
    resize: async ({ sessionId, cols, rows }, ctx) => {
      const s = await mine(sessionId, ctx.meta);
      await links.call(s.deviceId, 'remote', 'resize', { sessionId, cols, rows }, { timeoutMs: 15_000 });
      return { ok: true as const };
    },
    exec: async ({ jobId, cmd, replica }, ctx) => {
      const job = store.jobs.getJob(jobId);
      // a buyer learns nothing of another buyer's job: the same answer as a job that does not exist
      if (!job || !maySeeJob(ctx.meta, job.submittedBy)) throw new SosnaError('E_NOT_FOUND', `no job ${jobId}`);
      const operator = ctx.meta.operator;
      if (job.submittedBy !== operator && ctx.meta.role !== 'admin') {
        throw new SosnaError('E_UNAUTHORIZED', `jobs exec on ${jobId} is for the operator who submitted it or an admin; ${operator} is a ${ctx.meta.role}`);
      }
      const runs = store.jobs.runsOf(jobId).filter((r) => r.state === 'running' && (replica === undefined || r.replica === replica));
      const target = runs[0];
      if (!target) {
        const which = replica === undefined ? 'no replica' : `replica ${replica} is not`;
        throw new SosnaError('E_CONFLICT', `job ${jobId} is ${job.state}: ${which} running, so there is no container to exec into`);
      }
      await run({ kind: 'exec', operator, deviceId: target.deviceId, jobId, command: cmd.join(' ').slice(0, 1024) }, (c) => ctx.emit(c), (sessionId, onChunk) =>
        links.call(target.deviceId, 'remote', 'exec', { sessionId, runId: target.id, cmd }, { timeoutMs: MAX_SESSION_MS, signal: ctx.signal, onChunk }),
      );
    },
    logs: async ({ deviceId, lines, follow }, ctx) => {
      await links.call(deviceId, 'remote', 'logs', { lines, follow }, { timeoutMs: follow ? MAX_SESSION_MS : 30_000, signal: ctx.signal, onChunk: (c) => ctx.emit(c) });
    },
    sessions: ({ deviceId, limit }) => ({ sessions: store.sessions.list({ deviceId, limit }) }),
  });
}
