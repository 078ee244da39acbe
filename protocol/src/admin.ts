// The hub's administration services on the console: fleet provisioning keys and operator accounts
// (all admin-only in the hub's roles table). Secrets (a key's `keyId.secret`, an operator's password)
// appear in exactly one answer each, the one that created them; lists never carry them.
import { z } from 'zod';
import { EthAddress, Id } from './messages.js';
import { defineService } from './rpc/service.js';

/**
 * viewer < operator < admin see and change the whole fleet; a `buyer` stands beside them: it submits,
 * follows, cancels and pays for its own jobs only (another buyer's job is "no such job") and has an
 * on-chain address (where its escrow deposits come from and its refunds go).
 */
export const OperatorRole = z.enum(['viewer', 'operator', 'admin', 'buyer']);
export type OperatorRole = z.infer<typeof OperatorRole>;

export const KeyStatus = z.enum(['active', 'revoked', 'expired', 'exhausted']);
export type KeyStatus = z.infer<typeof KeyStatus>;

/** A provisioning key as lists show it: no secret, no hash. */
export const KeySummary = z.object({
  keyId: Id,
  fleet: Id,
  max: z.number().int().positive().nullable(),
  uses: z.number().int().nonnegative(),
  expiresAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
  createdAt: z.number(),
  status: KeyStatus,
});
export type KeySummary = z.infer<typeof KeySummary>;

/** The key's state at `now`. Pure. */
export function keyStatus(k: { revokedAt: number | null; expiresAt: number | null; max: number | null; uses: number }, now: number): KeyStatus {
  if (k.revokedAt !== null) return 'revoked';
  if (k.expiresAt !== null && k.expiresAt <= now) return 'expired';
  if (k.max !== null && k.uses >= k.max) return 'exhausted';
  return 'active';
}

export const keysService = defineService('keys', {
  /** A new key for a fleet; `key` (keyId.secret) is in this answer only. */
  create: {
    params: z.object({
      fleet: Id,
      max: z.number().int().positive().max(1_000_000).optional(),
      /** A duration (7d, 12h, 30m) counted from the hub's clock, or an ISO date. */
      expires: z.string().min(1).max(64).optional(),
    }),
    result: z.object({ key: z.string(), keyId: Id, fleet: Id, max: z.number().int().positive().nullable(), expiresAt: z.number().nullable() }),
  },
  list: {
    params: z.object({}),
    result: z.object({ keys: z.array(KeySummary) }),
  },
  /** Devices already provisioned with the key keep working; new ones are refused. */
  revoke: {
    params: z.object({ keyId: Id }),
    result: z.object({ keyId: Id, revokedAt: z.number() }),
  },
});

export const OperatorSummary = z.object({ name: Id, role: OperatorRole, createdAt: z.number(), address: EthAddress.nullable().optional() });
export type OperatorSummary = z.infer<typeof OperatorSummary>;

export const operatorsService = defineService('operators', {
  /** A new operator; `password` is in this answer only. An existing name is refused (remove it first). */
  add: {
    /** `address` is required for a buyer (its on-chain account), optional for the others. */
    params: z.object({ name: Id, role: OperatorRole, address: EthAddress.optional() }),
    result: OperatorSummary.extend({ password: z.string() }),
  },
  list: {
    params: z.object({}),
    result: z.object({ operators: z.array(OperatorSummary) }),
  },
  /** Counts from the operator's next call. The last admin cannot be demoted. */
  setRole: {
    /** Making someone a buyer needs an address (given here or stored already). */
    params: z.object({ name: Id, role: OperatorRole, address: EthAddress.optional() }),
    result: OperatorSummary.extend({ previous: OperatorRole }),
  },
  /** The last admin cannot be removed. */
  remove: {
    params: z.object({ name: Id }),
    result: z.object({ name: Id }),
  },
});

/**
 * One device's own login, issued and revoked by the running hub, which keeps an external broker in step
 * (hub/src/provisioning/credentials.ts). Issued credentials are the agent's `credentials.json` less the URL
 * and time; the password is in this answer only.
 */
export const credentialsService = defineService('credentials', {
  issue: {
    params: z.object({ name: z.string().min(1).max(64), fleet: Id.optional(), tags: z.array(Id).max(64).default([]) }),
    result: z.object({ hubId: Id, deviceId: Id, username: z.string(), password: z.string(), brokerUrl: z.string().nullable() }),
  },
  /** The login stops working at once on the hub; `pending`: an external broker is down, told when it is back. */
  revoke: {
    params: z.object({ deviceId: Id }),
    result: z.object({ deviceId: Id, pending: z.boolean() }),
  },
});
