// Money from the operator's and the device owner's side: payouts and chain state through the console,
// and `sosna wallet` for owners to see and claim what hubs approved them (any wallet can do the same).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { payoutsService, snm } from '@sosna/protocol';
import type { PayoutSummary } from '@sosna/protocol';
import { DEFAULT_HUB_DIR } from '../profile.js';
import { connOptions } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';
import { ago, table } from '../table.js';

// ethers and the contracts load when a wallet command runs: console commands and --help start without them
const chain = async () => ({ ...(await import('ethers')), ...(await import('@sosna/contracts')) });

/** Wei as SNM with every decimal it needs (4,000 wei is 0.000000000000004, never a rounded 0). */
export function tokens(wei: bigint | string): string {
  return snm(wei);
}

const NOTHING_TO_CLAIM =
  'why: this wallet approved nothing to this address yet, or it was claimed already. A hub approves earnings on its payout rounds ' +
  '(every 10 minutes, or sosna console payouts run), only to the address in the device config\'s "owner" (sosna console earnings shows who earned)\n';

function payoutRows(payouts: PayoutSummary[]): string[][] {
  return payouts.map((p) => [p.id, p.status, String(p.owners), tokens(p.total), p.txHash ? `${p.txHash.slice(0, 12)}…` : '-', p.block === null ? '-' : String(p.block), ago(p.createdAt)]);
}

/** The embedded chain's RPC and the hub wallet, from a hub data directory (defaults for `sosna wallet`). */
function hubChainDefaults(dataDir: string): { rpc?: string; wallet?: string } {
  const runtime = join(resolve(dataDir), 'runtime.json');
  const contracts = join(resolve(dataDir), 'contracts.json');
  const out: { rpc?: string; wallet?: string } = {};
  if (existsSync(runtime)) out.rpc = (JSON.parse(readFileSync(runtime, 'utf8')) as { chain?: { rpcUrl?: string } }).chain?.rpcUrl;
  if (existsSync(contracts)) out.wallet = (JSON.parse(readFileSync(contracts, 'utf8')) as { wallet?: string }).wallet;
  return out;
}

