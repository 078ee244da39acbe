// Verification records and stake slashes as the console sees them (`sosna console trust ...`): per device,
// its streak of verified results and the chance its next result is checked again; per owner, the stake
// the hub knows and the slashes recorded against it. Amounts are token wei (bigint).
import { z } from 'zod';
import { Id, Millis } from './messages.js';
import { defineService } from './rpc/service.js';

export const TrustRecord = z.object({
  deviceId: Id,
  owner: z.string(),
  /** Verified results in a row since the last proven wrong one (device, then owner). */
  streak: z.number().int(),
  verified: z.number().int(),
  failures: z.number().int(),
  ownerStreak: z.number().int(),
  ownerFailures: z.number().int(),
  /** Chance that this device's next single-replica result is run again elsewhere to check it. */
  replicationChance: z.number(),
  /** Ranked first for work until its record is built. */
  newcomer: z.boolean(),
  /** Its owner's record is poor: none of its devices get work. */
  quarantined: z.boolean(),
  /** The owner's stake with this hub as last read from the Stake contract (0: none). */
  stake: z.bigint(),
});
export type TrustRecord = z.infer<typeof TrustRecord>;

export const SlashSummary = z.object({
  runId: Id,
  owner: z.string(),
  amount: z.bigint(),
  reason: z.string(),
  at: Millis,
  /** The slash transaction once sent (null: recorded, not sent yet). */
  txHash: z.string().nullable(),
});
export type SlashSummary = z.infer<typeof SlashSummary>;

export const trustService = defineService('trust', {
  /** Every known device's record; `enabled` false when the hub runs without adaptive verification. */
  records: {
    params: z.object({ owner: z.string().max(128).optional() }),
    result: z.object({ enabled: z.boolean(), stakeContract: z.string().nullable(), records: z.array(TrustRecord) }),
  },
  slashes: { params: z.object({ owner: z.string().max(128).optional() }), result: z.object({ slashes: z.array(SlashSummary), total: z.bigint() }) },
});
