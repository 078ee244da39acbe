// The one way console commands reach the hub: connection flags, and a session that lends a ConsoleClient.
// One-shot commands connect for the command and close afterwards; the interactive shell keeps one
// connection for all its commands (see shell.ts), so both run the same command implementations.
import type { Command } from 'commander';
import { ConsoleClient } from '@sosna/hub/console-client';
import type { ConsoleProfile } from '@sosna/hub/console-client';
import { describeSource, loadProfileFrom } from '../profile.js';

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
    .option(`${timeoutFlag} <ms>`, CALL_TIMEOUT);
}

const CALL_TIMEOUT = 'time-out for each call in ms';
const IDENTITY = [['profile', '--profile'], ['url', '--url'], ['hubId', '--hub-id'], ['user', '--user'], ['password', '--password']] as const;

/**
 * Connection flags given before a subcommand (`sosna console --profile v.json devices reboot ...`) are parsed by
 * the command they follow (positional options); this hands them on to the command that runs, so a flag means
 * the same wherever it stands. The same flag given twice with different values is refused, never guessed.
 */
export function inheritConnFlags(cmd: Command): Command {
  return cmd.hook('preAction', (_self, action) => {
    for (let from = action.parent; from; from = from.parent) {
      for (const [key, flag] of [...IDENTITY, ['timeout', '--timeout'] as const]) {
        if (from.getOptionValueSource(key) === undefined) continue;
        const value: unknown = from.getOptionValue(key);
        // the call time-out is --timeout, or --call-timeout where --timeout means something else (jobs submit)
        const target = key !== 'timeout' ? key : action.options.find((o) => o.description === CALL_TIMEOUT)?.attributeName() ?? 'timeout';
        if (target === 'timeout' && action.options.some((o) => o.attributeName() === 'timeout' && o.description !== CALL_TIMEOUT)) {
          throw new Error(`${flag} before "${action.name()}" is ambiguous there (its --timeout is another limit): give the call time-out as --call-timeout after "${action.name()}"`);
        }
        const own: unknown = action.getOptionValue(target);
        if (own !== undefined && own !== value) {
          const shown = (v: unknown) => (key === 'password' ? '(hidden)' : JSON.stringify(v));
          throw new Error(`${flag} given twice with different values: ${shown(value)} before "${action.name()}" and ${shown(own)} after it; give it once`);
        }
        action.setOptionValueWithSource(target, value, from.getOptionValueSource(key)!);
      }
    }
  });
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
