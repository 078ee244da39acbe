// Connection flags of console commands, and how they pass from a parent command to the one that runs.
// Light on purpose (commander only): the program registers them before it knows which command runs.
import type { Command } from 'commander';

export interface ConnFlags {
  profile?: string;
  url?: string;
  user?: string;
  password?: string;
  hubId?: string;
  /** The hub's CA (PEM file) for an mqtts:// or wss:// --url. */
  ca?: string;
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
    .option('--ca <file>', "the hub's CA certificate (PEM) for an mqtts:// or wss:// URL, e.g. its {data-dir}/tls/ca.pem")
    .option('--user <name>', 'operator name')
    .option('--password <password>', 'operator password (or SOSNA_CONSOLE_PASSWORD)')
    .option(`${timeoutFlag} <ms>`, CALL_TIMEOUT);
}

const CALL_TIMEOUT = 'time-out for each call in ms';
export const IDENTITY = [['profile', '--profile'], ['url', '--url'], ['hubId', '--hub-id'], ['user', '--user'], ['password', '--password'], ['ca', '--ca']] as const;

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
