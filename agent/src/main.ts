// sosna-agent: the device daemon. `app.ts` holds the boot order; this file only parses the command line,
// handles signals and exit codes.
import { existsSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from '@sosna/protocol/log';
import type { startAgent as StartAgent } from './app.js';
import { peekStartup } from './config-file.js';
import { AGENT_VERSION } from './version.js';
import { detectInChild, runChild, runChildJson } from './detect-child.js';
import { LogTail } from './dashboard/logtail.js';
import type { BootInfo } from './update/loader.js';
import { UPDATE_DIR } from './update/paths.js';
// Hardware detection and the benchmarks load only in their own subcommands (dynamic imports stay lazy in
// the bundle), so the long-running daemon never carries their code, schemas or libraries. The config
// schema and the rest of the protocol load only after the start-up loader has decided not to hand off to
// an updated bundle (which brings its own copy).

const HELP = `sosna-agent ${AGENT_VERSION}: the sosna device daemon

usage:
  sosna-agent [run] [--config FILE]   join the hub in the config and serve it (default)
  sosna-agent detect [--json] [--config FILE]
                                      print this device's hardware and matched profiles
  sosna-agent bench [--config FILE]   run the capability benchmarks, print them as JSON
  sosna-agent provision [--config FILE]
                                      exchange the fleet key for this device's credentials, then exit
  sosna-agent --version
  sosna-agent --help

The config file (JSON) comes from --config, $SOSNA_CONFIG or /etc/sosna/config.json; every field can be
overridden by an environment variable: hub.url -> SOSNA_HUB_URL, telemetry.intervalSec ->
SOSNA_TELEMETRY_INTERVAL_SEC, and so on.
`;

/** `sosna-agent detect`: works without a config (then only the local ASIC API is probed). */
async function detect(configPath: string | undefined, json: boolean, patient: boolean): Promise<number> {
  const { ConfigError, loadConfig } = await import('./config.js');
  let asicHosts: string[] = [];
  if (configPath || process.env.SOSNA_CONFIG) {
    try {
      asicHosts = loadConfig({ path: configPath }).config.hardware.asicHosts;
    } catch (err) {
      if (err instanceof ConfigError) process.stderr.write(`sosna-agent: ignoring the config for detection:\n  ${err.problems.join('\n  ')}\n`);
      else throw err;
    }
  }
  const { detectHardware, formatInventory, formatInventoryJson, matchProfiles } = await import('./hardware/index.js');
  // The daemon's background run (--patient) may wait longer on a busy machine than a person at a prompt.
  const result = await detectHardware({ asicHosts, ...(patient ? { timeouts: { systemMs: 15_000, fileReadMs: 5_000, nvidiaMs: 15_000, rocmMs: 10_000 } } : {}) });
  const matches = matchProfiles(result.inventory);
  process.stdout.write(json ? `${formatInventoryJson(result, matches)}\n` : `${formatInventory(result, { matches })}\n`);
  return 0;
}

/** `sosna-agent bench`: the capability benchmarks (scratch files go to the state directory). */
async function bench(configPath: string | undefined): Promise<number> {
  const { loadConfig } = await import('./config.js');
  const { config } = loadConfig({ path: configPath });
  const { runBenchmarks } = await import('./benchmarks/measure.js');
  process.stdout.write(`${JSON.stringify(await runBenchmarks({ stateDir: config.stateDir, hubUrl: config.hub.url }))}\n`);
  return 0;
}

/** `sosna-agent provision`: one provisioning attempt; the daemon runs it as a child and retries. */
async function provisionOnce(configPath: string | undefined): Promise<number> {
  const { loadConfig } = await import('./config.js');
  const { config } = loadConfig({ path: configPath });
  const log = createLogger({ level: config.log.level, scope: 'provision' });
  const { provision } = await import('./provision.js');
  const { StateStore } = await import('./state.js');
  try {
    const creds = await provision({ config, state: new StateStore(config.stateDir), name: config.name ?? hostname(), log });
    process.stdout.write(`${creds.deviceId}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`sosna-agent provision: ${(err as Error).message}\n`);
    return 1;
  }
}

/** Exit status after an update switched bundles: the service manager starts the agent again (Restart=always). */
export const EXIT_RESTART = 75;

/**
 * The daemon's entry. Run as the installed file it is also the stable loader: `run` first starts an updated
 * bundle from the state directory if there is one (update/loader.ts), in this process, by calling that
 * bundle's agentMain with `boot` set. Every bundle exports this function for that purpose.
 */
export async function agentMain(argv: string[], boot?: BootInfo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, patient: { type: 'boolean' }, version: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void process.stdout.write(HELP), 0;
  if (values.version) return void process.stdout.write(`${AGENT_VERSION}\n`), 0;
  const command = positionals[0] ?? 'run';
  if (command === 'detect') return detect(values.config, values.json ?? false, values.patient ?? false);
  if (command === 'bench') return bench(values.config);
  if (command === 'provision') return provisionOnce(values.config);
  if (command !== 'run') {
    process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${HELP}`);
    return 2;
  }
  if (!boot) {
    const code = await handOffToUpdate(argv, values.config);
    if (code !== null) return code;
  }
  const { ConfigError, loadConfig } = await import('./config.js');
  let loaded;
  try {
    loaded = loadConfig({ path: values.config });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sosna-agent: invalid configuration\n${err.problems.map((p) => `  ${p}`).join('\n')}\n`);
      return 78; // EX_CONFIG: a service manager should not restart into the same error
    }
    throw err;
  }
  // Log lines go to stderr and into a short tail for the dashboard's System page.
  const logTail = new LogTail();
  const log = createLogger({ level: loaded.config.log.level, scope: 'agent', write: (line) => (process.stderr.write(`${line}\n`), logTail.push(line)) });
  log.info('starting', { version: AGENT_VERSION, config: loaded.file ?? 'environment', state: loaded.config.stateDir, ...(boot ? { loadedBy: boot.loader.version } : {}) });

  // The daemon's code loads only now, after any hand-off to an updated bundle: a loader that hands off
  // never evaluates its own copy.
  const { startAgent } = await import('./app.js');
  let agent: Awaited<ReturnType<typeof StartAgent>> | undefined;
  let stopping = false;
  const shutdown = (signal: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    const force = setTimeout(() => process.exit(code || 1), 5000);
    force.unref();
    void (agent ? agent.stop() : Promise.resolve()).then(() => process.exit(code));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // children run this very bundle (an updated one when the loader started it)
  const bundle = boot ? fileURLToPath(import.meta.url) : process.argv[1]!;
  const configFile = loaded.file;
  const timeoutMs = loaded.config.hardware.detectTimeoutSec * 1000;
  const provisionArgs = ['provision', ...(configFile ? ['--config', configFile] : [])];
  agent = await startAgent(loaded.config, log, {
    configPath: configFile,
    logTail,
    // One-off work runs in short-lived children of this same bundle, so the daemon stays lean.
    provision: () => runChild({ bundle, args: provisionArgs, timeoutMs: 120_000, log, what: 'provisioning' }),
    detect: () => detectInChild({ bundle, configFile, timeoutMs, log }),
    restart: (reason) => shutdown(reason, EXIT_RESTART),
    benchmark: () => runChildJson<Record<string, number>>({ bundle, args: ['bench', ...(configFile ? ['--config', configFile] : [])], timeoutMs: 180_000, log, what: 'capability benchmarks' }),
  });
  if (stopping) await agent.stop();
  return -1; // keep running
}

/**
 * The stable loader's part of a start: when the state directory holds updates, run the bundle the update
 * state names (update/loader.ts) in this process and return what its main returns; null to run this bundle.
 * Only the config's stateDir and log level are read here, so a loader that hands off evaluates neither the
 * protocol's schemas nor the daemon; an unreadable config is left to loadConfig's clear error.
 */
async function handOffToUpdate(argv: string[], configPath: string | undefined): Promise<number | null> {
  const startup = peekStartup(configPath, process.env);
  if (!startup) return null;
  if (!existsSync(join(startup.stateDir, UPDATE_DIR))) return null; // never updated: nothing to run or prune
  const log = createLogger({ level: startup.logLevel, scope: 'agent.loader' });
  const { loadUpdatedBundle } = await import('./update/loader.js');
  const handoff = await loadUpdatedBundle({ stateDir: startup.stateDir, installedVersion: AGENT_VERSION, log });
  return handoff ? handoff.main(argv, { loader: { file: process.argv[1]!, version: AGENT_VERSION } }) : null;
}

/** True when this file is the program node started (not when the loader imports it as an update). */
function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) agentMain(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`sosna-agent: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
