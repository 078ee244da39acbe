// `sosna hub` (run the hub) and its administration: provisioning keys and operators.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { addOperator, createProvisioningKey, openSqliteStore, parseExpiry, revokeProvisioningKey, startHub } from '@sosna/hub';
import type { Hub, HubConfigInput, HubStore, Role } from '@sosna/hub';
import { createLogger, isTlsUrl } from '@sosna/protocol';
import { DEFAULT_HUB_DIR, hubProfilePath, writeProfile } from '../profile.js';
import { ago, table } from '../table.js';

export interface HubFlags {
  dataDir: string;
  port?: string;
  wsPort?: string;
  host?: string;
  name?: string;
  hubId?: string;
  config?: string;
  logLevel?: string;
  rpc?: string;
  contracts?: string;
  /** commander sets chain=false for --no-chain */
  chain?: boolean;
  payoutEvery?: string;
  /** TLS: own CA unless --tls-cert/--tls-key */
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsPort?: string;
  wssPort?: string;
  tlsName?: string[];
  tlsOnly?: boolean;
  requireClientCert?: boolean;
  /** Prometheus' /metrics: port (0 any free, off none) and listen address */
  metricsPort?: string;
  broker?: string;
  metricsHost?: string;
  /** The HTTP auth endpoint for an external broker: port (0 any free, off none), listen address, token file */
  authHttpPort?: string;
  authHttpHost?: string;
  authHttpTokenFile?: string;
}

function int(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag} ${JSON.stringify(value)}: must be a port number (0-65535)`);
  return n;
}

export function hubConfigFrom(flags: HubFlags): HubConfigInput {
  let file: Record<string, unknown> = {};
  if (flags.config) {
    try {
      file = JSON.parse(readFileSync(flags.config, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${flags.config}: ${(err as Error).message}`);
    }
  }
  const mqtt = { ...(file.mqtt as object | undefined) } as Record<string, unknown>;
  if (flags.port !== undefined) mqtt.port = flags.port === 'off' ? null : int('--port', flags.port);
  if (flags.wsPort !== undefined) mqtt.wsPort = flags.wsPort === 'off' ? null : int('--ws-port', flags.wsPort);
  if (flags.host !== undefined) mqtt.host = flags.host;
  const tls = { ...(file.tls as object | undefined) } as Record<string, unknown>;
  if (flags.tlsCert !== undefined) tls.certFile = resolve(flags.tlsCert);
  if (flags.tlsKey !== undefined) tls.keyFile = resolve(flags.tlsKey);
  if (flags.tlsCa !== undefined) tls.caFile = resolve(flags.tlsCa);
  if (flags.tlsPort !== undefined) tls.port = int('--tls-port', flags.tlsPort);
  if (flags.wssPort !== undefined) tls.wsPort = flags.wssPort === 'off' ? null : int('--wss-port', flags.wssPort);
  if (flags.tlsName?.length) tls.names = [...((tls.names as string[] | undefined) ?? []), ...flags.tlsName.flatMap((n) => n.split(',')).map((n) => n.trim()).filter(Boolean)];
  if (flags.requireClientCert) tls.requireClientCert = true;
  if (flags.tls || flags.tlsOnly || flags.tlsCert !== undefined || flags.requireClientCert) tls.enabled = true;
  if (flags.tlsOnly) {
    if (flags.port !== undefined && flags.port !== 'off') throw new Error(`--tls-only turns the plain MQTT listener off; drop --port ${flags.port} (use --tls-port)`);
    mqtt.port = null;
    mqtt.wsPort = null;
  }
  let broker = file.broker as Record<string, unknown> | undefined;
  if (flags.broker !== undefined) {
    let u: URL; // user and password may ride in the URL: mqtt://user:pass@host:port
    try {
      u = new URL(flags.broker);
    } catch {
      throw new Error(`--broker ${JSON.stringify(flags.broker)}: not a URL; use mqtt://user:password@host:port or mqtts://...`);
    }
    broker = { ...broker, url: `${u.protocol}//${u.host}` };
    if (u.username) broker.username = decodeURIComponent(u.username);
    if (u.password) broker.password = decodeURIComponent(u.password);
  }
  const metrics = { ...(file.metrics as object | undefined) } as Record<string, unknown>;
  if (flags.metricsPort !== undefined) metrics.port = flags.metricsPort === 'off' ? null : int('--metrics-port', flags.metricsPort);
  if (flags.metricsHost !== undefined) metrics.host = flags.metricsHost;
  const authHttp = { ...(file.authHttp as object | undefined) } as Record<string, unknown>;
  if (flags.authHttpPort !== undefined) authHttp.port = flags.authHttpPort === 'off' ? null : int('--auth-http-port', flags.authHttpPort);
  if (flags.authHttpHost !== undefined) authHttp.host = flags.authHttpHost;
  if (flags.authHttpTokenFile !== undefined) {
    try {
      authHttp.token = readFileSync(flags.authHttpTokenFile, 'utf8').trim();
    } catch (err) {
      throw new Error(`--auth-http-token-file ${flags.authHttpTokenFile}: ${(err as Error).message}`);
    }
  }
  const chain = { ...(file.chain as object | undefined) } as Record<string, unknown>;
  if (flags.rpc !== undefined) Object.assign(chain, { mode: 'rpc', rpcUrl: flags.rpc });
  if (flags.contracts !== undefined) chain.contractsFile = flags.contracts;
  if (flags.chain === false) chain.mode = 'off';
  if (flags.payoutEvery !== undefined) {
    const sec = Number(flags.payoutEvery);
    if (!Number.isInteger(sec) || sec < 5) throw new Error(`--payout-every ${JSON.stringify(flags.payoutEvery)}: whole seconds, at least 5`);
    chain.payoutIntervalSec = sec;
  }
  return {
    ...file,
    dataDir: flags.dataDir,
    mqtt,
    tls,
    metrics,
    authHttp,
    chain,
    ...(broker ? { broker: broker as HubConfigInput['broker'] } : {}), // checked by the hub config schema
    ...(flags.name ? { name: flags.name } : {}),
    ...(flags.hubId ? { hubId: flags.hubId } : {}),
    ...(flags.logLevel ? { log: { level: flags.logLevel as 'info' } } : {}),
  };
}

