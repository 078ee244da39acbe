import { describe, expect, it } from 'vitest';
import { clientIds, operatorOfClientId, parseTopic, parseUsername, topics, usernames } from './topics.js';

describe('topics', () => {
  it('builds and parses every kind of topic', () => {
    expect(parseTopic(topics.announce('h1'))).toEqual({ kind: 'announce', hubId: 'h1' });
    for (const channel of ['state', 'telemetry', 'rpc/in', 'rpc/out', 'config'] as const) {
      expect(parseTopic(topics.device('h1', 'd-1', channel))).toEqual({ kind: 'device', hubId: 'h1', deviceId: 'd-1', channel });
    }
    expect(parseTopic(topics.console('h1', 'alice', 'in'))).toEqual({ kind: 'console', hubId: 'h1', operator: 'alice', dir: 'in' });
    expect(parseTopic(topics.provision('h1', 'p-abc', 'out'))).toEqual({ kind: 'provision', hubId: 'h1', session: 'p-abc', dir: 'out' });
    expect(parseTopic(topics.miningRates('h1'))).toEqual({ kind: 'mining-rates', hubId: 'h1' });
    expect(parseTopic('sosna/v1/h1/mining/other')).toBeNull();
    expect(parseTopic('sosna/v1/h1/mining/rates/x')).toBeNull();
  });

  it('refuses ids that would break the topic tree', () => {
    for (const bad of ['', 'a/b', '+', '#', '$SYS', 'x'.repeat(65), 'a b']) {
      expect(() => topics.device('h1', bad, 'state')).toThrow(/not a valid id/);
    }
    expect(() => topics.announce('hubs')).toThrow(/reserved/);
  });

  it('parses nothing that is not a concrete sosna topic', () => {
    for (const t of ['', 'sosna', 'sosna/v2/h/dev/d/state', 'sosna/v1/h/dev/+/state', 'sosna/v1/h/dev/d/state/x', 'sosna/v1/h/dev//state',
      'sosna/v1/hubs/h/other', 'sosna/v1/h/console/a/rpc', 'other/v1/h/dev/d/state', 'sosna/v1/h/unknown/d/rpc/in']) {
      expect(parseTopic(t)).toBeNull();
    }
  });

  it('maps user names to principals', () => {
    expect(parseUsername(usernames.device('d-1'))).toEqual({ kind: 'device', deviceId: 'd-1' });
    expect(parseUsername(usernames.operator('alice'))).toEqual({ kind: 'operator', name: 'alice' });
    expect(parseUsername(usernames.provision('k1'))).toEqual({ kind: 'provision', keyId: 'k1' });
    for (const bad of [undefined, '', 'alice', 'root:x', 'dev:a/b', 'dev:']) expect(parseUsername(bad)).toBeNull();
  });

  it('builds operator client ids whose name can be read back unambiguously', () => {
    expect(clientIds.operator('alice', '3f2a9c01')).toBe('op-alice-3f2a9c01');
    expect(operatorOfClientId('op-alice-3f2a9c01')).toBe('alice');
    expect(operatorOfClientId(clientIds.operator('a-b', '1'))).toBe('a-b');
    expect(operatorOfClientId(clientIds.operator('a.b_c', 'x.y_z'))).toBe('a.b_c');
    for (const bad of ['op-alice', 'op-alice-', 'op--1', 'alice-1', 'prov-abc', 'op-a/b-1', `op-alice-${'x'.repeat(33)}`]) expect(operatorOfClientId(bad)).toBeNull();
    expect(() => clientIds.operator('alice', 'a-b')).toThrow(/suffix "a-b"/);
    expect(() => clientIds.operator('al/ice', '1')).toThrow(/not a valid id/);
    expect(clientIds.provision('n0nce')).toBe('prov-n0nce');
  });
});
