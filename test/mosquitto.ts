// A private Mosquitto broker for tests (issue 13: the hub on an external broker): its own config, data dir
// and port, the dynamic-security plugin with a JSON file initialised by `mosquitto_ctrl dynsec init` (an admin
// login for the hub), started as a child process and stopped after. Debian's mosquitto (scripts/test-deps/mosquitto.sh).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { freePort } from './procs.js';

export const DYNSEC_PLUGIN = ['/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so', '/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so'].find((p) => existsSync(p)) ?? '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
const MOSQUITTO = '/usr/sbin/mosquitto';

/** Why Mosquitto cannot run here, or null when it can. */
export function mosquittoUnavailable(): string | null {
  if (!existsSync(MOSQUITTO)) return `${MOSQUITTO} missing: run scripts/test-deps/mosquitto.sh`;
  if (!existsSync(DYNSEC_PLUGIN)) return `${DYNSEC_PLUGIN} missing`;
  return null;
}

export interface PrivateMosquitto {
  readonly url: string;
  readonly port: number;
  readonly admin: { username: string; password: string };
  readonly dir: string;
  /** Stops the broker (SIGTERM; dynsec state stays in its JSON file). */
  stop(): Promise<void>;
  /** Starts it again on the same port, config and data; `fresh`: with a new dynsec file (only the admin login: all else lost). */
  restart(opts?: { fresh?: boolean }): Promise<void>;
  /** SIGSTOP / SIGCONT: the broker keeps its sockets open and answers nothing (a hung or partitioned broker). */
  freeze(): void;
  thaw(): void;
}

export interface PrivateMosquittoOptions {
  dir: string;
  /** Without the dynamic-security plugin (a plain broker allowing anonymous logins): a misconfiguration case. */
  plugin?: boolean;
}

function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(); });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`mosquitto did not listen on ${port} within ${deadlineMs} ms`));
        else setTimeout(tryOnce, 50);
      });
    };
    tryOnce();
  });
}

export async function startPrivateMosquitto(opts: PrivateMosquittoOptions): Promise<PrivateMosquitto> {
  const dir = opts.dir;
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const admin = { username: 'sosna-hub', password: 'test-fixture-admin-password' };
  const dynsec = join(dir, 'dynamic-security.json');
  const withPlugin = opts.plugin ?? true;
  const init = () => {
    const r = spawnSync('mosquitto_ctrl', ['dynsec', 'init', dynsec, admin.username, admin.password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mosquitto_ctrl dynsec init failed: ${r.stderr || r.stdout}`);
  };
  if (withPlugin && !existsSync(dynsec)) init();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [
    'per_listener_settings false',
    `user ${userInfo().username}`, // as root it would drop to user mosquitto, who cannot read this private dir
    `listener ${port} 127.0.0.1`,
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    ...(process.env.MOSQ_DEBUG ? ['log_type notice', 'log_type information'] : []),
    ...(withPlugin ? [`plugin ${DYNSEC_PLUGIN}`, `plugin_opt_config_file ${dynsec}`, 'allow_anonymous false'] : ['allow_anonymous true']),
    '',
  ].join('\n'));
  let child: ChildProcess | null = null;
  let log = '';
  const run = async () => {
    child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', process.env.MOSQ_DEBUG ? 'inherit' : 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
    const exited = new Promise<never>((_, reject) => child!.once('exit', (code) => reject(new Error(`mosquitto exited (${code}): ${log}`))));
    await Promise.race([waitForPort(port, 15_000), exited]);
  };
  const stop = async () => {
    const c = child as ChildProcess | null;
    child = null;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(t);
  };
  await run();
  const signal = (sig: NodeJS.Signals) => void (child as ChildProcess | null)?.kill(sig);
  return { url: `mqtt://127.0.0.1:${port}`, port, admin, dir, stop: async () => (signal('SIGCONT'), stop()), freeze: () => signal('SIGSTOP'), thaw: () => signal('SIGCONT'), restart: async (o = {}) => {
    await stop();
    if (o.fresh && withPlugin) {
      rmSync(dynsec, { force: true });
      init();
    }
    await run();
  } };
}
