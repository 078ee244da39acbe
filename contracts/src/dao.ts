// Driving the DAO: propose a call, vote, execute.
import type { Interface, Signer, TransactionReceipt } from 'ethers';
import { confirm, type DAOContract } from './deploy.js';

export interface ProposalResult {
  id: bigint;
  /** The execute receipt, or null when the proposal has not passed yet. */
  executed: TransactionReceipt | null;
}

/**
 * Proposes `target.method(...args)` as `member` (whose yes vote counts) and executes it right away
 * when that is enough to pass (quorum 1); otherwise other members vote and call `execute` later.
 */
export async function proposeCall(
  dao: DAOContract,
  member: Signer,
  target: { getAddress(): Promise<string>; interface: Interface },
  method: string,
  args: readonly unknown[] = [],
  description = method,
): Promise<ProposalResult> {
  const data = target.interface.encodeFunctionData(method, args);
  const asMember = dao.connect(member);
  const receipt = await confirm(asMember.propose(await target.getAddress(), data, description));
  let id: bigint | undefined;
  for (const log of receipt.logs) {
    const parsed = dao.interface.parseLog(log);
    if (parsed?.name === 'Proposed') id = BigInt(parsed.args.getValue('id') as bigint);
  }
  if (id === undefined) throw new Error(`propose ${receipt.hash}: no Proposed event`);
  if (!(await asMember.passed(id))) return { id, executed: null };
  return { id, executed: await confirm(asMember.execute(id)) };
}