export function registerMoney(program: Command, consoleCmd: Command, session: ConsoleSession): void {
  // payouts can take a block or two on a real chain: a longer default time-out per call
  const withConsole = <T>(o: ConnFlags, fn: Parameters<typeof session.withConsole<T>>[1]) => session.withConsole<T>(o, fn, { timeoutMs: 120_000 });
  const payouts = consoleCmd.command('payouts').description("the hub's payouts to device owners");
  connOptions(payouts
    .command('run')
    .description('pay what is owed now, in one batch transaction'))
    .option('--json', 'machine-readable output')
    .action(async (o: ConnFlags & { json?: boolean }) => {
      const { payout, reason } = await withConsole(o, (c) => c.call(payoutsService, 'run', {}, { timeoutMs: 180_000 }));
      if (o.json) return void process.stdout.write(JSON.stringify(payout, null, 2) + '\n');
      // an older hub gives no reason
      if (!payout) return void process.stdout.write(`no payout sent: ${reason ?? 'nothing is owed (this hub does not say why)'}\n`);
      process.stdout.write(`${payout.status}: ${payout.owners} owner(s), ${tokens(payout.total)} SNM, tx ${payout.txHash} in block ${payout.block}\n`);
    });
  connOptions(payouts
    .command('ls')
    .description('list payout batches'))
    .option('--json', 'machine-readable output')
    .option('--limit <n>', 'how many', '50')
    .action(async (o: ConnFlags & { json?: boolean; limit: string }) => {
      const { payouts: list } = await withConsole(o, (c) => c.call(payoutsService, 'ls', { limit: Number(o.limit) }));
      if (o.json) return void process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      process.stdout.write(table(['PAYOUT', 'STATUS', 'OWNERS', 'SNM', 'TX', 'BLOCK', 'WHEN'], payoutRows(list)) + '\n');
    });
  connOptions(consoleCmd
    .command('chain')
    .description("the hub's chain, wallet state, funds available and owed"))
    .option('--json', 'machine-readable output')
    .action(async (o: ConnFlags & { json?: boolean }) => {
      const info = await withConsole(o, (c) => c.call(payoutsService, 'chain', {}));
      if (o.json) return void process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      process.stdout.write(
        [
          `chain      ${info.chainId}${info.embedded ? ' (embedded development chain)' : ''} at ${info.rpcUrl}`,
          `wallet     ${info.wallet} (${info.walletState})`,
          `available  ${tokens(info.available)} SNM`,
          `owed       ${tokens(info.owed)} SNM not yet paid`,
          ...(info.noWallet && info.noWallet !== '0'
            ? [`no wallet  ${tokens(info.noWallet)} SNM earned by devices that name no owner address yet (payouts run says which; paid once they do)`]
            : []),
          `contracts  token ${info.token}, whitelist ${info.whitelist}, factory ${info.factory}, dao ${info.dao}`,
        ].join('\n') + '\n',
      );
    });

  const wallet = program.command('wallet').description('what hubs approved for an owner address, and claiming it');
  wallet
    .command('show <owner>')
    .description('tokens an owner can claim from a hub wallet')
    .option('--rpc <url>', 'chain RPC URL (default: the local hub\'s embedded chain)')
    .option('--wallet <address>', 'the HubWallet (default: the local hub\'s)')
    .option('--data-dir <dir>', 'local hub data directory for the defaults', DEFAULT_HUB_DIR)
    .action(async (owner: string, o: { rpc?: string; wallet?: string; dataDir: string }) => {
      const d = hubChainDefaults(o.dataDir);
      const rpc = o.rpc ?? d.rpc;
      const at = o.wallet ?? d.wallet;
      if (!rpc || !at) throw new Error('pass --rpc URL and --wallet ADDRESS (or run next to a hub with an embedded chain)');
      const { hubWalletAt, JsonRpcProvider } = await chain();
      const claimable = (await hubWalletAt(at, new JsonRpcProvider(rpc, undefined, { batchMaxCount: 1 })).claimable(owner)) as bigint;
      process.stdout.write(`${owner} can claim ${tokens(claimable)} SNM from ${at}\n`);
      if (claimable === 0n) process.stdout.write(NOTHING_TO_CLAIM);
    });
  wallet
    .command('claim')
    .description('claim everything approved to the owner whose key is in --key-file')
    .requiredOption('--key-file <file>', 'file with the owner\'s private key (0x-hex)')
    .option('--rpc <url>', 'chain RPC URL (default: the local hub\'s embedded chain)')
    .option('--wallet <address>', 'the HubWallet (default: the local hub\'s)')
    .option('--data-dir <dir>', 'local hub data directory for the defaults', DEFAULT_HUB_DIR)
    .action(async (o: { keyFile: string; rpc?: string; wallet?: string; dataDir: string }) => {
      const d = hubChainDefaults(o.dataDir);
      const rpc = o.rpc ?? d.rpc;
      const at = o.wallet ?? d.wallet;
      if (!rpc || !at) throw new Error('pass --rpc URL and --wallet ADDRESS (or run next to a hub with an embedded chain)');
      const { hubWalletAt, JsonRpcProvider, Wallet } = await chain();
      const signer = new Wallet(readFileSync(o.keyFile, 'utf8').trim(), new JsonRpcProvider(rpc, undefined, { batchMaxCount: 1 }));
      const hw = hubWalletAt(at, signer);
      const claimable = (await hw.claimable(signer.address)) as bigint;
      if (claimable === 0n) return void process.stdout.write(`nothing to claim for ${signer.address} from ${at}\n${NOTHING_TO_CLAIM}`);
      const receipt = await (await hw.claimAll()).wait();
      process.stdout.write(`claimed ${tokens(claimable)} SNM for ${signer.address} (tx ${receipt?.hash})\n`);
    });
}
