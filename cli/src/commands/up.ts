// `sosna up`: the whole thing on this one machine: a hub on embedded defaults and an agent for this very
// machine, provisioned with a fresh key, then what to do next.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { HDNodeWallet } from 'ethers';
import { ANVIL_MNEMONIC } from '@sosna/contracts';
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

/**
 * The quick start's device owner: anvil's dev account #1 (#0 deploys the contracts; the hub owner has a key
 * of its own), a PUBLIC test key from anvil's well-known mnemonic, so the embedded chain's payouts to this
 * machine can be seen and claimed. Never use it on a real network.
 */
export function devOwner(): { address: string; privateKey: string; path: string } {
  const path = "m/44'/60'/0'/0/1";
  const w = HDNodeWallet.fromPhrase(ANVIL_MNEMONIC, undefined, path);
  return { address: w.address, privateKey: w.privateKey, path };
}

export const REBOOT_OFF = 'this device is a sosna up quick-start on a developer machine; reboot is off: start it with `sosna up --allow-reboot` to let the console reboot this machine';

/** True when `port` can be listened on at `host` now. */
export function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once('error', () => ok(false));
    s.listen({ port, host, exclusive: true }, () => s.close(() => ok(true)));
  });
}

/** The first free port from `from` on (20 tries), else 0 (the agent then picks one and logs it). */
export async function freePortFrom(from: number, host: string): Promise<number> {
  for (let p = from; p < from + 20 && p <= 65_535; p++) if (await portFree(p, host)) return p;
  return 0;
}

