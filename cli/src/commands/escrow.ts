// The buyer's side of the escrow (contracts/README.md "JobEscrow"): `jobs submit --deposit` signs the
// approve + deposit with the buyer's key, `jobs confirm` / `jobs dispute` close or contest the hub's
// settlement, `jobs funding` shows it, and an admin's `buyers credit` funds a buyer without a deposit.
// The key comes from a file (`--key-file`, `$SOSNA_BUYER_KEY_FILE`) and is never printed; the chain's RPC URL
// and the escrow's address come from the hub (`escrow.info`).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import { escrowAt, escrowJobId, escrowStateName, tokenAt } from '@sosna/contracts';
import { escrowService } from '@sosna/protocol';
import type { EscrowInfo, JobFunding } from '@sosna/protocol';
import type { ConsoleClient } from '@sosna/hub';
import { connOptions } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';

/** `--deposit [AMOUNT]` (token wei): none given means the worst case; less than it is refused, named. Pure. */
export function parseDeposit(value: string | true, worst: bigint, spec: { bid: bigint; timeoutSec: number; replicas: number }): bigint {
  if (value === true) return worst;
  if (!/^\d{1,78}$/.test(value.trim())) throw new Error(`--deposit ${JSON.stringify(value)}: must be token wei, a whole number (or --deposit alone for the worst case, ${worst} wei)`);
  const amount = BigInt(value.trim());
  if (amount < worst) {
    throw new Error(
      `--deposit ${amount}: below the worst case ${worst} wei (bid ${spec.bid} wei/s x duration limit ${spec.timeoutSec} s x ${spec.replicas} replica(s)); deposit at least ${worst}, or --deposit alone`,
    );
  }
  return amount;
}

