// The hub's login and topic rules for an external broker (EMQX, VerneMQ, RabbitMQ) that asks over HTTP
// (hub/src/broker/http-auth.ts): the same Authenticator (throttle, dummy hashes, client-id binding) and the
// same policy (mayPublish/maySubscribe) as the embedded broker, so there is one code path for the rules.
import { parseUsername } from '@sosna/protocol';
import type { DeviceStore, ProvisioningKeyStore } from '../fleet/store.js';
import type { OperatorStore } from './store.js';
import { THROTTLED } from './authenticator.js';
import type { Authenticator } from './authenticator.js';
import { mayConnect, mayPublish, maySubscribe } from './policy.js';
import type { Session } from '../broker/session.js';
import type { AuthDecisions } from '../broker/http-auth.js';

export function externalDecisions(deps: { auth: Authenticator; store: Pick<DeviceStore, 'getDevice'> & Pick<ProvisioningKeyStore, 'getKey'> & Pick<OperatorStore, 'getOperator'>; hubId: string; now?: () => number }): AuthDecisions {
  const now = deps.now ?? Date.now;
  const { store } = deps;

  /**
   * The session of a client the broker admitted earlier, or null: a user name that does not parse, a client id
   * its kind may not use, or a principal that is gone (a removed operator, a revoked or expired key, an unknown
   * device). Re-checked on every question, so a revocation takes effect at the next publish or subscribe.
   */
  function session(clientId: string, username: string): Session | null {
    const principal = parseUsername(username);
    if (!principal) return null;
    const s: Session = { principal, clientId };
    if (!mayConnect(s)) return null;
    switch (principal.kind) {
      case 'device':
        return store.getDevice(principal.deviceId) ? s : null;
      case 'operator':
        return store.getOperator(principal.name) && !store.getDevice(clientId) ? s : null;
      case 'provision': {
        const key = store.getKey(principal.keyId);
        if (!key || key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= now())) return null;
        return store.getDevice(clientId) ? null : s;
      }
    }
  }

  return {
    async login({ clientId, username, password, address }) {
      const r = await deps.auth.authenticate(clientId, username, Buffer.from(password, 'utf8'), address);
      return r === THROTTLED ? 'throttled' : r ? 'allow' : 'deny';
    },
    known({ clientId, username }) {
      if (clientId !== undefined) return session(clientId, username) !== null;
      const p = parseUsername(username);
      if (!p) return false;
      // the client id the principal's kind would use, for the existence checks only
      const stand = p.kind === 'device' ? p.deviceId : p.kind === 'operator' ? `op-${p.name}-x` : 'prov-x';
      return session(stand, username) !== null;
    },
    mayAct({ clientId, username, topic, action }) {
      const s = session(clientId, username);
      if (!s) return false;
      return action === 'publish' ? mayPublish(s, deps.hubId, topic) : maySubscribe(s, deps.hubId, topic);
    },
  };
}