/**
 * Where the hub's own console profile connects. TLS when the hub offers it: on loopback when its
 * certificate names 127.0.0.1 (its own CA's always does); a given certificate (a public CA's names only the
 * host names) by its first name, unless a plain listener serves loopback, where nothing leaves the machine. Pure.
 */
export function consoleUrl(hub: Pick<Hub, 'mqttPort' | 'mqttsPort' | 'tls'> & Partial<Pick<Hub, 'brokerUrl'>>): string {
  // on an external broker the hub still listens for consoles (operators only): that is where its profile points
  if (hub.mqttPort === null && hub.mqttsPort === null && hub.brokerUrl) return hub.brokerUrl;
  if (hub.mqttsPort === null || !hub.tls) return `mqtt://127.0.0.1:${hub.mqttPort}`;
  if (hub.tls.names.includes('127.0.0.1')) return `mqtts://127.0.0.1:${hub.mqttsPort}`;
  if (hub.mqttPort !== null) return `mqtt://127.0.0.1:${hub.mqttPort}`;
  const name = hub.tls.names.find((n) => !n.includes('*')) ?? '127.0.0.1';
  return `mqtts://${name.includes(':') ? `[${name}]` : name}:${hub.mqttsPort}`;
}

/**
 * First start: an `admin` operator and a console profile beside the database; later starts refresh its URL.
 * A hub that offers TLS gets an mqtts:// profile with its CA (the console and `sosna up` then use TLS).
 */
export async function ensureConsoleProfile(hub: Hub): Promise<string> {
  const file = hubProfilePath(hub.dataDir);
  const url = consoleUrl(hub);
  let old: { password?: string; cert?: string; key?: string } = {};
  if (existsSync(file)) {
    try {
      old = JSON.parse(readFileSync(file, 'utf8')) as typeof old;
    } catch {
      old = {};
    }
  }
  let password = old.password;
  if (!password || !hub.store.getOperator('admin')) password = (await addOperator(hub.store, 'admin', 'admin')).password;
  const tls = url.startsWith('mqtts:') && hub.tls?.ca ? { ca: hub.tls.ca } : {};
  // mutual TLS: the console presents a certificate of the hub's CA too (kept while it still fits)
  const client = url.startsWith('mqtts:') && hub.tls?.requireClientCert ? await hub.tls.clientCertificate('admin', old.cert && old.key ? { cert: old.cert, key: old.key } : null) : null;
  writeProfile(file, { url, hubId: hub.hubId, user: 'admin', password, ...tls, ...(client ? { cert: client.cert, key: client.key } : {}) });
  return file;
}

