// Shared test plumbing: one dev chain per test file, a snapshot per test, revert assertions.
import type { Interface, JsonRpcProvider, JsonRpcSigner, Result } from 'ethers';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { increaseTime, latestTimestamp, revertTo, snapshot } from '../chain.js';
import { startDevChain, type DevChain, type DevChainOptions } from '../devchain.js';
import { decodeRevert, type DecodedRevert } from '../errors.js';

/**
 * Starts a dev chain before the file's tests (running `setup` once on it) and stops it after;
 * every test starts from the state `setup` left, thanks to evm_snapshot/evm_revert.
 */
export function useDevChain<T>(setup: (chain: DevChain) => Promise<T>, opts: DevChainOptions = {}): () => T & { chain: DevChain } {
  let ctx: (T & { chain: DevChain }) | undefined;
  let snap = '';
  beforeAll(async () => {
    const chain = await startDevChain(opts);
    try {
      ctx = { ...(await setup(chain)), chain };
    } catch (err) {
      await chain.stop();
      throw err;
    }
  });
  afterAll(async () => {
    await ctx?.chain.stop();
  });
  beforeEach(async () => {
    if (ctx) snap = await snapshot(ctx.chain.provider);
  });
  afterEach(async () => {
    if (ctx) await revertTo(ctx.chain.provider, snap);
  });
  return () => {
    if (!ctx) throw new Error('dev chain not started');
    return ctx;
  };
}

/** Awaits `action` and asserts it reverted with the custom error `name` of `contract`'s ABI. */
export async function expectRevert(
  action: Promise<unknown>,
  contract: { interface: Interface },
  name: string,
): Promise<DecodedRevert> {
  try {
    await action;
  } catch (err) {
    const decoded = decodeRevert(err, contract.interface);
    if (decoded?.name === name) return decoded;
    const got = decoded?.name ?? decodeRevert(err)?.name ?? (err instanceof Error ? err.message : String(err));
    throw new Error(`expected revert ${name}, got ${got}`);
  }
  throw new Error(`expected revert ${name}, but the call succeeded`);
}

type Tuple<T, N extends number, R extends T[] = []> = R['length'] extends N ? R : Tuple<T, N, [...R, T]>;

/** The first `n` dev signers as a tuple (throws if there are fewer). */
export function takeSigners<N extends number>(chain: DevChain, n: N): Tuple<JsonRpcSigner, N> {
  if (chain.signers.length < n) throw new Error(`need ${n} signers, have ${chain.signers.length}`);
  return chain.signers.slice(0, n) as Tuple<JsonRpcSigner, N>;
}

/** The named events a receipt carries, decoded with `contract`'s ABI. */
export function eventsOf(
  receipt: { logs: readonly { topics: readonly string[]; data: string }[] },
  contract: { interface: Interface },
): { name: string; args: Result }[] {
  const out: { name: string; args: Result }[] = [];
  for (const log of receipt.logs) {
    const parsed = contract.interface.parseLog({ topics: [...log.topics], data: log.data });
    if (parsed) out.push({ name: parsed.name, args: parsed.args });
  }
  return out;
}

/** Moves the dev chain's clock to `at` (unix seconds) unless it is there already, and mines a block. */
export async function moveClockTo(provider: JsonRpcProvider, at: bigint): Promise<void> {
  const now = await latestTimestamp(provider);
  if (now < at) await increaseTime(provider, at - now);
}
