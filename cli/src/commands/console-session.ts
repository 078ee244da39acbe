// The one way console commands reach the hub: connection flags, and a session that lends a ConsoleClient.
// One-shot commands connect for the command and close afterwards; the interactive shell keeps one
// connection for all its commands (see shell.ts), so both run the same command implementations.
import type { Command } from 'commander';
import { ConsoleClient } from '@sosna/hub';
import type { ConsoleProfile } from '@sosna/hub';
import { loadProfile } from '../profile.js';

export interface ConnFlags {
  profile?: string;
  url?: string;
  user?: string;
  password?: string;
  hubId?: string;
  /** Per-call time-out in ms (`--timeout` on most commands, `--call-timeout` where --timeout means something else). */
  timeout?: string;
  callTimeout?: string;
}

/** Adds the connection flags; `timeoutFlag` names the per-call time-out flag (jobs submit uses --timeout for the job). */
export function connOptions(cmd: Command, timeoutFlag: '--timeout' | '--call-timeout' = '--timeout'): Command {
  return cmd
    .option('--profile <file>', 'console profile (url, hubId, user, password)')
    .option('--url <url>', 'hub MQTT URL')
    .option('--hub-id <id>', 'hub id')
    .option('--user <name>', 'operator name')
    .option('--password <password>', 'operator password (or SOSNA_CONSOLE_PASSWORD)')
    .option(`${timeoutFlag} <ms>`, 'time-out for each call in ms');
}

export function callTimeout(flags: ConnFlags): number | undefined {
  const text = flags.callTimeout ?? flags.timeout;
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`time-out ${JSON.stringify(text)}: use a whole number of milliseconds`);
  return n;
}

export interface ConsoleSession {
  /** Runs fn with a connected client; `timeoutMs` is the default call time-out when the flags give none. */
  withConsole<T>(flags: ConnFlags, fn: (c: ConsoleClient) => Promise<T>, opts?: { timeoutMs?: number }): Promise<T>;
  /** The profile the session uses (the shell shows it; one-shot sessions load it per command). */
  profile?(): ConsoleProfile;
}

/** A connection per command. */
export function oneShotSession(): ConsoleSession {
  return {
    async withConsole(flags, fn, opts = {}) {
      const client = await ConsoleClient.connect(loadProfile(flags), { timeoutMs: callTimeout(flags) ?? opts.timeoutMs });
      try {
        return await fn(client);
      } finally {
        await client.close();
      }
    },
  };
}

/** One connection kept for many commands (the interactive shell); connection flags of a command are ignored. */
export function sharedSession(flags: ConnFlags): ConsoleSession & { client(): Promise<ConsoleClient>; close(): Promise<void> } {
  const profile = loadProfile(flags);
  let client: Promise<ConsoleClient> | null = null;
  const get = () => (client ??= ConsoleClient.connect(profile, { timeoutMs: callTimeout(flags) }).catch((err: unknown) => {
    client = null;
    throw err;
  }));
  return {
    profile: () => profile,
    client: get,
    async withConsole(_flags, fn) {
      return fn(await get());
    },
    async close() {
      const c = client;
      client = null;
      if (c) await (await c.catch(() => null))?.close();
    },
  };
}