function withStore<T>(dataDir: string, fn: (store: HubStore) => Promise<T> | T): Promise<T> {
  const db = join(resolve(dataDir), 'hub.db');
  if (!existsSync(db)) throw new Error(`no hub database at ${db}: start the hub once (sosna hub --data-dir ${dataDir}) or pass --data-dir`);
  const store = openSqliteStore(db);
  return Promise.resolve(fn(store)).finally(() => store.close());
}

export function registerHub(program: Command): void {
  const hub = program.command('hub').enablePositionalOptions().description('run a hub: embedded MQTT broker, fleet registry, console service');
  const dataDirOpt = ['--data-dir <dir>', 'hub data directory (database, owner key, console profile)', DEFAULT_HUB_DIR] as const;
  hub
    .option(...dataDirOpt)
    .option('--port <port|off>', 'plain MQTT port (default 1883); off for none')
    .option('--ws-port <port|off>', 'MQTT over WebSocket port (default 8083)')
    .option('--host <addr>', 'listen address (default 0.0.0.0)')
    .option('--name <name>', 'hub name shown to devices')
    .option('--hub-id <id>', 'hub id (fixed at first start)')
    .option('--config <file>', 'hub config JSON')
    .option('--log-level <level>', 'debug, info, warn or error')
    .option('--rpc <url>', 'pay on this chain (needs --contracts) instead of the embedded development chain')
    .option('--contracts <file>', 'contract addresses and this hub\'s wallet: {chainId, token, dao, whitelist, factory, wallet}')
    .option('--no-chain', 'no chain at all: no payouts')
    .option('--payout-every <seconds>', 'how often owed earnings are paid (default 600)')
    .option('--tls', "serve MQTT over TLS (--tls-port, default 8883) and WSS (--wss-port, default 8084) with the hub's own CA ({data-dir}/tls/ca.pem)")
    .option('--tls-cert <file>', 'TLS certificate chain (PEM), e.g. from a public CA, instead of the own CA (implies --tls)')
    .option('--tls-key <file>', 'private key of --tls-cert (PEM)')
    .option('--tls-ca <file>', 'CA of --tls-cert that devices should trust (a private CA; not needed for a public one)')
    .option('--tls-port <port>', 'MQTT over TLS port (default 8883)')
    .option('--wss-port <port|off>', 'MQTT over WebSocket over TLS port (default 8084)')
    .option('--tls-name <name...>', "more host names/addresses for the own CA's server certificate (localhost, 127.0.0.1, the host name and --host are always in)")
    .option('--tls-only', 'TLS only: no plain MQTT or WebSocket listener (implies --tls)')
    .option('--require-client-cert', 'mutual TLS: devices present a certificate signed by the hub CA (or --tls-ca)')
    .option('--broker <url>', "an external broker (Mosquitto with dynamic-security) instead of the embedded one: mqtt(s)://user:password@host:port, or broker {url, username, passwordFile} in --config")
    .option('--metrics-port <port|off>', "Prometheus /metrics port (default 0: any free port, see runtime.json); off for none")
    .option('--metrics-host <addr>', 'listen address of /metrics (default 127.0.0.1)')
    .option('--auth-http-port <port|off>', 'HTTP authn/authz endpoint for an external broker (EMQX 5 format; 0: any free port, see runtime.json); default off')
    .option('--auth-http-host <addr>', 'listen address of the auth endpoint (default 127.0.0.1)')
    .option('--auth-http-token-file <file>', 'file holding the shared secret the broker sends as Authorization: Bearer <token> (at least 24 characters)')
    .action(async (flags: HubFlags) => {
      const log = createLogger({ level: (flags.logLevel as 'info') ?? 'info', scope: 'hub' });
      // SIGINT/SIGTERM from the start on: one before the hub is ready aborts its start-up, which stops what
      // it started (the embedded chain's anvil process included) instead of leaving it behind
      const starting = new AbortController();
      let stopRunning: (() => void) | null = null;
      const onSignal = (sig: NodeJS.Signals) => (stopRunning ? stopRunning() : starting.abort(new Error(`hub stopped by ${sig} before it was ready`)));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let h: Awaited<ReturnType<typeof startHub>>;
      try {
        h = await startHub(hubConfigFrom(flags), { log, signal: starting.signal, configFile: flags.config });
      } catch (err) {
        if (!starting.signal.aborted) throw err;
        log.info((starting.signal.reason as Error).message);
        return;
      }
      const running = h;
      const profile = await ensureConsoleProfile(h);
      const listeners = [
        h.mqttsPort !== null ? `mqtts://0.0.0.0:${h.mqttsPort}` : null, h.wssPort !== null ? `wss://0.0.0.0:${h.wssPort}` : null,
        h.mqttPort !== null ? `mqtt://0.0.0.0:${h.mqttPort}` : null, h.wsPort !== null ? `ws://0.0.0.0:${h.wsPort}` : null,
      ].filter(Boolean);
      if (h.brokerUrl && listeners.length) listeners.splice(0, listeners.length, `${listeners.join(' and ')} (consoles only)`);
      if (h.brokerUrl) listeners.push(`the external broker ${h.brokerUrl} (devices)`);
      const ca = h.tls?.caFile ? `\nTLS CA (devices get it as hub.ca): ${h.tls.caFile}, or pin it as hub.fingerprint: ${h.tls.fingerprint}` : '';
      const metrics = h.metrics ? `\nmetrics: ${h.metrics.url}` : '';
      const authHttp = h.authHttp ? `\nbroker auth endpoint: ${h.authHttp.url}/emqx/authn, ${h.authHttp.url}/emqx/authz` : '';
      process.stdout.write(`hub ${h.hubId} ready on ${listeners.join(' and ')}${ca}${metrics}${authHttp}\nconsole profile: ${profile}\n`);
      await new Promise<void>((done) => {
        stopRunning = () => void running.stop().then(done);
        if (starting.signal.aborted) stopRunning(); // a signal while the profile was written
      });
    });

  const keys = hub.command('keys').description('fleet provisioning keys');
  keys
    .command('create')
    .description('create a key that devices of a fleet use on first boot')
    .requiredOption('--fleet <name>', 'fleet the devices join')
    .option('--max <n>', 'how many devices may use it')
    .option('--expires <when>', 'expiry: 7d, 12h, 30m or an ISO date')
    .option(...dataDirOpt)
    .action(async (o: { fleet: string; max?: string; expires?: string; dataDir: string }) => {
      const maxUses = o.max === undefined ? null : Number(o.max);
      if (maxUses !== null && (!Number.isInteger(maxUses) || maxUses < 1)) throw new Error(`--max ${JSON.stringify(o.max)}: must be a positive whole number`);
      const expiresAt = o.expires ? parseExpiry(o.expires) : null;
      const created = await withStore(o.dataDir, (s) => createProvisioningKey(s, { fleet: o.fleet, maxUses, expiresAt }));
      process.stdout.write(`${created.key}\n`);
      process.stderr.write(
        `provisioning key ${created.row.id} for fleet ${o.fleet}${maxUses ? `, ${maxUses} device(s)` : ''}${expiresAt ? `, expires ${new Date(expiresAt).toISOString()}` : ''}.\n` +
          `Put it in the device config as "provisioningKey"; it is shown only now.\n` +
          (existsSync(join(resolve(o.dataDir), 'tls', 'ca.pem'))
            ? `For the hub's mqtts:// URL put its CA in the device config as "hub": {"ca": ...}: the PEM of ${join(resolve(o.dataDir), 'tls', 'ca.pem')} (or that file's path on the device).\n`
            : ''),
      );
    });
  keys
    .command('ls')
    .description('list provisioning keys')
    .option('--json', 'machine-readable output')
    .option(...dataDirOpt)
    .action(async (o: { json?: boolean; dataDir: string }) => {
      const rows = await withStore(o.dataDir, (s) => s.listKeys());
      const now = Date.now();
      const status = (k: Pick<(typeof rows)[number], 'revokedAt' | 'expiresAt' | 'maxUses' | 'uses'>) =>
        k.revokedAt ? 'revoked' : k.expiresAt !== null && k.expiresAt <= now ? 'expired' : k.maxUses !== null && k.uses >= k.maxUses ? 'exhausted' : 'active';
      if (o.json) {
        process.stdout.write(JSON.stringify(rows.map(({ secretHash: _h, ...k }) => ({ ...k, status: status(k) })), null, 2) + '\n');
        return;
      }
      process.stdout.write(
        table(['KEY', 'FLEET', 'USES', 'EXPIRES', 'STATUS', 'CREATED'], rows.map((k) => [
          k.id, k.fleet, `${k.uses}/${k.maxUses ?? '∞'}`, k.expiresAt ? new Date(k.expiresAt).toISOString() : 'never', status(k), ago(k.createdAt, now),
        ])) + '\n',
      );
    });
  keys
    .command('revoke <keyId>')
    .description('revoke a provisioning key (devices already provisioned keep working)')
    .option(...dataDirOpt)
    .action(async (keyId: string, o: { dataDir: string }) => {
      await withStore(o.dataDir, (s) => revokeProvisioningKey(s, keyId));
      process.stdout.write(`revoked ${keyId}\n`);
    });

  hub
    .command('client-cert <name>')
    .description("issue a TLS client certificate of the hub's own CA, for a device or console of a hub with --require-client-cert")
    .requiredOption('--out <dir>', 'folder for NAME.pem and NAME.key (mode 0600)')
    .option('--days <n>', 'validity in days', '398')
    .option(...dataDirOpt)
    .action(async (name: string, o: { out: string; days: string; dataDir: string }) => {
      const days = Number(o.days);
      if (!Number.isInteger(days) || days < 1 || days > 3650) throw new Error(`--days ${JSON.stringify(o.days)}: a whole number of days, 1-3650`);
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new Error(`${JSON.stringify(name)}: a certificate name is 1-64 letters, digits, '.', '_' or '-'`);
      const dir = join(resolve(o.dataDir), 'tls');
      if (!existsSync(join(dir, 'ca.key'))) throw new Error(`no hub CA in ${dir}: start the hub once with --tls (a hub with a given --tls-cert has no CA key here)`);
      const { issueCertificate } = await import('@sosna/hub/tls');
      const ca = { cert: readFileSync(join(dir, 'ca.pem'), 'utf8'), key: readFileSync(join(dir, 'ca.key'), 'utf8') };
      const issued = await issueCertificate({ ca, names: [name], usage: 'client', notAfter: new Date(Date.now() + days * 86_400_000) });
      mkdirSync(o.out, { recursive: true });
      writeFileSync(join(o.out, `${name}.pem`), issued.cert);
      writeFileSync(join(o.out, `${name}.key`), issued.key, { mode: 0o600 });
      chmodSync(join(o.out, `${name}.key`), 0o600); // also when it replaced an older file
      process.stdout.write(`${join(o.out, `${name}.pem`)}\n${join(o.out, `${name}.key`)}\nput them in the device config as "tls": {"cert": ..., "key": ...}\n`);
    });

  const ops = hub.command('operators').description('console operators');
  ops
    .command('add <name>')
    .description('add an operator (or reset its password) and print the password')
    .option('--role <role>', 'viewer, operator, admin or buyer (its own jobs only)', 'operator')
    .option('--address <address>', 'the on-chain account (required for a buyer)')
    .option('--write-profile <file>', 'also write a console profile file')
    .option('--url <url>', 'hub URL for the profile', 'mqtt://127.0.0.1:1883')
    .option(...dataDirOpt)
    .action(async (name: string, o: { role: string; address?: string; writeProfile?: string; url: string; dataDir: string }) => {
      if (!['viewer', 'operator', 'admin', 'buyer'].includes(o.role)) throw new Error(`--role ${JSON.stringify(o.role)}: use viewer, operator, admin or buyer`);
      const { password, hubId } = await withStore(o.dataDir, async (s) => ({ ...(await addOperator(s, name, o.role as Role, undefined, { address: o.address })), hubId: s.getMeta('hubId') ?? '' }));
      if (o.writeProfile) {
        // an mqtts:// or wss:// profile carries the hub's own CA (when it has one), as the hub's own profile does
        const caFile = join(resolve(o.dataDir), 'tls', 'ca.pem');
        const ca = isTlsUrl(o.url) && existsSync(caFile) ? { ca: readFileSync(caFile, 'utf8') } : {};
        writeProfile(o.writeProfile, { url: o.url, hubId, user: name, password, ...ca });
        process.stdout.write(`operator ${name} (${o.role}); profile written to ${o.writeProfile}\n`);
      } else process.stdout.write(`${password}\n`);
    });
  ops
    .command('ls')
    .description('list operators')
    .option(...dataDirOpt)
    .action(async (o: { dataDir: string }) => {
      const rows = await withStore(o.dataDir, (s) => s.listOperators());
      process.stdout.write(table(['NAME', 'ROLE', 'CREATED'], rows.map((r) => [r.name, r.role, ago(r.createdAt)])) + '\n');
    });
  ops
    .command('rm <name>')
    .description('remove an operator')
    .option(...dataDirOpt)
    .action(async (name: string, o: { dataDir: string }) => {
      const removed = await withStore(o.dataDir, (s) => s.removeOperator(name));
      if (!removed) throw new Error(`no operator ${name}`);
      process.stdout.write(`removed ${name}\n`);
    });
}
