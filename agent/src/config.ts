// Loads the device config: a JSON file (--config, SOSNA_CONFIG or /etc/sosna/config.json) overlaid with
// SOSNA_* environment variables derived from the schema. Errors name the file, the field and the reason.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { applyEnv, DeviceConfig, isPem, parseConfig } from '@sosna/protocol';
import { balenaProblem, withBalenaDefaults } from './balena.js';
import { configFilePath, DEFAULT_CONFIG_PATH } from './config-file.js';

export { DEFAULT_CONFIG_PATH };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export function loadConfig(opts: { path?: string; env?: Record<string, string | undefined> } = {}): { config: DeviceConfig; file: string | null } {
  const given = opts.env ?? process.env;
  const file = configFilePath(opts.path, given);
  // in a balenaOS fleet app: balena's variables become defaults (balena.ts)
  const balena = balenaProblem(given, file);
  if (balena) throw new ConfigError([`balena environment: ${balena}`]);
  const env = withBalenaDefaults(given);
  let base: unknown = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([`${file}: cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
    try {
      base = JSON.parse(text);
    } catch (err) {
      throw new ConfigError([`${file}: not valid JSON: ${(err as Error).message}`]);
    }
    if (!base || typeof base !== 'object' || Array.isArray(base)) throw new ConfigError([`${file}: must hold a JSON object`]);
  } else if (!env.SOSNA_HUB_URL) {
    throw new ConfigError([`no config: pass --config FILE, set SOSNA_CONFIG, create ${DEFAULT_CONFIG_PATH}, or set SOSNA_HUB_URL`]);
  }
  const { value, sources } = applyEnv(DeviceConfig, base, env);
  const r = parseConfig(DeviceConfig, value, { file: file ?? 'environment', sources });
  if (!r.ok) throw new ConfigError(r.errors);
  return { config: file ? pemPathsFrom(r.config, dirname(resolve(file))) : r.config, file };
}

/** TLS file paths in the config (hub.ca, hubs[].ca, tls.cert, tls.key) are relative to the config file's folder. Pure. */
export function pemPathsFrom(config: DeviceConfig, baseDir: string): DeviceConfig {
  const abs = <T extends string | undefined>(v: T): T => (v && !isPem(v) && !isAbsolute(v) ? (resolve(baseDir, v) as T) : v);
  return {
    ...config,
    hub: { ...config.hub, ...(config.hub.ca ? { ca: abs(config.hub.ca) } : {}) },
    hubs: config.hubs.map((h) => ({ ...h, ...(h.ca ? { ca: abs(h.ca) } : {}) })),
    tls: { ...(config.tls.cert ? { cert: abs(config.tls.cert) } : {}), ...(config.tls.key ? { key: abs(config.tls.key) } : {}) },
  };
}
