import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { Id } from '@sosna/protocol';
import type { Logger } from '@sosna/protocol';
import type { StateStore } from './state.js';

/** What provisioning leaves in the state directory: the device's own identity at its hub. */
export const Credentials = z.object({
  hubId: Id,
  deviceId: Id,
  username: z.string().min(1),
  password: z.string().min(1),
  url: z.string().min(1),
  provisionedAt: z.number(),
});
export type Credentials = z.infer<typeof Credentials>;

export const ProvisionState = z.object({ nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/) });

export const CREDENTIALS_FILE = 'credentials.json';
export const PROVISION_FILE = 'provision.json';

/** Marks that credentials beside the config file were taken over once (never again after the hub drops them). */
export const ADOPTED_FILE = 'credentials-adopted.json';

/**
 * `sosna provision fleet --credentials` writes credentials.json beside config.json, which names no stateDir.
 * An agent started with such a config finds them there: on first start, when its state directory has none,
 * they are copied into it (atomically) and used from then on. Returns where they came from, or null.
 */
export function adoptCredentialsBesideConfig(configPath: string | null | undefined, state: StateStore, log: Logger): string | null {
  if (!configPath) return null;
  const beside = join(dirname(configPath), CREDENTIALS_FILE);
  if (beside === state.path(CREDENTIALS_FILE) || !existsSync(beside)) return null;
  if (state.read(CREDENTIALS_FILE, Credentials) || state.read(ADOPTED_FILE, z.object({ from: z.string() }))) return null;
  let creds: Credentials;
  try {
    creds = Credentials.parse(JSON.parse(readFileSync(beside, 'utf8')));
  } catch (err) {
    log.warn('ignoring unreadable credentials beside the config', { file: beside, why: (err as Error).message });
    return null;
  }
  state.write(CREDENTIALS_FILE, creds);
  state.write(ADOPTED_FILE, { from: beside, at: Date.now() });
  log.info('using the credentials issued beside the config', { file: beside, stateDir: state.dir, deviceId: creds.deviceId });
  return beside;
}
