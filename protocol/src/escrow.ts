// Buyers pay through the JobEscrow contract (contracts/solidity/JobEscrow.sol, contracts/README.md): the
// console's `escrow` service tells a buyer where to deposit for a job, checks a deposit on chain, shows a
// job's funding and settlement, and lets an admin give a buyer credit instead. Amounts are bigint wei.
import { z } from 'zod';
import { EthAddress, Id } from './messages.js';
import { Wei } from './jobs.js';
import { defineService } from './rpc/service.js';

export const FundingSource = z.enum(['escrow', 'credit']);
/** credit: a credit-funded job settled in the hub's books (the unbilled part of the credit comes back). */
export const SettlementKind = z.enum(['settle', 'refund', 'credit']);
export const SettlementStatus = z.enum(['planned', 'signed', 'mined', 'failed', 'unknown']);
export type SettlementStatus = z.infer<typeof SettlementStatus>;

export const JobFunding = z.object({
  jobId: Id,
  buyer: z.string(),
  /** The buyer's address the deposit must come from. */
  address: EthAddress,
  /** The worst case the deposit must cover: bid x duration limit x replicas. */
  required: z.bigint(),
  /** null: not funded yet (the job waits in `queued` with reason `awaiting-funds: ...`). */
  source: FundingSource.nullable(),
  /** What the escrow holds (or the credit taken). */
  amount: z.bigint(),
  fundedAt: z.number().nullable(),
  settlement: z
    .object({ kind: SettlementKind, billed: z.bigint(), status: SettlementStatus, txHash: z.string().nullable(), reason: z.string().nullable() })
    .nullable(),
});
export type JobFunding = z.infer<typeof JobFunding>;

export const EscrowInfo = z.object({
  rpcUrl: z.string(),
  chainId: z.number().int(),
  token: EthAddress,
  escrow: EthAddress,
  /** The hub's settlement address: the payee of every escrow of this hub. */
  payee: EthAddress,
});
export type EscrowInfo = z.infer<typeof EscrowInfo>;

export const escrowService = defineService('escrow', {
  /** Where a buyer deposits (E_UNAVAILABLE when the hub runs without a chain). */
  info: { params: z.object({}), result: EscrowInfo },
  /** A job's funding and settlement (a buyer: its own jobs only). */
  status: { params: z.object({ jobId: Id }), result: JobFunding },
  /** Checks the job's escrow on chain now (after the buyer's deposit) and answers its funding. */
  funded: { params: z.object({ jobId: Id }), result: JobFunding },
  /** Admin: the credit a buyer's unfunded jobs may use instead of a deposit (replaces what is left). */
  credit: { params: z.object({ buyer: Id, amount: Wei }), result: z.object({ buyer: Id, credit: z.bigint() }) },
});
