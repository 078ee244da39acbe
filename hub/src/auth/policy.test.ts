import { describe, expect, it } from 'vitest';
import { topics } from '@sosna/protocol';
import { mayConnect, mayPublish, maySubscribe } from './policy.js';
import type { Session } from '../broker/session.js';

const H = 'hub-1';
const devA: Session = { principal: { kind: 'device', deviceId: 'a' }, clientId: 'a' };
const op: Session = { principal: { kind: 'operator', name: 'alice' }, clientId: 'op-alice-1' };
const prov: Session = { principal: { kind: 'provision', keyId: 'k1' }, clientId: 'prov-nonce123' };

describe('ACL policy', () => {
  it('devices connect only under their own id', () => {
    expect(mayConnect(devA)).toBe(true);
    expect(mayConnect({ ...devA, clientId: 'b' })).toBe(false);
  });

  it('operators connect only as op-{name}-{suffix}, provisioning sessions only as prov-{nonce}', () => {
    expect(mayConnect(op)).toBe(true);
    expect(mayConnect({ ...op, clientId: 'op-alice-3f2a9c01' })).toBe(true);
    expect(mayConnect({ ...op, clientId: 'a' })).toBe(false); // a device's id
    expect(mayConnect({ ...op, clientId: 'op-alice' })).toBe(false);
    expect(mayConnect({ ...op, clientId: 'op-alice-' })).toBe(false);
    expect(mayConnect({ ...op, clientId: 'op-bob-1' })).toBe(false);
    expect(mayConnect({ ...op, clientId: 'op-alice-b-1' })).toBe(false); // operator alice-b's id
    const aliceB: Session = { principal: { kind: 'operator', name: 'alice-b' }, clientId: 'op-alice-b-1' };
    expect(mayConnect(aliceB)).toBe(true);
    expect(mayConnect({ ...aliceB, clientId: 'op-alice-1' })).toBe(false);
    expect(mayConnect(prov)).toBe(true);
    expect(mayConnect({ ...prov, clientId: 'prov-' })).toBe(false);
    expect(mayConnect({ ...prov, clientId: 'a' })).toBe(false);
  });

  it('a device publishes only its own state, telemetry and rpc/out', () => {
    expect(mayPublish(devA, H, topics.device(H, 'a', 'state'))).toBe(true);
    expect(mayPublish(devA, H, topics.device(H, 'a', 'telemetry'))).toBe(true);
    expect(mayPublish(devA, H, topics.device(H, 'a', 'rpc/out'))).toBe(true);
    expect(mayPublish(devA, H, topics.device(H, 'a', 'rpc/in'))).toBe(false);
    expect(mayPublish(devA, H, topics.device(H, 'a', 'config'))).toBe(false); // only the hub sets the desired config
    expect(mayPublish(devA, H, topics.device(H, 'b', 'state'))).toBe(false);
    expect(mayPublish(devA, H, topics.device('other', 'a', 'state'))).toBe(false);
    expect(mayPublish(devA, H, topics.announce(H))).toBe(false);
    expect(mayPublish(devA, H, topics.console(H, 'alice', 'out'))).toBe(false);
    expect(mayPublish(devA, H, 'random/topic')).toBe(false);
  });

  it('a device subscribes only to its rpc/in and to announcements, never with wildcards elsewhere', () => {
    expect(maySubscribe(devA, H, topics.device(H, 'a', 'rpc/in'))).toBe(true);
    expect(maySubscribe(devA, H, topics.announceAll())).toBe(true);
    expect(maySubscribe(devA, H, topics.announce(H))).toBe(true);
    expect(maySubscribe(devA, H, topics.device(H, 'b', 'rpc/in'))).toBe(false);
    expect(maySubscribe(devA, H, topics.device(H, 'a', 'config'))).toBe(true);
    expect(maySubscribe(devA, H, topics.device(H, 'b', 'config'))).toBe(false);
    expect(maySubscribe(devA, H, topics.deviceAll(H, 'config'))).toBe(false);
    expect(maySubscribe(devA, H, topics.deviceAll(H, 'rpc/in'))).toBe(false);
    expect(maySubscribe(devA, H, 'sosna/v1/#')).toBe(false);
    expect(maySubscribe(devA, H, '#')).toBe(false);
    expect(maySubscribe(devA, H, '$SYS/#')).toBe(false);
    expect(maySubscribe(devA, H, topics.device(H, 'a', 'state'))).toBe(false);
  });

  it('every login of the hub reads its mining rates (public figures), nobody but the hub publishes them', () => {
    for (const who of [devA, op, prov]) {
      expect(maySubscribe(who, H, topics.miningRates(H))).toBe(true);
      expect(mayPublish(who, H, topics.miningRates(H))).toBe(false);
      expect(maySubscribe(who, H, topics.miningRates('other'))).toBe(false);
    }
    expect(maySubscribe(devA, H, 'sosna/v1/+/mining/rates')).toBe(false);
  });

  it('operators use only their own console topics', () => {
    expect(mayPublish(op, H, topics.console(H, 'alice', 'in'))).toBe(true);
    expect(mayPublish(op, H, topics.console(H, 'bob', 'in'))).toBe(false);
    expect(mayPublish(op, H, topics.device(H, 'a', 'rpc/in'))).toBe(false);
    expect(maySubscribe(op, H, topics.console(H, 'alice', 'out'))).toBe(true);
    expect(maySubscribe(op, H, topics.console(H, 'bob', 'out'))).toBe(false);
    expect(maySubscribe(op, H, topics.device(H, 'a', 'rpc/out'))).toBe(false);
    expect(maySubscribe(op, H, topics.device(H, 'a', 'config'))).toBe(false);
    expect(mayPublish(op, H, topics.device(H, 'a', 'config'))).toBe(false);
  });

  it('a provisioning client may only call provision under its own session', () => {
    expect(mayPublish(prov, H, topics.provision(H, 'prov-nonce123', 'in'))).toBe(true);
    expect(mayPublish(prov, H, topics.provision(H, 'prov-other', 'in'))).toBe(false);
    expect(mayPublish(prov, H, topics.device(H, 'a', 'state'))).toBe(false);
    expect(maySubscribe(prov, H, topics.provision(H, 'prov-nonce123', 'out'))).toBe(true);
    expect(maySubscribe(prov, H, topics.provision(H, 'prov-other', 'out'))).toBe(false);
    expect(maySubscribe(prov, H, topics.announceAll())).toBe(true);
  });
});