/** The buyer's key from `--key-file` or $SOSNA_BUYER_KEY_FILE; errors name the file, never its content. */
export function buyerKey(flag: string | undefined, env: Record<string, string | undefined> = process.env): Wallet {
  const file = flag ?? env.SOSNA_BUYER_KEY_FILE;
  if (!file) throw new Error('--key-file: the buyer key file is needed to sign on chain (or set $SOSNA_BUYER_KEY_FILE): a file with the hex private key of your buyer address');
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`--key-file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return new Wallet(text);
  } catch {
    throw new Error(`--key-file ${file}: not a hex private key (0x and 64 hex digits)`);
  }
}

async function onChain(c: ConsoleClient, keyFile: string | undefined): Promise<{ info: EscrowInfo; signer: NonceManager; address: string; provider: JsonRpcProvider }> {
  const key = buyerKey(keyFile);
  const info = await c.call(escrowService, 'info', {});
  const provider = new JsonRpcProvider(info.rpcUrl, info.chainId, { staticNetwork: true });
  return { info, signer: new NonceManager(key.connect(provider)), address: key.address, provider };
}

/** Approves and deposits `amount` for the job, then asks the hub to check it; answers the job's funding. */
export async function depositForJob(c: ConsoleClient, jobId: string, amount: bigint, keyFile: string | undefined): Promise<JobFunding> {
  const { info, signer, provider } = await onChain(c, keyFile);
  try {
    await (await tokenAt(info.token, signer).approve(info.escrow, amount)).wait();
    await (await escrowAt(info.escrow, signer).deposit(info.payee, escrowJobId(jobId), amount)).wait();
    return await c.call(escrowService, 'funded', { jobId });
  } finally {
    provider.destroy();
  }
}

type Conn = ConnFlags & { keyFile?: string };
const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);

export function fundingLine(f: JobFunding): string {
  const s = f.settlement;
  return (
    `${f.jobId}: needs ${f.required} wei from ${f.address}; ${f.source ? `funded by ${f.source} (${f.amount} wei)` : 'awaiting funds'}` +
    (s ? `; ${s.kind}${s.kind === 'settle' ? ` billed ${s.billed} wei` : ''}, ${s.status}${s.txHash ? ` (${s.txHash})` : ''}` : '')
  );
}

export function registerEscrow(program: Command, session: ConsoleSession): void {
  const consoleCmd = program.commands.find((c) => c.name() === 'console') ?? program.command('console');
  const jobs = consoleCmd.commands.find((c) => c.name() === 'jobs') ?? consoleCmd.command('jobs');
  const withKey = (cmd: Command) => connOptions(cmd).option('--key-file <file>', 'your buyer key (hex private key; or $SOSNA_BUYER_KEY_FILE); never printed');

  withKey(jobs.command('fund <jobId>').description("deposit for a job already submitted (its worst case unless --amount)"))
    .option('--amount <wei>', 'token wei (at least the worst case)')
    .action(async (jobId: string, o: Conn & { amount?: string }) => {
      const f = await session.withConsole(o, async (c) => {
        const now = await c.call(escrowService, 'funded', { jobId });
        const amount = o.amount === undefined ? now.required - now.amount : BigInt(o.amount);
        return depositForJob(c, jobId, amount, o.keyFile);
      });
      process.stdout.write(`${fundingLine(f)}\n`);
    });
  connOptions(jobs.command('funding <jobId>').description("a job's escrow: what it needs, how it is funded, its settlement"))
    .option('--json', 'machine-readable output')
    .action(async (jobId: string, o: ConnFlags & { json?: boolean }) => {
      const f = await session.withConsole(o, (c) => c.call(escrowService, 'status', { jobId }));
      process.stdout.write(o.json ? `${json(f)}\n` : `${fundingLine(f)}\n`);
    });
  withKey(jobs.command('confirm <jobId>').description("accept the hub's settlement: the hub gets what it billed, the rest comes back to you"))
    .action(async (jobId: string, o: Conn) => {
      const r = await session.withConsole(o, async (c) => {
        const { info, signer, address, provider } = await onChain(c, o.keyFile);
        try {
          const escrow = escrowAt(info.escrow, signer);
          const e = await escrow.escrowOf(info.payee, address, escrowJobId(jobId));
          const state = escrowStateName(e.state);
          if (state !== 'settled') throw new Error(`${jobId}: its escrow is ${state}, not settled: nothing to confirm yet (sosna console jobs funding ${jobId})`);
          await (await escrow.confirm(info.payee, escrowJobId(jobId))).wait();
          return { billed: e.billed as bigint, back: (e.amount as bigint) - (e.billed as bigint) };
        } finally {
          provider.destroy();
        }
      });
      process.stdout.write(`${jobId}: confirmed; the hub got ${r.billed} wei, ${r.back} wei came back to you\n`);
    });
  withKey(jobs.command('dispute <jobId>').description("contest the hub's settlement inside the dispute window: the amount is frozen until the DAO decides"))
    .requiredOption('--reason <text>', 'why (recorded on chain)')
    .action(async (jobId: string, o: Conn & { reason: string }) => {
      await session.withConsole(o, async (c) => {
        const { info, signer, address, provider } = await onChain(c, o.keyFile);
        try {
          const escrow = escrowAt(info.escrow, signer);
          const state = escrowStateName((await escrow.escrowOf(info.payee, address, escrowJobId(jobId))).state);
          if (state !== 'settled') throw new Error(`${jobId}: its escrow is ${state}, not settled: nothing to dispute`);
          await (await escrow.dispute(info.payee, escrowJobId(jobId), o.reason)).wait();
        } finally {
          provider.destroy();
        }
      });
      process.stdout.write(`${jobId}: disputed; the amount stays frozen until the DAO decides\n`);
    });

  const buyers = consoleCmd.command('buyers').description("buyers' credit (admin)");
  connOptions(buyers.command('credit <name> <amount>').description("let a buyer's jobs run without a deposit, up to AMOUNT token wei in all (replaces what is left)"))
    .action(async (name: string, amount: string, o: ConnFlags) => {
      if (!/^\d{1,78}$/.test(amount)) throw new Error(`amount ${JSON.stringify(amount)}: must be token wei, a whole number`);
      const r = await session.withConsole(o, (c) => c.call(escrowService, 'credit', { buyer: name, amount: BigInt(amount) }));
      process.stdout.write(`${r.buyer}: credit ${r.credit} wei\n`);
    });
}
