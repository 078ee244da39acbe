// The one way console commands reach the hub: connection flags, and a session that lends a ConsoleClient.
// One-shot commands connect for the command and close afterwards; the interactive shell keeps one
// connection for all its commands (see shell.ts), so both run the same command implementations.
import { ConsoleClient } from '@sosna/hub/console-client';
import type { ConsoleProfile } from '@sosna/hub/console-client';
import { describeSource, loadProfileFrom } from '../profile.js';
import { callTimeout, IDENTITY } from './conn-flags.js';
import type { ConnFlags } from './conn-flags.js';

export { callTimeout, connOptions, inheritConnFlags } from './conn-flags.js';
export type { ConnFlags } from './conn-flags.js';

export interface ConsoleSession {
  /** Runs fn with a connected client; `timeoutMs` is the default call time-out when the flags give none. */
  withConsole<T>(flags: ConnFlags, fn: (c: ConsoleClient) => Promise<T>, opts?: { timeoutMs?: number }): Promise<T>;
  /** The profile the session uses (the shell shows it; one-shot sessions load it per command). */
  profile?(): ConsoleProfile;
}

/** A connection error with where its credentials and URL came from, and how to change them. */
export function connectHint(err: unknown, source: string): Error {
  const code = (err as { code?: unknown })?.code;
  if (code !== 'E_UNAUTHORIZED' && code !== 'E_UNAVAILABLE') return err as Error;
  const fix = code === 'E_UNAUTHORIZED' ? 'fix the user or password there, or pass --profile FILE (sosna hub operators add NAME --write-profile FILE makes one)' : 'fix the url there, or start the hub';
  return Object.assign(new Error(`${(err as Error).message}\n  credentials from ${source || 'defaults'}: ${fix}`), { code });
}

/** A connection per command. */
export function oneShotSession(): ConsoleSession {
  return {
    async withConsole(flags, fn, opts = {}) {
      const { profile, from } = loadProfileFrom(flags);
      const client = await ConsoleClient.connect(profile, { timeoutMs: callTimeout(flags) ?? opts.timeoutMs }).catch((err: unknown) => {
        throw connectHint(err, describeSource(from, flags));
      });
      try {
        return await fn(client);
      } finally {
        await client.close();
      }
    },
  };
}

/** One connection kept for many commands (the interactive shell); connection flags of a command are refused. */
export function sharedSession(flags: ConnFlags): ConsoleSession & { client(): Promise<ConsoleClient>; close(): Promise<void> } {
  const { profile, from } = loadProfileFrom(flags);
  let client: Promise<ConsoleClient> | null = null;
  const get = () => (client ??= ConsoleClient.connect(profile, { timeoutMs: callTimeout(flags) }).catch((err: unknown) => {
    client = null;
    throw connectHint(err, describeSource(from, flags));
  }));
  return {
    profile: () => profile,
    client: get,
    async withConsole(lineFlags, fn) {
      const given = IDENTITY.filter(([key]) => lineFlags[key] !== undefined).map(([, flag]) => flag);
      if (given.length) {
        throw new Error(`${given.join(', ')}: this shell is connected as ${profile.user} at ${profile.url}; connection flags go on the shell itself (sosna console --profile FILE)`);
      }
      return fn(await get());
    },
    async close() {
      const c = client;
      client = null;
      if (c) await (await c.catch(() => null))?.close();
    },
  };
}
