// The hub on an external Mosquitto (`--broker mqtt(s)://...`): the hub is a privileged MQTT client (its own
// admin login) and the broker enforces logins and topic ACLs itself, from what the hub pushes through the
// dynamic-security plugin ($CONTROL/dynamic-security/v1, mosquitto-dynsec.ts). The hub's database stays the
// source of truth; the broker is a cache of it. Start-up refuses a broker it cannot fully use (unreachable,
// no plugin, no admin rights): the hub never runs half-configured.
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { connectError, endClient, publishAsync, subscribeAsync } from '@sosna/protocol';
import type { Logger } from '@sosna/protocol';
import type { Bus, MessageHandler } from './bus.js';
import { baseCommands, baseQuery, deleteDeviceCommands, deviceIdsOf, isHarmless, putDeviceCommands } from './mosquitto-dynsec.js';
import type { DynsecCommand } from './mosquitto-dynsec.js';

export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
const FIX_PLUGIN = 'load the dynamic-security plugin in mosquitto.conf (plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so, plugin_opt_config_file ...) and give the hub\'s login the admin role (mosquitto_ctrl dynsec init FILE USER)';

export interface ExternalBrokerOptions {
  url: string;
  username: string;
  password: string;
  /** CA (PEM) for mqtts:// with a private CA. */
  ca?: string;
  hubId: string;
  log: Logger;
  /** How long start-up waits for the broker and for the plugin's answer. */
  timeoutMs?: number;
}

export interface ExternalBroker extends Bus {
  readonly url: string;
  /** Pushes a device's login as just issued (plaintext password: the broker hashes it). */
  putDevice(deviceId: string, password: string): Promise<void>;
  /** Deletes a device's login; the broker disconnects it. */
  deleteDevice(deviceId: string): Promise<void>;
  /** The device ids the broker holds logins for. */
  listDevices(): Promise<string[]>;
  connectedClients(): number;
  /** Whether the hub's connection to the broker is up now. */
  connected(): boolean;
  /** Calls fn each time the broker is reachable again and the sosna roles are in place (after a reconnect). */
  onSynced(fn: () => void): void;
}

export class BrokerConfigError extends Error {}
/** The connection closed before the plugin answered (dynsec disconnects a client whose roles change). */
class LostAnswer extends Error {}

