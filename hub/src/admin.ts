// Operator-side administration on the hub's store: provisioning keys and operator accounts. Used by the
// `sosna hub keys|operators` commands (which open the same database file) and by tests.
import { SosnaError, isValidId, usernames } from '@sosna/protocol';
import { hashMachineSecret, hashSecret, randomSecret } from './auth/password.js';
import type { ScryptParams } from './auth/password.js';
import { deviceIdFor, randomId } from './provisioning/service.js';
import type { DeviceStore, KeyRow, ProvisioningKeyStore } from './fleet/store.js';
import type { OperatorRow, OperatorStore, Role } from './auth/store.js';

export interface CreatedKey {
  key: string;
  row: KeyRow;
}

/** Parses `7d`, `12h`, `30m` or an ISO date into epoch ms. */
export function parseExpiry(text: string, now = Date.now()): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (m) {
    const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
    return now + Number(m[1]) * unit;
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new SosnaError('E_INVALID', `--expires ${JSON.stringify(text)}: use a duration like 7d, 12h, 30m or an ISO date`);
  if (t <= now) throw new SosnaError('E_INVALID', `--expires ${text} is in the past`);
  return t;
}

export async function createProvisioningKey(
  store: Pick<ProvisioningKeyStore, 'createKey'>,
  opts: { fleet: string; maxUses?: number | null; expiresAt?: number | null },
): Promise<CreatedKey> {
  if (!isValidId(opts.fleet)) throw new SosnaError('E_INVALID', `fleet ${JSON.stringify(opts.fleet)}: use 1-64 letters, digits, '.', '_', '-'`);
  if (opts.maxUses !== undefined && opts.maxUses !== null && (!Number.isInteger(opts.maxUses) || opts.maxUses < 1)) {
    throw new SosnaError('E_INVALID', `--max ${opts.maxUses}: must be a positive whole number`);
  }
  const id = `k${randomId(9)}`;
  const secret = randomSecret(24);
  const row = { id, fleet: opts.fleet, secretHash: hashMachineSecret(secret), maxUses: opts.maxUses ?? null, expiresAt: opts.expiresAt ?? null, createdAt: Date.now() };
  store.createKey(row);
  return { key: `${id}.${secret}`, row: { ...row, uses: 0, revokedAt: null } };
}

export function revokeProvisioningKey(store: Pick<ProvisioningKeyStore, 'getKey' | 'revokeKey'>, keyId: string): void {
  if (!store.getKey(keyId)) throw new SosnaError('E_NOT_FOUND', `no provisioning key ${keyId}`);
  if (!store.revokeKey(keyId, Date.now())) throw new SosnaError('E_CONFLICT', `provisioning key ${keyId} is already revoked`);
}

/** A buyer needs its on-chain address; anyone's address must be 0x and 40 hex digits. Pure. */
export function checkOperatorAddress(name: string, role: Role, address: string | null | undefined): string | null {
  if (address !== undefined && address !== null && !/^0x[0-9a-fA-F]{40}$/.test(address)) {
    throw new SosnaError('E_INVALID', `--address ${JSON.stringify(address)}: must be a 0x-prefixed 20-byte hex address (0x and 40 hex digits)`);
  }
  if (role === 'buyer' && !address) {
    throw new SosnaError('E_INVALID', `buyer ${name} needs an on-chain address (--address 0x...): its escrow deposits come from it and refunds go back to it`);
  }
  return address ?? null;
}

export async function addOperator(store: Pick<OperatorStore, 'putOperator'>, name: string, role: Role = 'admin', scrypt?: ScryptParams, opts: { address?: string | null } = {}): Promise<{ password: string; row: OperatorRow }> {
  if (!isValidId(name)) throw new SosnaError('E_INVALID', `operator name ${JSON.stringify(name)}: use 1-64 letters, digits, '.', '_', '-'`);
  const address = checkOperatorAddress(name, role, opts.address);
  const password = randomSecret(18);
  const row = { name, role, secretHash: await hashSecret(password, scrypt), createdAt: Date.now(), address };
  store.putOperator(row);
  return { password, row };
}

/**
 * A device registered ahead of its first boot, with its own credentials instead of a fleet key
 * (`sosna provision fleet --credentials`). The password is random (24 bytes): stored as a machine hash.
 */
export async function preIssueDevice(
  store: Pick<DeviceStore, 'createDevice'>,
  opts: { name: string; fleet: string | null; tags?: string[] },
): Promise<{ deviceId: string; username: string; password: string }> {
  if (opts.fleet !== null && !isValidId(opts.fleet)) throw new SosnaError('E_INVALID', `fleet ${JSON.stringify(opts.fleet)}: use 1-64 letters, digits, '.', '_', '-'`);
  const deviceId = deviceIdFor(opts.name);
  const password = randomSecret(24);
  const secretHash = hashMachineSecret(password);
  store.createDevice({ id: deviceId, name: opts.name, fleet: opts.fleet, tags: opts.tags ?? [], secretHash, createdAt: Date.now() });
  return { deviceId, username: usernames.device(deviceId), password };
}
