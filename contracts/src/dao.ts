// Driving the DAO: propose a call, vote, execute. A proposal is executable only from its voting deadline
// plus the DAO's execution delay (`executableAt`); on a dev chain `fastForward` moves the clock there.
import type { Interface, JsonRpcProvider, Signer, TransactionReceipt } from 'ethers';
import { increaseTime, latestTimestamp } from './chain.js';
import { confirm, type DAOContract } from './deploy.js';

export interface ProposalResult {
  id: bigint;
  /** When `execute(id)` is allowed (voting deadline plus execution delay), unix seconds. */
  executableAt: bigint;
  /** The execute receipt, or null when it was not executed (not passed yet, or not due and no fastForward). */
  executed: TransactionReceipt | null;
}

export interface ProposeOptions {
  description?: string;
  /**
   * A dev chain (anvil) whose clock may be moved: when the proposal passes with the proposer's vote
   * alone, the clock is moved to its `executableAt` and it is executed. Never a real chain.
   */
  fastForward?: JsonRpcProvider;
}

/** Proposes `target.method(...args)` as `member` (whose yes vote counts); returns the proposal id. */
export async function propose(
  dao: DAOContract,
  member: Signer,
  target: { getAddress(): Promise<string>; interface: Interface },
  method: string,
  args: readonly unknown[] = [],
  description = method,
): Promise<bigint> {
  const data = target.interface.encodeFunctionData(method, args);
  const receipt = await confirm(dao.connect(member).propose(await target.getAddress(), data, description));
  for (const log of receipt.logs) {
    const parsed = dao.interface.parseLog(log);
    if (parsed?.name === 'Proposed') return BigInt(parsed.args.getValue('id') as bigint);
  }
  throw new Error(`propose ${receipt.hash}: no Proposed event`);
}

/** Moves a dev chain's clock to the proposal's `executableAt` (if it is not there yet) and executes it. */
export async function executeWhenDue(dao: DAOContract, id: bigint, fastForward: JsonRpcProvider): Promise<TransactionReceipt> {
  const at = await dao.executableAt(id);
  const now = await latestTimestamp(fastForward);
  if (now < at) await increaseTime(fastForward, at - now);
  return confirm(dao.execute(id));
}

/**
 * Proposes `target.method(...args)` as `member`. With `fastForward` (a dev chain) and a proposal that
 * passes on the proposer's vote (quorum 1), moves the clock past the deadline and the execution delay
 * and executes it; otherwise other members vote and someone calls `execute` once it is due.
 */
export async function proposeCall(
  dao: DAOContract,
  member: Signer,
  target: { getAddress(): Promise<string>; interface: Interface },
  method: string,
  args: readonly unknown[] = [],
  opts: ProposeOptions = {},
): Promise<ProposalResult> {
  const id = await propose(dao, member, target, method, args, opts.description ?? method);
  const asMember = dao.connect(member);
  const executableAt = await asMember.executableAt(id);
  if (!opts.fastForward || !(await asMember.passed(id))) return { id, executableAt, executed: null };
  return { id, executableAt, executed: await executeWhenDue(asMember, id, opts.fastForward) };
}
