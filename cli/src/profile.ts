// Where the console finds the hub and its operator credentials.
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConsoleProfile } from '@sosna/hub/console-client';
import type { ConsoleProfile as Profile } from '@sosna/hub/console-client';

export const DEFAULT_HUB_DIR = process.env.SOSNA_HUB_DIR ?? '.sosna/hub';
export const hubProfilePath = (dataDir: string) => join(resolve(dataDir), 'console.json');

export function profileCandidates(env = process.env): string[] {
  return [env.SOSNA_PROFILE, join(homedir(), '.config', 'sosna', 'console.json'), hubProfilePath(DEFAULT_HUB_DIR)].filter((p): p is string => !!p);
}

type ProfileFlags = { profile?: string; url?: string; user?: string; password?: string; hubId?: string; ca?: string };

export function loadProfile(opts: ProfileFlags): Profile {
  return loadProfileFrom(opts).profile;
}

/** Where the credentials came from, for errors a person can act on: `profile /x/console.json, --password`. Pure. */
export function describeSource(from: string | null, opts: ProfileFlags, env = process.env): string {
  const flags = (['url', 'hubId', 'user', 'password', 'ca'] as const).filter((k) => opts[k]).map((k) => (k === 'hubId' ? '--hub-id' : `--${k}`));
  if (!opts.password && env.SOSNA_CONSOLE_PASSWORD) flags.push('SOSNA_CONSOLE_PASSWORD');
  return [from ? `profile ${from}` : '', ...flags].filter(Boolean).join(', ');
}

/** The profile and the file it came from (null: only flags). */
export function loadProfileFrom(opts: ProfileFlags): { profile: Profile; from: string | null } {
  const paths = opts.profile ? [opts.profile] : profileCandidates();
  let base: Partial<Profile> = {};
  let from: string | null = null;
  for (const p of paths) {
    if (!existsSync(p)) {
      if (opts.profile) throw new Error(`profile ${p} does not exist`);
      continue;
    }
    try {
      base = JSON.parse(readFileSync(p, 'utf8')) as Partial<Profile>;
    } catch (err) {
      throw new Error(`${p}: not valid JSON: ${(err as Error).message}`);
    }
    from = p;
    break;
  }
  const merged = {
    ...base,
    ...(opts.url ? { url: opts.url } : {}),
    ...(opts.user ? { user: opts.user } : {}),
    ...(opts.password ? { password: opts.password } : {}),
    ...(opts.hubId ? { hubId: opts.hubId } : {}),
    ...(opts.ca ? { ca: resolve(opts.ca) } : {}),
    ...(process.env.SOSNA_CONSOLE_PASSWORD && !opts.password ? { password: process.env.SOSNA_CONSOLE_PASSWORD } : {}),
  };
  const r = ConsoleProfile.safeParse(merged);
  if (!r.success) {
    const missing = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(
      `no usable console profile${from ? ` (${from})` : ''}: ${missing}\n` +
        `  start a hub (it writes ${hubProfilePath(DEFAULT_HUB_DIR)}), or pass --profile FILE, or --url --hub-id --user --password`,
    );
  }
  return { profile: r.data, from };
}

export function writeProfile(file: string, profile: Profile): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(profile, null, 2) + '\n', { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
