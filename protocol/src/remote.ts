// Remote access to a device: an interactive shell (a PTY on the device), a command in a running job's
// container, and the agent's own log. Output travels device -> hub -> console as the chunks of one streaming
// call; keystrokes and window sizes travel console -> hub -> device as separate small calls naming the
// session, which the hub authorises against the session's owner on every call.
import { z } from 'zod';
import { defineService } from './rpc/service.js';
import { Id } from './messages.js';

/** A remote session's id: `s-` and 16 hex characters, drawn by the hub. */
export const SessionId = z.string().regex(/^s-[0-9a-f]{16}$/, 'must be s- and 16 hex digits');
/** At most this many bytes of keystrokes per input call (a paste is split by the console). */
export const SHELL_INPUT_MAX = 4096;
const Cols = z.number().int().min(1).max(1000);
const Rows = z.number().int().min(1).max(1000);

/** One piece of a remote session's stream. `exit` is the last: the code, or the reason the session ended. */
export const RemoteChunk = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('started'), sessionId: SessionId, deviceId: Id }),
  z.object({ kind: z.literal('out'), data: z.string(), stream: z.enum(['stdout', 'stderr']).optional() }),
  /** Output dropped over the rate bound (bytes), since the last chunk. */
  z.object({ kind: z.literal('dropped'), bytes: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('exit'), code: z.number().int(), reason: z.string().max(512).optional() }),
]);
export type RemoteChunk = z.infer<typeof RemoteChunk>;

/** Lines of the agent's log; `dropped` counts bytes left out over the rate bound since the last chunk. */
export const LogLinesChunk = z.object({ lines: z.array(z.string()), dropped: z.number().int().nonnegative().default(0), source: z.enum(['journald', 'memory']) });
export type LogLinesChunk = z.infer<typeof LogLinesChunk>;

const ExecCommand = z.array(z.string().min(1).max(4096)).min(1).max(256);

/** Keystrokes and a new window size for a session (the hub's and the device's service take the same). */
const sessionControl = {
  input: {
    params: z.object({ sessionId: SessionId, data: z.string().min(1).max(SHELL_INPUT_MAX) }),
    result: z.object({ ok: z.literal(true) }),
  },
  resize: {
    params: z.object({ sessionId: SessionId, cols: Cols, rows: Rows }),
    result: z.object({ ok: z.literal(true) }),
  },
};

/** Offered by the agent on dev/{id}/rpc/in; the hub never forwards these through devices.call (DEVICE_CALL_ROLES). */
export const deviceRemoteService = defineService('remote', {
  /** Starts a shell on a PTY (refused unless the device's config has remoteShell.enabled); streams until it exits. */
  open: {
    params: z.object({ sessionId: SessionId, operator: z.string().min(1).max(64), cols: Cols.default(80), rows: Rows.default(24) }),
    result: RemoteChunk,
    streaming: true,
  },
  ...sessionControl,
  /** Runs a command in the container of a run of this device (docker exec, no stdin); streams output, then the exit code. */
  exec: {
    params: z.object({ sessionId: SessionId, runId: Id, cmd: ExecCommand }),
    result: RemoteChunk,
    streaming: true,
  },
  /** The agent's log: the last `lines`, then (follow) new lines as they come, rate-bounded like job output. */
  logs: {
    params: z.object({ lines: z.number().int().min(0).max(10_000).default(100), follow: z.boolean().default(false) }),
    result: LogLinesChunk,
    streaming: true,
  },
});

export const ShellSessionRecord = z.object({
  id: SessionId,
  kind: z.enum(['shell', 'exec']),
  operator: z.string(),
  deviceId: Id,
  /** For exec: the job and its command. */
  jobId: z.string().nullable(),
  command: z.string().nullable(),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  exitCode: z.number().nullable(),
  reason: z.string().nullable(),
  bytesIn: z.number(),
  bytesOut: z.number(),
});
export type ShellSessionRecord = z.infer<typeof ShellSessionRecord>;

/** The hub's console side (console/{op}/rpc/in); roles in hub/src/auth/roles.ts. */
export const remoteService = defineService('remote', {
  /** An interactive shell on a device (admin only); first chunk `started` names the session. */
  shell: {
    params: z.object({ deviceId: Id, cols: Cols.default(80), rows: Rows.default(24) }),
    result: RemoteChunk,
    streaming: true,
  },
  /** Keystrokes and resizes, for a session of the caller's own. */
  ...sessionControl,
  /** A command in a running job's container (the job's submitter or an admin). */
  exec: {
    params: z.object({ jobId: Id, cmd: ExecCommand, replica: z.number().int().nonnegative().optional() }),
    result: RemoteChunk,
    streaming: true,
  },
  /** A device's agent log. */
  logs: {
    params: z.object({ deviceId: Id, lines: z.number().int().min(0).max(10_000).default(100), follow: z.boolean().default(false) }),
    result: LogLinesChunk,
    streaming: true,
  },
  /** The recorded shell and exec sessions, newest first. */
  sessions: {
    params: z.object({ deviceId: Id.optional(), limit: z.number().int().min(1).max(1000).default(50) }),
    result: z.object({ sessions: z.array(ShellSessionRecord) }),
  },
});
