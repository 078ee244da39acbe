// Where the device config file is, and a first look at it for the start-up loader: before the protocol's
// schemas load (a loader that hands off to an updated bundle never evaluates them, so an updated agent does
// not carry two copies), main.ts needs only the state directory and the log level. Anything unreadable here
// is left to loadConfig (config.ts), which reports it with the file, field and reason.
import { existsSync, readFileSync } from 'node:fs';
import type { LogLevel } from '@sosna/protocol/log';
import { withBalenaDefaults } from './balena.js';

export const DEFAULT_CONFIG_PATH = '/etc/sosna/config.json';
/** DeviceConfig's default stateDir (protocol/src/config.ts; a test keeps the two equal). */
export const DEFAULT_STATE_DIR = '/var/lib/sosna';

type Env = Record<string, string | undefined>;

/** The config file loadConfig reads: --config, then $SOSNA_CONFIG, then /etc/sosna/config.json if present. */
export function configFilePath(path: string | undefined, env: Env): string | null {
  const explicit = path ?? env.SOSNA_CONFIG;
  return explicit ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : null);
}

const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];

/** stateDir and log.level as loadConfig resolves them (environment over file over default); null if the file cannot be read as a JSON object. */
export function peekStartup(path: string | undefined, given: Env): { stateDir: string; logLevel: LogLevel } | null {
  const env = withBalenaDefaults(given);
  const file = configFilePath(path, env);
  let raw: Record<string, unknown> = {};
  if (file) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
      raw = parsed as Record<string, unknown>;
    } catch {
      return null;
    }
  }
  const stateDir = env.SOSNA_STATE_DIR ?? raw.stateDir;
  const log = raw.log && typeof raw.log === 'object' ? (raw.log as Record<string, unknown>).level : undefined;
  const level = env.SOSNA_LOG_LEVEL ?? log;
  return {
    stateDir: typeof stateDir === 'string' && stateDir.length > 0 ? stateDir : DEFAULT_STATE_DIR,
    logLevel: typeof level === 'string' && LEVELS.includes(level) ? (level as LogLevel) : 'info',
  };
}
