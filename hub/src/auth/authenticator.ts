// Turns MQTT credentials into a session: devices and operators by their scrypt-hashed secrets, provisioning
// keys by theirs plus revocation, expiry and use limits.
import { parseUsername, PROVISION_CLIENT_PREFIX } from '@sosna/protocol';
import type { HubStore, KeyRow } from '../store/types.js';
import { mayConnect } from './policy.js';
import type { Session } from './policy.js';
import { verifySecret, VerifiedCache } from './password.js';



export type KeyProblem = 'unknown' | 'revoked' | 'expired' | 'exhausted' | 'bad secret';

export class Authenticator {
  readonly cache = new VerifiedCache();
  constructor(private readonly store: HubStore, private readonly now: () => number = Date.now) {}

  async check(principalKey: string, secret: string, hash: string): Promise<boolean> {
    if (this.cache.has(principalKey, secret, hash)) return true;
    if (!(await verifySecret(secret, hash))) return false;
    this.cache.remember(principalKey, secret, hash);
    return true;
  }

  /** Why a key cannot be used now, or null when it can. */
  async keyProblem(keyId: string, secret: string, forNewDevice: boolean): Promise<{ problem: KeyProblem | null; key?: KeyRow }> {
    const key = this.store.getKey(keyId);
    if (!key) return { problem: 'unknown' };
    if (key.revokedAt !== null) return { problem: 'revoked', key };
    if (key.expiresAt !== null && key.expiresAt <= this.now()) return { problem: 'expired', key };
    if (forNewDevice && key.maxUses !== null && key.uses >= key.maxUses) return { problem: 'exhausted', key };
    if (!(await this.check(`key:${keyId}`, secret, key.secretHash))) return { problem: 'bad secret', key };
    return { problem: null, key };
  }

  async authenticate(clientId: string, username: string | undefined, password: Buffer | undefined): Promise<Session | null> {
    const principal = parseUsername(username);
    if (!principal || !password || password.length === 0 || password.length > 512) return null;
    const secret = password.toString('utf8');
    const session: Session = { principal, clientId };
    if (!mayConnect(session)) return null;
    switch (principal.kind) {
      case 'device': {
        const row = this.store.getDevice(principal.deviceId);
        return row && (await this.check(`dev:${row.id}`, secret, row.secretHash)) ? session : null;
      }
      case 'operator': {
        const row = this.store.getOperator(principal.name);
        return row && (await this.check(`op:${row.name}`, secret, row.secretHash)) ? session : null;
      }
      case 'provision': {
        // Provisioning clients connect as prov-{nonce}. An exhausted key still admits the nonce of a device it
        // already created, so a device that crashed before saving its credentials can fetch them again.
        const { problem } = await this.keyProblem(principal.keyId, secret, false);
        if (problem) return null;
        if (!clientId.startsWith(PROVISION_CLIENT_PREFIX)) return null;
        const key = this.store.getKey(principal.keyId)!;
        if (key.maxUses !== null && key.uses >= key.maxUses) {
          return this.store.findDeviceByNonce(key.id, clientId.slice(PROVISION_CLIENT_PREFIX.length)) ? session : null;
        }
        return session;
      }
    }
  }
}
