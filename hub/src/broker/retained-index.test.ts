import { describe, expect, it } from 'vitest';
import memoryPersistence from 'aedes-persistence';
import { hasWildcard, indexedMemoryPersistence } from './retained-index.js';

type P = ReturnType<typeof indexedMemoryPersistence>;
const plain = ((memoryPersistence as unknown as { default?: () => P }).default ?? memoryPersistence) as unknown as () => P;

const packet = (topic: string, payload: string) => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: true, brokerId: 'b', brokerCounter: 1 }) as never;
// without a callback the store resolves at once (with one it waits for a broker's set-up)
const store = (p: P, topic: string, payload: string) => (p.storeRetained as unknown as (pk: unknown) => Promise<void>)(packet(topic, payload));
const read = async (stream: NodeJS.ReadableStream) => {
  const out: string[] = [];
  for await (const pk of stream as AsyncIterable<{ topic: string; payload: Buffer }>) out.push(`${pk.topic}=${pk.payload.toString()}`);
  return out.sort();
};

describe('retained messages indexed by topic', () => {
  it('knows a wildcard filter', () => {
    expect(hasWildcard('a/+/c')).toBe(true);
    expect(hasWildcard('a/#')).toBe(true);
    expect(hasWildcard('#')).toBe(true);
    expect(hasWildcard('a/b+/c#')).toBe(false); // not a wildcard level: a topic name like any other
    expect(hasWildcard('sosna/v1/h/dev/d1/config')).toBe(false);
  });

  it('answers every filter as aedes\' own memory persistence does (stores, overwrites, clears)', async () => {
    const ours = indexedMemoryPersistence();
    const theirs = plain();
    for (const p of [ours, theirs]) {
      await store(p, 'h/dev/d1/config', 'v1');
      await store(p, 'h/dev/d2/config', 'x');
      await store(p, 'h/dev/d1/state', 'online');
      await store(p, 'h/dev/d1/config', 'v2'); // overwritten
      await store(p, 'h/dev/d2/config', ''); // cleared
    }
    const filters = [['h/dev/d1/config'], ['h/dev/d2/config'], ['h/dev/d1/config', 'h/dev/d1/state'], ['h/dev/+/config'], ['h/#'], ['h/dev/d9/config'], ['h/dev/d1/state', 'h/dev/+/state']];
    for (const f of filters) expect(await read(ours.createRetainedStreamCombi(f)), f.join(' ')).toEqual(await read(theirs.createRetainedStreamCombi(f)));
    expect(await read(ours.createRetainedStream('h/dev/d1/config'))).toEqual(['h/dev/d1/config=v2']);
    expect(await read(ours.createRetainedStream('h/dev/+/state'))).toEqual(['h/dev/d1/state=online']);
  });
});
