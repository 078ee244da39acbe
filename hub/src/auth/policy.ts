// Who may publish and subscribe to what (pure; the broker adapter calls it). Defaults deny.
//   device   dev:{id}      publish own state/telemetry/rpc/out; subscribe own rpc/in and config (the hub's retained
//                          desired config); read announcements
//   operator op:{name}     publish own console rpc/in; subscribe own console rpc/out; read announcements
//   key      key:{keyId}   publish provision/{clientId}/rpc/in; subscribe provision/{clientId}/rpc/out; read announcements
// Nobody but the hub itself (in-process, no client) publishes announcements or anything else.
import { hasWildcard, parseTopic, topics } from '@sosna/protocol';
import type { Principal } from '@sosna/protocol';

export interface Session {
  principal: Principal;
  clientId: string;
}

export function mayConnect(session: Session): boolean {
  // A device connects under its own id, so a second connection replaces the first instead of coexisting.
  if (session.principal.kind === 'device') return session.clientId === session.principal.deviceId;
  return true;
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
  if (filter === topics.announceAll() || filter === topics.announce(hubId)) return true;
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
