// The operator's side of the console: one MQTT connection as op:{name}, RPC on console/{name}/rpc/*.
import { z } from 'zod';
import { clientIds, connectOnce, createCodec, endClient, Id, isTlsUrl, readPem, RpcPeer, SosnaError, subscribeAsync, topics, usernames } from '@sosna/protocol';
import type { CallOptions, MqttClient, Params, Result, ServiceSpec } from '@sosna/protocol';
import { randomBytes } from 'node:crypto';

export const ConsoleProfile = z.object({
  url: z.string().min(1),
  hubId: Id,
  user: Id,
  password: z.string().min(1),
  /** For an mqtts:// or wss:// url: the hub's CA (PEM, or a file path); absent: the system's public CAs. */
  ca: z.string().min(1).optional(),
  /** A client certificate and key (PEM or file paths) for a hub that requires them (mutual TLS). */
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
});
export type ConsoleProfile = z.infer<typeof ConsoleProfile>;

export class ConsoleClient {
  private constructor(private readonly client: MqttClient, private readonly peer: RpcPeer, readonly profile: ConsoleProfile) {}

  static async connect(profile: ConsoleProfile, opts: { timeoutMs?: number } = {}): Promise<ConsoleClient> {
    const username = usernames.operator(profile.user);
    const client = await connectOnce({
      url: profile.url,
      clientId: clientIds.operator(profile.user, randomBytes(4).toString('hex')), // bound to the login (protocol/src/topics.ts)
      username,
      password: profile.password,
      connectTimeoutMs: opts.timeoutMs ?? 10_000,
      tls: isTlsUrl(profile.url)
        ? {
            ...(profile.ca ? { ca: readPem(profile.ca, 'console profile "ca"', 'certificate') } : {}),
            ...(profile.cert && profile.key ? { cert: readPem(profile.cert, 'console profile "cert"', 'certificate'), key: readPem(profile.key, 'console profile "key"', 'key') } : {}),
          }
        : undefined,
    }).catch((err: unknown) => {
      // the hub answers a wrong user and a wrong password alike (it does not say which users exist)
      if (err instanceof SosnaError && err.code === 'E_UNAUTHORIZED') {
        throw new SosnaError('E_UNAUTHORIZED', `${profile.url} refused operator ${username}: the user name or the password is wrong (or the operator was removed)`);
      }
      if (err instanceof SosnaError && err.code === 'E_UNAVAILABLE') throw new SosnaError('E_UNAVAILABLE', `${err.message} (is the hub running there?)`);
      throw err;
    });
    const codec = createCodec({ maxPayload: 16 * 1024 * 1024 });
    const inTopic = topics.console(profile.hubId, profile.user, 'in');
    const peer = new RpcPeer({
      role: 'caller',
      codec,
      peer: `hub ${profile.hubId}`,
      defaultTimeoutMs: opts.timeoutMs ?? 15_000,
      send: (bytes) => client.publish(inTopic, Buffer.from(bytes), { qos: 1 }),
    });
    client.on('message', (_topic, payload) => peer.receive(payload));
    client.on('close', () => peer.failPending('connection to the hub closed'));
    await subscribeAsync(client, topics.console(profile.hubId, profile.user, 'out'));
    return new ConsoleClient(client, peer, profile);
  }

  call<S extends ServiceSpec, K extends keyof S['methods'] & string>(spec: S, method: K, params: Params<S, K>, opts?: CallOptions): Promise<Result<S, K>> {
    return this.peer.call(spec, method, params, opts);
  }

  async close(): Promise<void> {
    this.peer.close('console closed');
    await endClient(this.client);
  }
}
