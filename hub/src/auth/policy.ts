// Who may publish and subscribe to what (pure; the broker adapter calls it). Defaults deny.
//   device   dev:{id}      publish own state/telemetry/rpc/out; subscribe own rpc/in and config (the hub's retained
//                          desired config); read announcements
//   operator op:{name}     (client id op-{name}-{suffix}) publish own console rpc/in; subscribe own console rpc/out; read announcements
//   key      key:{keyId}   publish provision/{clientId}/rpc/in; subscribe provision/{clientId}/rpc/out; read announcements
// Every login of a hub reads its mining rates (mining/rates, retained: public market figures).
// Nobody but the hub itself (in-process, no client) publishes announcements, rates or anything else.
import { hasWildcard, operatorOfClientId, parseTopic, PROVISION_CLIENT_PREFIX, topics } from '@sosna/protocol';
import type { Session } from '../broker/session.js';

/**
 * Whether a login may use its client id. Every kind is bound, because the broker closes whatever connection
 * held a client id before (MQTT-3.1.4-2): a device connects under its own id (a second connection replaces
 * the first), an operator as op-{its name}-{suffix}, a provisioning session as prov-{nonce}. The caller also
 * refuses an operator or provisioning client id that is some device's id (a device may be named "op-x-y").
 */
export function mayConnect(session: Session): boolean {
  const p = session.principal;
  switch (p.kind) {
    case 'device':
      return session.clientId === p.deviceId;
    case 'operator':
      return operatorOfClientId(session.clientId) === p.name;
    case 'provision':
      return session.clientId.startsWith(PROVISION_CLIENT_PREFIX) && session.clientId.length > PROVISION_CLIENT_PREFIX.length;
  }
}

export function mayPublish(session: Session, hubId: string, topic: string): boolean {
  const t = parseTopic(topic);
  if (!t || t.hubId !== hubId || t.kind === 'announce') return false;
  const p = session.principal;
  switch (p.kind) {
    case 'device':
      return t.kind === 'device' && t.deviceId === p.deviceId && (t.channel === 'state' || t.channel === 'telemetry' || t.channel === 'rpc/out');
    case 'operator':
      return t.kind === 'console' && t.operator === p.name && t.dir === 'in';
    case 'provision':
      return t.kind === 'provision' && t.session === session.clientId && t.dir === 'in';
  }
}

export function maySubscribe(session: Session, hubId: string, filter: string): boolean {
  if (filter === topics.announceAll() || filter === topics.announce(hubId) || filter === topics.miningRates(hubId)) return true;
  if (hasWildcard(filter)) return false;
  const t = parseTopic(filter);
  if (!t || t.hubId !== hubId) {
    // other hubs' announcements are public too
    return t?.kind === 'announce';
  }
  const p = session.principal;
  switch (p.kind) {
    case 'device':
      return t.kind === 'device' && t.deviceId === p.deviceId && (t.channel === 'rpc/in' || t.channel === 'config');
    case 'operator':
      return t.kind === 'console' && t.operator === p.name && t.dir === 'out';
    case 'provision':
      return t.kind === 'provision' && t.session === session.clientId && t.dir === 'out';
  }
}
