// RPC peers keyed by the id in a topic (device, operator, provisioning session): one subscription on the
// wildcard topic feeds every peer, each peer publishes on its own reply topic.
import { parseTopic, RpcPeer } from '@sosna/protocol';
import type { Codec, Logger, PeerRole, RpcEndpoint } from '@sosna/protocol';
import type { Bus } from './bus.js';

export interface PeerTableOptions<Meta> {
  bus: Bus;
  codec: Codec;
  log: Logger;
  role: PeerRole;
  /** Filter for frames from the other side (wildcard on the id level). */
  inbound: string;
  /** Topic on which frames to a given id go. */
  outbound: (id: string) => string;
  /** The id a parsed inbound topic names, or null to ignore it. */
  idOf: (topic: string) => string | null;
  endpoint?: RpcEndpoint<Meta>;
  meta?: (id: string) => Meta | undefined;
  timeoutMs?: number;
  limit?: number;
}

export class PeerTable<Meta = unknown> {
  private readonly peers = new Map<string, RpcPeer<Meta>>();
  private unsubscribe?: () => Promise<void>;

  constructor(private readonly o: PeerTableOptions<Meta>) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.o.bus.subscribe(this.o.inbound, (topic, payload) => {
      const id = this.o.idOf(topic);
      if (id === null) return;
      const peer = this.get(id);
      peer?.receive(payload);
    });
  }

  /** The peer for an id, created on first use; undefined when meta refuses the id. */
  get(id: string): RpcPeer<Meta> | undefined {
    let peer = this.peers.get(id);
    if (peer) return peer;
    const meta = this.o.meta ? this.o.meta(id) : undefined;
    if (this.o.meta && meta === undefined) return undefined;
    const out = this.o.outbound(id);
    peer = new RpcPeer<Meta>({
      role: this.o.role,
      codec: this.o.codec,
      endpoint: this.o.endpoint,
      peer: id,
      meta,
      defaultTimeoutMs: this.o.timeoutMs,
      log: this.o.log,
      send: (bytes) => {
        this.o.bus.publish(out, bytes, { qos: 1 }).catch((err: unknown) => this.o.log.warn('publish failed', { topic: out, error: String(err) }));
      },
    });
    const limit = this.o.limit ?? 100_000;
    if (this.peers.size >= limit) {
      const [oldId, oldPeer] = this.peers.entries().next().value as [string, RpcPeer<Meta>];
      oldPeer.close('evicted');
      this.peers.delete(oldId);
    }
    this.peers.set(id, peer);
    return peer;
  }

  peek(id: string): RpcPeer<Meta> | undefined {
    return this.peers.get(id);
  }

  drop(id: string, reason: string): void {
    this.peers.get(id)?.close(reason);
    this.peers.delete(id);
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    for (const p of this.peers.values()) p.close('hub stopping');
    this.peers.clear();
  }
}

export const topicId = (kind: 'device' | 'console' | 'provision', hubId: string) => (topic: string): string | null => {
  const t = parseTopic(topic);
  if (!t || t.hubId !== hubId || t.kind !== kind) return null;
  if (t.kind === 'device') return t.deviceId;
  if (t.kind === 'console') return t.operator;
  return t.session;
};
