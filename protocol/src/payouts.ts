// The hub's payout and chain services for operators (console/{operator}/rpc/in).
import { z } from 'zod';
import { defineService } from './rpc/service.js';
import { EthAddress } from './messages.js';

const Wei = z.string().regex(/^\d+$/, 'must be a decimal integer (token wei)');

export const PayoutSummary = z.object({
  id: z.string(),
  status: z.enum(['planned', 'signed', 'paid', 'failed', 'unknown']),
  owners: z.number().int().nonnegative(),
  total: Wei,
  items: z.array(z.object({ owner: z.string(), amount: Wei })),
  txHash: z.string().nullable(),
  block: z.number().nullable(),
  reason: z.string().nullable(),
  createdAt: z.number(),
});
export type PayoutSummary = z.infer<typeof PayoutSummary>;

export const ChainInfo = z.object({
  chainId: z.number(),
  rpcUrl: z.string(),
  embedded: z.boolean(),
  token: EthAddress,
  whitelist: EthAddress,
  factory: EthAddress,
  dao: EthAddress,
  wallet: EthAddress,
  walletState: z.string(),
  /** Tokens the wallet can still pay out (wei). */
  available: Wei,
  /** Earned by devices and not yet paid (wei). */
  owed: Wei,
  /** Of the unpaid earnings, those whose devices name no wallet address yet (wei); paid once they do. */
  noWallet: Wei.optional(),
});
export type ChainInfo = z.infer<typeof ChainInfo>;

export const payoutsService = defineService('payouts', {
  run: {
    params: z.object({}),
    /** `reason`: why nothing was paid (no earnings yet, owners without a wallet, all paid), when payout is null. */
    result: z.object({ payout: PayoutSummary.nullable(), reason: z.string().max(4096).optional() }),
  },
  ls: { params: z.object({ limit: z.number().int().min(1).max(1000).optional() }), result: z.object({ payouts: z.array(PayoutSummary) }) },
  chain: { params: z.object({}), result: ChainInfo },
});