function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Connects as the hub, checks the plugin answers and the hub may administer it, pushes the base roles. */
export async function startExternalBroker(opts: ExternalBrokerOptions): Promise<ExternalBroker> {
  const { log } = opts;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const flag = `--broker ${opts.url}`;
  const client: MqttClient = mqtt.connect(opts.url, {
    clientId: `sosna-hub-${opts.hubId}-${randomBytes(4).toString('hex')}`,
    username: opts.username,
    password: opts.password,
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 1_000,
    connectTimeout: timeoutMs,
    resubscribe: true,
    rejectUnauthorized: true,
    ...(opts.ca ? { ca: opts.ca } : {}),
  });
  const handlers = new Map<string, Set<MessageHandler>>();
  let started = false; // start-up done: from then on a request while disconnected fails at once (the caller keeps it)
  const pending = new Map<string, { resolve: (r: { command: string; error?: string; data?: unknown }[]) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  client.on('close', () => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      pending.delete(id);
      p.reject(new LostAnswer('the broker connection closed before the answer'));
    }
  });
  client.on('message', (topic, payload) => {
    if (topic === `${DYNSEC_TOPIC}/response`) {
      let body: { responses?: { command: string; error?: string; data?: unknown; correlationData?: string }[] };
      try {
        body = JSON.parse(payload.toString('utf8'));
      } catch {
        return;
      }
      const id = body.responses?.[0]?.correlationData?.split(':')[0];
      const p = id ? pending.get(id) : undefined;
      if (p) {
        pending.delete(id!);
        clearTimeout(p.timer);
        p.resolve(body.responses ?? []);
      }
      return;
    }
    for (const [filter, set] of handlers) {
      if (!matches(filter, topic)) continue;
      for (const h of set) {
        try {
          h(topic, payload);
        } catch (err) {
          log.error('bus handler failed', { topic, error: String(err) });
        }
      }
    }
  });

  // 1. the broker answers and takes the hub's login
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown) => {
        done();
        client.end(true);
        reject(err);
      };
      const ok = () => { done(); resolve(); };
      const t = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const done = () => {
        clearTimeout(t);
        client.off('connect', ok);
        client.off('error', fail);
      };
      client.on('connect', ok);
      client.on('error', fail);
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 4 || code === 5 || code === 134 || code === 135) {
      throw new BrokerConfigError(`${flag}: the broker refused the connection of the login ${opts.username}: bad user name or password, or not authorized. Fix: give the hub's admin login (broker.username with broker.password or passwordFile, or mqtt://user:password@host in --broker), as created by mosquitto_ctrl dynsec init FILE USER`);
    }
    throw new BrokerConfigError(`${flag}: ${connectError(err, opts.url).message}. Fix: start the broker or correct the URL`);
  }

  /** Sends commands in one message; resolves with the answers, or rejects when the plugin does not answer. */
  const request = async (commands: DynsecCommand[]): Promise<{ command: string; error?: string; data?: unknown }[]> => {
    // (a LostAnswer: pushBase tries again once connected; a revoke is kept for later by its caller)
    if (started && !client.connected) throw new LostAnswer(`${flag}: not connected to the broker (reconnecting)`);
    const id = randomBytes(8).toString('hex');
    const answer = new Promise<{ command: string; error?: string; data?: unknown }[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new BrokerConfigError(`${flag}: no answer from the dynamic-security plugin on ${DYNSEC_TOPIC} within ${timeoutMs} ms: the broker does not load the plugin, or the login ${opts.username} may not use ${DYNSEC_TOPIC}. Fix: ${FIX_PLUGIN}`));
      }, timeoutMs);
      pending.set(id, { resolve, reject, timer });
    });
    answer.catch(() => {}); // awaited below; it may settle while the publish still waits for its PUBACK
    await publishAsync(client, DYNSEC_TOPIC, Buffer.from(JSON.stringify({ commands: commands.map((c, i) => ({ ...c, correlationData: `${id}:${i}` })) })), { qos: 1 });
    return answer;
  };
  const run = async (commands: DynsecCommand[], what: string): Promise<{ command: string; error?: string; data?: unknown }[]> => {
    const answers = await request(commands);
    const bad = answers.filter((a) => a.error && !isHarmless(a.command, a.error));
    if (bad.length) throw new Error(`${flag}: ${what}: ${bad.map((b) => `${b.command}: ${b.error}`).join('; ')}`);
    return answers;
  };
  const connected = (): Promise<void> => client.connected ? Promise.resolve() : new Promise((resolve) => client.once('connect', () => resolve()));
  /** Pushes what is missing of the sosna roles; the hub's own new role disconnects it once (then it checks again). */
  const pushBase = async (): Promise<void> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      await connected();
      await subscribeAsync(client, `${DYNSEC_TOPIC}/response`, 1);
      try {
        const missing = baseCommands(opts.username, await request(baseQuery(opts.username)));
        if (!missing.length) return;
        log.info('pushing the sosna roles to the broker', { commands: missing.length });
        await run(missing, 'setting up the sosna roles');
      } catch (err) {
        // lost: the hub's own new role disconnected it; on a later try, a slow answer after that reconnect
        // is tried again too (the first try's timeout is the start-up's verdict on the plugin)
        if (!(err instanceof LostAnswer) && attempt === 0) throw err;
        if (!(err instanceof LostAnswer)) log.warn('no answer from the dynamic-security plugin; trying again', { error: (err as Error).message });
      }
    }
    throw new Error(`${flag}: the sosna roles are still missing after 3 tries`);
  };

  // 2. the plugin answers the hub, and the hub may administer it
  try {
    try {
      await subscribeAsync(client, `${DYNSEC_TOPIC}/response`, 1);
    } catch {
      throw new BrokerConfigError(`${flag}: the login ${opts.username} may not subscribe to ${DYNSEC_TOPIC}/response. Fix: ${FIX_PLUGIN}`);
    }
    const answers = await request([{ command: 'getDefaultACLAccess' }]);
    if (answers[0]?.error) throw new BrokerConfigError(`${flag}: the dynamic-security plugin refused the hub (${answers[0].error}). Fix: ${FIX_PLUGIN}`);
    await pushBase();
  } catch (err) {
    client.end(true);
    throw err instanceof BrokerConfigError ? err : new BrokerConfigError(`${flag}: ${err instanceof Error ? err.message : String(err)}. Fix: ${FIX_PLUGIN}`);
  }

  // after a reconnect (a restarted broker, maybe with its dynsec file lost) what is missing is pushed again
  started = true;
  const synced = new Set<() => void>();
  let checking = false;
  client.on('connect', () => {
    if (checking) return;
    checking = true;
    log.info('connected to the broker again: checking the sosna roles', { url: opts.url });
    pushBase().then(
      () => { for (const fn of synced) fn(); },
      (err) => log.error('could not push the sosna roles after a reconnect', { error: String(err) }),
    ).finally(() => { checking = false; });
  });
  client.on('error', (err) => log.warn('broker connection error', { url: opts.url, error: err.message }));
  client.on('offline', () => log.warn('broker connection lost; reconnecting', { url: opts.url }));
  log.info('using the external broker', { url: opts.url, user: opts.username });

  return {
    url: opts.url,
    async publish(topic, payload, o) {
      await publishAsync(client, topic, payload, { qos: o?.qos ?? 1, retain: o?.retain ?? false });
    },
    async subscribe(filter, handler) {
      let set = handlers.get(filter);
      if (!set) {
        set = new Set();
        handlers.set(filter, set);
        await subscribeAsync(client, filter, 1);
      }
      set.add(handler);
      return async () => {
        set!.delete(handler);
        if (set!.size === 0 && handlers.get(filter) === set) {
          handlers.delete(filter);
          // not waiting for the UNSUBACK: no handler is left for the filter, and a broker that answers nothing
          // (hung, partitioned) would hold a hub's stop until the keep-alive gives up
          if (client.connected) client.unsubscribe(filter);
        }
      };
    },
    async close() {
      for (const p of pending.values()) clearTimeout(p.timer);
      await endClient(client);
    },
    putDevice: async (deviceId, password) => void (await run(putDeviceCommands(opts.hubId, deviceId, password), `pushing device ${deviceId}`)),
    deleteDevice: async (deviceId) => void (await run(deleteDeviceCommands(deviceId), `deleting device ${deviceId}`)),
    listDevices: async () => {
      const [a] = await run([{ command: 'listClients' }], 'listing clients');
      return deviceIdsOf(((a?.data as { clients?: string[] } | undefined)?.clients) ?? []);
    },
    connectedClients: () => 0, // the broker counts its clients; the hub sees only its own connection
    connected: () => client.connected,
    onSynced: (fn) => void synced.add(fn),
  };
}
