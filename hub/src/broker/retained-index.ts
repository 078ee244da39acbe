// aedes' in-memory persistence answers every SUBSCRIBE by testing the filter against each retained message:
// with a retained state (and config) per device, a fleet reconnecting after a hub restart costs
// devices x retained topic tests, quadratic in the fleet (at 5,000 devices seconds of the hub's CPU during
// the storm). Devices subscribe to exact topics (their own rpc/in and config), so an index of retained
// messages by topic answers those with one lookup; a filter with a wildcard still goes to the full scan.
import { Readable } from 'node:stream';
import persistenceModule from 'aedes-persistence';
import type { AedesMemoryPersistence } from 'aedes-persistence';

type Persistence = AedesMemoryPersistence;
type RetainedPacket = Parameters<Persistence['storeRetained']>[0];
// a CommonJS module: Node hands over module.exports (the factory), the types describe it as a default export
const memoryPersistence = ((persistenceModule as unknown as { default?: () => Persistence }).default ?? persistenceModule) as unknown as () => Persistence;

/** True when `filter` holds an MQTT wildcard level (+ or #), i.e. it may match more than one topic. Pure. */
export function hasWildcard(filter: string): boolean {
  return filter.split('/').some((level) => level === '+' || level === '#');
}

/** aedes' memory persistence with retained messages also indexed by topic, for wildcard-free filters. */
export function indexedMemoryPersistence(): Persistence {
  const p = memoryPersistence();
  const byTopic = new Map<string, RetainedPacket>();
  const storeRetained = p.storeRetained.bind(p);
  const combi = p.createRetainedStreamCombi.bind(p);
  const single = p.createRetainedStream.bind(p);
  p.storeRetained = (packet, cb) => {
    // the same rule as the persistence: an empty payload clears the topic; a copy, as it keeps one
    const { topic, payload } = packet as unknown as { topic: string; payload: Buffer | string };
    if (payload.length === 0) byTopic.delete(topic);
    else byTopic.set(topic, { ...packet } as RetainedPacket);
    return storeRetained(packet, cb);
  };
  const exact = (filters: string[]) => Readable.from(filters.flatMap((f) => (byTopic.has(f) ? [byTopic.get(f)!] : [])));
  p.createRetainedStreamCombi = (patterns) => (patterns.some(hasWildcard) ? combi(patterns) : exact(patterns));
  p.createRetainedStream = (pattern) => (hasWildcard(pattern) ? single(pattern) : exact([pattern]));
  return p;
}
