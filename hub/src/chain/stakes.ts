// Owners' stakes with this hub as the scheduler sees them: a cache of the Stake contract's figures (read
// when a device of the owner comes online, and every refresh interval), lowered at once when the verdict
// records a slash; the slash itself is sent to the contract in order, once per run (the contract refuses a
// second slash of the same reference), and marked sent in the ledger. Unsent slashes are sent again at start.
import { revertName, slashRef, stakeAt } from '@sosna/contracts';
import type { StakeContract } from '@sosna/contracts';
import type { ContractRunner } from 'ethers';
import type { Logger } from '@sosna/protocol';
import type { JobStore, SlashRow } from '../jobs/store.js';
import type { StakeBook } from '../jobs/verifier.js';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

export class ChainStakes implements StakeBook {
  private readonly cache = new Map<string, bigint>();
  private contract: StakeContract | null = null;
  private hub = '';
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly d: { jobs: JobStore; log: Logger }) {}

  /** Connects to the contract (as the hub's owner key) and sends the slashes not sent yet. */
  attach(address: string, runner: ContractRunner, hub: string): void {
    this.contract = stakeAt(address, runner);
    this.hub = hub;
    for (const row of this.d.jobs.slashes({ unsent: true })) this.send(row);
  }

  stakeOf(owner: string): bigint {
    return this.cache.get(owner.toLowerCase()) ?? 0n;
  }

  /** Reads an owner's stake with this hub from the chain (owners that are no address have none). */
  async refresh(owner: string): Promise<bigint> {
    if (!this.contract || !ADDRESS.test(owner)) return 0n;
    const [staked] = await this.contract.stakeOf(this.hub, owner);
    this.cache.set(owner.toLowerCase(), staked);
    return staked;
  }

  slashed(row: SlashRow): void {
    const key = row.owner.toLowerCase();
    const have = this.cache.get(key) ?? 0n;
    this.cache.set(key, have > row.amount ? have - row.amount : 0n);
    this.send(row);
  }

  /** Resolves when every slash handed over so far was sent (or failed and was logged). */
  settled(): Promise<void> {
    return this.queue;
  }

  private send(row: SlashRow): void {
    this.queue = this.queue.then(async () => {
      const c = this.contract;
      if (!c || !ADDRESS.test(row.owner)) return;
      try {
        const tx = await c.slash(row.owner, row.amount, slashRef(row.runId));
        await tx.wait();
        this.d.jobs.markSlashSent(row.runId, tx.hash);
        this.d.log.info('slash sent', { owner: row.owner, amount: row.amount, runId: row.runId, tx: tx.hash });
      } catch (err) {
        const name = revertName(err, c.interface);
        if (name === 'AlreadySlashed') this.d.jobs.markSlashSent(row.runId, 'already');
        else this.d.log.warn('slash not sent (retried at the next start)', { owner: row.owner, runId: row.runId, error: name ?? (err as Error).message });
      }
      await this.refresh(row.owner).catch(() => undefined);
    });
  }
}