/** Addresses other machines reach a hub listening on `host` at: the LAN's IPv4 addresses for a wildcard. */
export function reachableAddresses(host: string, nets: ReturnType<typeof networkInterfaces> = networkInterfaces()): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  return Object.values(nets).flatMap((l) => l ?? []).filter((a) => !a.internal && a.family === 'IPv4').map((a) => a.address);
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run a hub and an agent for this machine (the quick start)')
    .option('--dir <dir>', 'where hub and agent keep their state', '.sosna')
    .option('--port <port>', 'MQTT port', '1883')
    .option('--ws-port <port|off>', 'MQTT over WebSocket port', '8083')
    .option('--host <addr>', 'hub listen address; 0.0.0.0 opens it to the LAN (rigs)', '127.0.0.1')
    .option('--allow-reboot', 'let `sosna console devices reboot` reboot this machine (off: it is your own computer)')
    .option('--tls', "MQTT over TLS with the hub's own CA (port 8883, --tls-port): this machine's agent and the console use it")
    .option('--tls-port <port>', 'MQTT over TLS port with --tls', '8883')
    .action(async (o: { dir: string; port: string; wsPort: string; host: string; allowReboot?: boolean; tls?: boolean; tlsPort: string }) => {
      const log = createLogger({ scope: 'up' });
      const bundle = agentBundlePath();
      if (!existsSync(bundle)) throw new Error(`agent bundle missing at ${bundle}: run npm run build first`);
      const dir = resolve(o.dir);
      const hub = await startHub(
        hubConfigFrom({ dataDir: join(dir, 'hub'), port: o.port, wsPort: o.wsPort, host: o.host, ...(o.tls ? { tls: true, tlsPort: o.tlsPort, wssPort: 'off' } : {}) }),
        { log: log.child('hub') },
      );
      // With TLS the agent and the console use it (the hub's CA goes into the agent config as hub.ca).
      const scheme = hub.mqttsPort !== null ? 'mqtts' : 'mqtt';
      const hubPort = hub.mqttsPort ?? hub.mqttPort;
      const urlAt = (host: string) => `${scheme}://${host.includes(':') ? `[${host}]` : host}:${hubPort}`;
      // This machine reaches the hub on loopback unless it listens on one address only.
      const localHost = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
      const localUrl = urlAt(localHost);
      const profile = await ensureConsoleProfile(hub);
      if (localHost !== '127.0.0.1') writeProfile(profile, { ...(JSON.parse(readFileSync(profile, 'utf8')) as object), url: localUrl } as never);

      const agentDir = join(dir, 'agent');
      const configFile = join(agentDir, 'config.json');
      const hasCreds = existsSync(join(agentDir, 'state', 'credentials.json'));
      let config: Record<string, unknown> = existsSync(configFile) ? (JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>) : {};
      if (!hasCreds && !config.provisioningKey) {
        const { key } = await createProvisioningKey(hub.store, { fleet: 'local', maxUses: 1 });
        config = { ...config, provisioningKey: key };
      }
      // Earnings need an owner: a public dev-chain test account unless the config names one.
      const dev = devOwner();
      const owner = (config.owner as string | undefined) ?? dev.address;
      // The dashboard where it can listen: the configured port (8480) or the next free one (this run only).
      const dash = { ...(config.dashboard as Record<string, unknown> | undefined) };
      const dashHost = (dash.host as string | undefined) ?? '0.0.0.0';
      const wantPort = (dash.port as number | undefined) ?? 8480;
      const dashPort = wantPort === 0 || dash.enabled === false ? wantPort : await freePortFrom(wantPort, dashHost);
      if (dashPort !== wantPort) log.warn('dashboard port taken; using another', { taken: wantPort, port: dashPort || 'any free one' });
      // Reboot: the agent must not reboot the developer's machine unless asked to.
      const { rebootDisabled: _off, ...system } = { ...(config.system as Record<string, unknown> | undefined) };
      config = {
        ...config,
        hub: { url: localUrl, id: hub.hubId, owner: hub.owner, ...(hub.mqttsPort !== null && hub.tls?.ca ? { ca: hub.tls.ca } : {}) },
        name: (config.name as string | undefined) ?? hostname(),
        stateDir: join(agentDir, 'state'),
        owner,
        system: o.allowReboot ? system : { ...system, rebootDisabled: REBOOT_OFF },
      };
      writeProfile(configFile, config as never);

      const online = new Promise<string>((ok) => hub.events.once('online', ok));
      const run = bundleRunSpec(bundle);
      const agent = spawn(process.execPath, ['--enable-source-maps', ...run.flags, bundle, '--config', configFile], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...run.env, SOSNA_DASHBOARD_PORT: String(dashPort) } });
      const agentExited = new Promise<number>((ok) => agent.once('exit', (code) => ok(code ?? 1)));
      const timeout = new Promise<null>((ok) => setTimeout(() => ok(null), 60_000).unref());
      const first = await Promise.race([online, agentExited.then(() => null), timeout]);
      if (first === null) {
        agent.kill('SIGTERM');
        await hub.stop();
        throw new Error('the local agent did not come online within 60 s (see its log above)');
      }
      const cli = 'npx sosna';
      const prof = `--profile ${join(o.dir, 'hub', 'console.json')}`;
      const hubDir = join(o.dir, 'hub');
      const lan = isLoopback(o.host) ? [] : reachableAddresses(o.host);
      const rigUrl = lan.length ? urlAt(lan[0]!) : null;
      const ws = hub.wsPort !== null ? ` (WebSocket :${hub.wsPort})` : '';
      const where = isLoopback(o.host)
        ? [`sosna is up: hub ${hub.hubId} on ${localUrl}${ws}, this machine only; this machine is device ${first}.`, `  rigs on your LAN cannot reach it: start with \`npm start -- --host 0.0.0.0\` (sosna up --host 0.0.0.0) to open it.`]
        : [`sosna is up: hub ${hub.hubId} on ${lan.map(urlAt).join(', ') || `${o.host} (no LAN address found)`}${ws}; this machine is device ${first}.`];
      const dashOff = dash.enabled === false;
      const dashUrl = dashPort ? `http://127.0.0.1:${dashPort}` : 'on the port the agent log above names';
      process.stdout.write(
        [
          '',
          ...where,
          '',
          'Next, in another terminal:',
          `  ${cli} console devices ${prof}      # the fleet`,
          `  ${cli} console call ${first} system.info ${prof}`,
          `  ${cli} console chain ${prof}        # the hub's wallet on its embedded chain; payouts: console payouts ls`,
          dashOff
            ? `  the device dashboard: off (dashboard.enabled in ${join(o.dir, 'agent', 'config.json')})`
            : `  the device dashboard: ${dashUrl}${dashPort && dashPort !== wantPort ? ` (${wantPort} was taken)` : ''} (its one-time login code is in the agent log above)`,
          `  earnings of this device go to ${owner}${owner === dev.address ? ` (dev-chain test account #1; its PUBLIC test key ${dev.privateKey})` : ''}:`,
          `    ${cli} wallet show ${owner} --data-dir ${hubDir}`,
          `  reboot: ${o.allowReboot ? 'ON: `console devices reboot` reboots this machine' : 'off (this is your machine); sosna up --allow-reboot turns it on'}`,
          `  ${cli} hub keys create --fleet rigs --max 10 --data-dir ${hubDir}   # a key for your rigs`,
          rigUrl
            ? `  then start an agent on a rig with a config like {"hub":{"url":"${rigUrl}"${hub.tls?.caFile ? ',"ca":"<the PEM of ' + hub.tls.caFile + '>"' : ''}},"provisioningKey":"<that key>"} (README: "Put a device on the hub").`
            : '  then start an agent on a rig with that key in its config (README: "Put a device on the hub"); open the hub to the LAN first (--host 0.0.0.0).',
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
