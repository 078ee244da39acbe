// The console's `keys` and `operators` services: the same administration as `sosna hub keys|operators`
// (admin.ts, the store), reachable over MQTT by admins (auth/roles.ts lists every method as admin). The hub
// never ends up without an admin: removing or demoting the last one is refused.
import { keysService, keyStatus, operatorsService, SosnaError } from '@sosna/protocol';
import type { KeySummary, Logger, RpcEndpoint } from '@sosna/protocol';
import { addOperator, checkOperatorAddress, createProvisioningKey, parseExpiry, revokeProvisioningKey } from '../admin.js';
import type { ScryptParams } from '../auth/password.js';
import type { KeyRow, ProvisioningKeyStore } from '../fleet/store.js';
import type { OperatorRow, OperatorStore, Role } from '../auth/store.js';
import type { OperatorMeta } from '../auth/roles.js';

/**
 * Whether `name` may become `role` (null: be removed) without leaving the hub without an admin. Pure:
 * throws E_NOT_FOUND for an unknown operator and E_CONFLICT for the last admin, naming who asked.
 */
export function checkOperatorChange(operators: readonly Pick<OperatorRow, 'name' | 'role'>[], name: string, role: Role | null, by: string): Pick<OperatorRow, 'name' | 'role'> {
  const row = operators.find((o) => o.name === name);
  if (!row) throw new SosnaError('E_NOT_FOUND', `no operator ${name}`);
  const admins = operators.filter((o) => o.role === 'admin').length;
  if (row.role === 'admin' && role !== 'admin' && admins <= 1) {
    const what = role === null ? 'removed' : `made a ${role}`;
    const who = name === by ? `you (${name}) are` : `${name} is`;
    throw new SosnaError('E_CONFLICT', `${who} the last admin and cannot be ${what}: make another operator admin first`, { name, role });
  }
  return row;
}

export function keySummary(k: KeyRow, now: number): KeySummary {
  const base = { keyId: k.id, fleet: k.fleet, max: k.maxUses, uses: k.uses, expiresAt: k.expiresAt, revokedAt: k.revokedAt, createdAt: k.createdAt };
  return { ...base, status: keyStatus(base, now) };
}

export function adminServices(endpoint: RpcEndpoint<OperatorMeta>, deps: { store: ProvisioningKeyStore & OperatorStore; log: Logger; now?: () => number; scrypt?: ScryptParams }): void {
  const { store, log } = deps;
  const now = deps.now ?? Date.now;
  endpoint.add(keysService, {
    create: async ({ fleet, max, expires }, ctx) => {
      const expiresAt = expires === undefined ? null : parseExpiry(expires, now());
      const { key, row } = await createProvisioningKey(store, { fleet, maxUses: max ?? null, expiresAt });
      log.info('provisioning key created', { operator: ctx.meta.operator, keyId: row.id, fleet, max: row.maxUses, expiresAt });
      return { key, keyId: row.id, fleet: row.fleet, max: row.maxUses, expiresAt: row.expiresAt };
    },
    list: () => {
      const t = now();
      return { keys: store.listKeys().map((k) => keySummary(k, t)) };
    },
    revoke: ({ keyId }, ctx) => {
      revokeProvisioningKey(store, keyId);
      log.warn('provisioning key revoked', { operator: ctx.meta.operator, keyId });
      return { keyId, revokedAt: store.getKey(keyId)?.revokedAt ?? now() };
    },
  });
  endpoint.add(operatorsService, {
    add: async ({ name, role, address }, ctx) => {
      if (store.getOperator(name)) throw new SosnaError('E_CONFLICT', `operator ${name} already exists: remove it first, or change its role with operators role`);
      const { password, row } = await addOperator(store, name, role, deps.scrypt, { address });
      log.info('operator added', { operator: ctx.meta.operator, name, role, address: row.address ?? undefined });
      return { name: row.name, role: row.role, createdAt: row.createdAt, ...(row.address ? { address: row.address } : {}), password };
    },
    list: () => ({ operators: store.listOperators().map((o) => ({ name: o.name, role: o.role, createdAt: o.createdAt, ...(o.address ? { address: o.address } : {}) })) }),
    setRole: ({ name, role, address }, ctx) => {
      checkOperatorChange(store.listOperators(), name, role, ctx.meta.operator);
      const row = store.getOperator(name)!;
      const addr = checkOperatorAddress(name, role, address ?? row.address);
      store.putOperator({ ...row, role, address: addr });
      log.info('operator role changed', { operator: ctx.meta.operator, name, from: row.role, to: role });
      return { name, role, createdAt: row.createdAt, ...(addr ? { address: addr } : {}), previous: row.role };
    },
    remove: ({ name }, ctx) => {
      checkOperatorChange(store.listOperators(), name, null, ctx.meta.operator);
      store.removeOperator(name);
      log.warn('operator removed', { operator: ctx.meta.operator, name });
      return { name };
    },
  });
}
