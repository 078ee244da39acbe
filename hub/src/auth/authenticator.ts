// Turns MQTT credentials into a session: devices and provisioning keys by their machine-secret hashes
// (SHA-256), operators by scrypt, keys also by revocation, expiry and use limits. In front of any hash: the
// client-id binding (policy.ts) and the login throttle (throttle.ts). An unknown user name costs the same
// hash as a wrong password (a dummy hash of the same kind), so response times do not tell which ids exist.
import { parseUsername, PROVISION_CLIENT_PREFIX } from '@sosna/protocol';
import type { Logger, Principal } from '@sosna/protocol';
import type { DeviceStore, KeyRow, ProvisioningKeyStore } from '../fleet/store.js';
import type { OperatorStore } from './store.js';
import { mayConnect } from './policy.js';
import type { Session } from '../broker/session.js';
import { DEFAULT_SCRYPT, hashKind, hashMachineSecret, hashSecret, randomSecret, verifySecret } from './password.js';
import type { ScryptParams, SecretVerifier } from './password.js';
import { LoginThrottle } from './throttle.js';

export type KeyProblem = 'unknown' | 'revoked' | 'expired' | 'exhausted' | 'bad secret';

/** Refused before any hash because the throttle said so (the broker answers CONNACK 3, "server unavailable"). */
export const THROTTLED = 'throttled' as const;

export interface AuthenticatorOptions {
  now?: () => number;
  /** The hash check; tests wrap it to observe the hash work. */
  verify?: SecretVerifier;
  throttle?: LoginThrottle;
  /** Parameters of operator hashes, for the dummy an unknown operator is checked against. */
  scrypt?: ScryptParams;
  log?: Logger;
}

export class Authenticator {
  private readonly now: () => number;
  private readonly verify: SecretVerifier;
  private readonly throttle: LoginThrottle;
  private readonly log?: Logger;
  private readonly dummyMachine = hashMachineSecret(randomSecret(24));
  private readonly dummyHuman: Promise<string>;

  constructor(private readonly store: Pick<DeviceStore, 'findDeviceByNonce' | 'getDeviceSecretHash' | 'hasDevice' | 'setDeviceSecret'> & Pick<ProvisioningKeyStore, 'getKey'> & Pick<OperatorStore, 'getOperator'>, opts: AuthenticatorOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.verify = opts.verify ?? verifySecret;
    this.throttle = opts.throttle ?? new LoginThrottle(undefined, this.now);
    this.log = opts.log;
    this.dummyHuman = hashSecret(randomSecret(18), opts.scrypt ?? DEFAULT_SCRYPT);
    this.dummyHuman.catch(() => {}); // awaited (and so reported) where it is used
  }

  /** Why a key cannot be used now, or null when it can. The secret is checked first, for unknown keys too. */
  async keyProblem(keyId: string, secret: string, forNewDevice: boolean): Promise<{ problem: KeyProblem | null; key?: KeyRow }> {
    const key = this.store.getKey(keyId);
    const good = await this.verify(secret, key?.secretHash ?? this.dummyMachine);
    if (!key) return { problem: 'unknown' };
    if (!good) return { problem: 'bad secret', key };
    if (key.revokedAt !== null) return { problem: 'revoked', key };
    if (key.expiresAt !== null && key.expiresAt <= this.now()) return { problem: 'expired', key };
    if (forNewDevice && key.maxUses !== null && key.uses >= key.maxUses) return { problem: 'exhausted', key };
    return { problem: null, key };
  }

  /**
   * A session for good credentials; null to refuse (CONNACK 5); THROTTLED when too many logins failed lately
   * from this address or for this user name (refused before any hash).
   */
  async authenticate(clientId: string, username: string | undefined, password: Buffer | undefined, address = 'unknown'): Promise<Session | null | typeof THROTTLED> {
    const principal = parseUsername(username);
    if (!principal || !username || !password || password.length === 0 || password.length > 512) return null;
    const session: Session = { principal, clientId };
    if (!mayConnect(session)) return null;
    const verdict = this.throttle.check(address, username);
    if (!verdict.ok) return THROTTLED;
    if (await this.secretMatches(principal, password.toString('utf8'), clientId)) {
      this.throttle.succeeded(username);
      // a device's id is its client id: nobody else may take it (and so close the device's connection).
      // Checked only after the secret, so that nobody learns from it which device ids exist.
      return principal.kind !== 'device' && this.store.hasDevice(clientId) ? null : session;
    }
    const locks = this.throttle.failed(address, username);
    if (locks.address || locks.user) {
      this.log?.warn('failed logins: throttling', { address, username, addressLockMs: locks.address, userLockMs: locks.user });
    }
    return null;
  }

  private async secretMatches(principal: Principal, secret: string, clientId: string): Promise<boolean> {
    switch (principal.kind) {
      case 'device': {
        const id = principal.deviceId;
        const hash = this.store.getDeviceSecretHash(id);
        const good = await this.verify(secret, hash ?? this.dummyMachine);
        if (hash === undefined || !good) return false;
        // a device provisioned before machine hashes: store its secret as one now (if it did not change meanwhile)
        if (hashKind(hash) === 'scrypt' && this.store.getDeviceSecretHash(id) === hash) {
          this.store.setDeviceSecret(id, hashMachineSecret(secret));
        }
        return true;
      }
      case 'operator': {
        const row = this.store.getOperator(principal.name);
        const good = await this.verify(secret, row?.secretHash ?? (await this.dummyHuman));
        return Boolean(row) && good;
      }
      case 'provision': {
        // An exhausted key still admits the nonce of a device it already created, so a device that crashed
        // before saving its credentials can fetch them again.
        const { problem, key } = await this.keyProblem(principal.keyId, secret, false);
        if (problem || !key) return false;
        if (key.maxUses !== null && key.uses >= key.maxUses) {
          return Boolean(this.store.findDeviceByNonce(key.id, clientId.slice(PROVISION_CLIENT_PREFIX.length)));
        }
        return true;
      }
    }
  }
}
