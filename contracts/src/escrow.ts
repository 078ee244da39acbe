// JobEscrow from TypeScript: a hub job id as the contract's bytes32, the escrow states by name, and the
// worst case a deposit must cover. Amounts are bigint wei.
import { encodeBytes32String } from 'ethers';

/** JobEscrow.State, by the numbers the contract returns. */
export const ESCROW_STATES = ['none', 'funded', 'settled', 'disputed', 'closed'] as const;
export type EscrowState = (typeof ESCROW_STATES)[number];

export function escrowStateName(n: bigint | number): EscrowState {
  const s = ESCROW_STATES[Number(n)];
  if (!s) throw new Error(`unknown JobEscrow state ${String(n)}`);
  return s;
}

/** A hub job id (`j-` + 12 characters, at most 31 bytes) as the escrow's bytes32 job id. */
export function escrowJobId(jobId: string): string {
  return encodeBytes32String(jobId);
}

/** The most a job can cost: bid per second x duration limit x replicas. */
export function worstCase(spec: { bid: bigint; timeoutSec: number; replicas: number }): bigint {
  return spec.bid * BigInt(spec.timeoutSec) * BigInt(spec.replicas);
}
