// `sosna up`: the whole thing on this one machine: a hub on embedded defaults and an agent for this very
// machine, provisioned with a fresh key, then what to do next.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { createProvisioningKey, startHub } from '@sosna/hub';
import { createLogger } from '@sosna/protocol';
import { ensureConsoleProfile, hubConfigFrom } from './hub.js';
import { writeProfile } from '../profile.js';

export function agentBundlePath(): string {
  return fileURLToPath(new URL('../../../agent/dist/sosna-agent.mjs', import.meta.url));
}

/**
 * How the bundle is built to run: its first line is `#!/usr/bin/env -S [VAR=value ...] node [FLAGS]`
 * (scripts/build.mjs); a line of another form gives neither.
 */
export function parseAgentShebang(firstLine: string): { env: Record<string, string>; flags: string[] } {
  const m = /^#!\S*env -S((?: [A-Za-z_][A-Za-z0-9_]*=\S*)*) node(?: (.*))?$/.exec(firstLine);
  if (!m) return { env: {}, flags: [] };
  const env = Object.fromEntries(m[1]!.split(' ').filter(Boolean).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  return { env, flags: m[2] ? m[2].split(' ').filter(Boolean) : [] };
}

export function bundleRunSpec(bundle: string): { env: Record<string, string>; flags: string[] } {
  return parseAgentShebang(readFileSync(bundle, 'utf8').slice(0, 400).split('\n', 1)[0]!);
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run a hub and an agent for this machine (the quick start)')
    .option('--dir <dir>', 'where hub and agent keep their state', '.sosna')
    .option('--port <port>', 'MQTT port', '1883')
    .option('--ws-port <port|off>', 'MQTT over WebSocket port', '8083')
    .action(async (o: { dir: string; port: string; wsPort: string }) => {
      const log = createLogger({ scope: 'up' });
      const bundle = agentBundlePath();
      if (!existsSync(bundle)) throw new Error(`agent bundle missing at ${bundle}: run npm run build first`);
      const dir = resolve(o.dir);
      const hub = await startHub(hubConfigFrom({ dataDir: join(dir, 'hub'), port: o.port, wsPort: o.wsPort, host: '127.0.0.1' }), { log: log.child('hub') });
      const profile = await ensureConsoleProfile(hub);

      const agentDir = join(dir, 'agent');
      const configFile = join(agentDir, 'config.json');
      const hasCreds = existsSync(join(agentDir, 'state', 'credentials.json'));
      let config: Record<string, unknown> = existsSync(configFile) ? (JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>) : {};
      if (!hasCreds && !config.provisioningKey) {
        const { key } = await createProvisioningKey(hub.store, { fleet: 'local', maxUses: 1 });
        config = { ...config, provisioningKey: key };
      }
      config = {
        ...config,
        hub: { url: `mqtt://127.0.0.1:${hub.mqttPort}`, id: hub.hubId, owner: hub.owner },
        name: (config.name as string | undefined) ?? hostname(),
        stateDir: join(agentDir, 'state'),
      };
      writeProfile(configFile, config as never);

      const online = new Promise<string>((ok) => hub.events.once('online', ok));
      const run = bundleRunSpec(bundle);
      const agent = spawn(process.execPath, ['--enable-source-maps', ...run.flags, bundle, '--config', configFile], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...run.env } });
      const agentExited = new Promise<number>((ok) => agent.once('exit', (code) => ok(code ?? 1)));
      const timeout = new Promise<null>((ok) => setTimeout(() => ok(null), 60_000).unref());
      const first = await Promise.race([online, agentExited.then(() => null), timeout]);
      if (first === null) {
        agent.kill('SIGTERM');
        await hub.stop();
        throw new Error('the local agent did not come online within 60 s (see its log above)');
      }
      const cli = 'npx sosna';
      process.stdout.write(
        [
          '',
          `sosna is up: hub ${hub.hubId} on mqtt://127.0.0.1:${hub.mqttPort}${hub.wsPort !== null ? ` (WebSocket :${hub.wsPort})` : ''}, this machine is device ${first}.`,
          '',
          'Next, in another terminal:',
          `  ${cli} console devices                      # the fleet (console profile: ${profile})`,
          `  ${cli} console call ${first} system.info`,
          `  ${cli} console chain                        # the hub's wallet on its embedded chain; payouts: console payouts ls`,
          '  the device dashboard: http://127.0.0.1:8480 (its one-time login code is in the agent log above)',
          `  ${cli} hub keys create --fleet rigs --max 10 --data-dir ${join(o.dir, 'hub')}   # a key for your rigs`,
          '  then start an agent on a rig with that key in its config (README: "Put a device on the hub").',
          '',
          'Ctrl-C stops the agent and the hub; state stays in ' + dir + '.',
          '',
        ].join('\n'),
      );
      let stopping = false;
      await new Promise<void>((done) => {
        const stop = () => {
          stopping = true;
          agent.kill('SIGTERM');
          void agentExited.then(() => hub.stop()).then(done);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        void agentExited.then((code) => {
          if (stopping) return;
          log.error('the agent exited on its own; stopping the hub', { code });
          void hub.stop().then(done);
        });
      });
    });
}
