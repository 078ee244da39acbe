// The hub's chain: by default an embedded development chain (anvil from npm) with the contracts deployed,
// the hub's HubWallet created through the factory and funded, so the demo pays out for real; with an RPC
// URL and a contracts file, an existing network. The embedded chain keeps its state in the data directory
// (anvil --state, dumped every second), so a hub restart finds its wallet again.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet, type JsonRpcProvider } from 'ethers';
import { z } from 'zod';
import { attachDeployment, confirm, connectRpc, createHubWallet, deployAll, deployEscrow, deployStake, startAnvil } from '@sosna/contracts';
import type { Anvil, Deployment } from '@sosna/contracts';
import type { Logger } from '@sosna/protocol';
import { EthAddress } from '@sosna/protocol';

export const ContractsFile = z.object({
  chainId: z.number().int().positive(),
  token: EthAddress,
  dao: EthAddress,
  whitelist: EthAddress,
  factory: EthAddress,
  /** This hub's HubWallet, once created. */
  wallet: EthAddress.optional(),
  /** The Stake contract (owners stake SNM with hubs; hubs slash proven wrong results): deployed on the embedded chain. */
  stake: EthAddress.optional(),
  /** The JobEscrow buyers deposit into (issue 14); deployed on an embedded chain that lacks one. */
  escrow: EthAddress.optional(),
});
export type ContractsFile = z.infer<typeof ContractsFile>;

export interface HubChain {
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly contracts: Required<Omit<ContractsFile, 'stake' | 'escrow'>> & Pick<ContractsFile, 'stake' | 'escrow'>;
  readonly provider: JsonRpcProvider;
  /** The hub owner's key, connected to the chain. */
  readonly owner: Wallet;
  stop(): Promise<void>;
}

const ether = 10n ** 18n;

function readContracts(file: string): ContractsFile | undefined {
  if (!existsSync(file)) return undefined;
  const r = ContractsFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!r.success) throw new Error(`${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

function writeContracts(file: string, value: ContractsFile): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

/** Kills an embedded chain left running by a hub that was killed (its pid is in chain.pid). */
function reapOrphan(dataDir: string, log: Logger): void {
  const pidFile = join(dataDir, 'chain.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmd.includes('anvil') && cmd.includes(dataDir)) {
      process.kill(pid, 'SIGKILL');
      log.warn('stopped the embedded chain of a previous hub run', { pid });
    }
  } catch {
    // not running any more
  }
}

export async function startHubChain(opts: {
  dataDir: string;
  ownerKey: string;
  log: Logger;
  /** An existing network; the embedded development chain when omitted. */
  rpcUrl?: string;
  contractsFile?: string;
  endpoint: string;
  /** Tokens the embedded chain gives the hub's wallet for payouts. */
  devFunding?: bigint;
  /** The least stake the embedded chain's Stake contract accepts (wei); its Stake is deployed once, with the DAO as treasury. */
  devStake?: { minStake: bigint; unbondingSec: bigint };
  /** Aborted while starting (the hub stopped before it was ready): the embedded chain is stopped, and this rejects. */
  signal?: AbortSignal;
}): Promise<HubChain> {
  const { log } = opts;
  let anvil: Anvil | null = null;
  let provider: JsonRpcProvider;
  const contractsPath = opts.contractsFile ?? join(opts.dataDir, 'contracts.json');
  if (opts.rpcUrl) {
    provider = await connectRpc(opts.rpcUrl);
  } else {
    reapOrphan(opts.dataDir, log);
    const state = join(opts.dataDir, 'chain-state.json');
    anvil = await startAnvil({ extraArgs: ['--state', state, '--state-interval', '1'], signal: opts.signal });
    writeFileSync(join(opts.dataDir, 'chain.pid'), String(anvil.pid ?? ''));
    provider = anvil.provider;
  }
  const step = <T>(p: Promise<T>): Promise<T> => p.then((v) => (opts.signal?.throwIfAborted(), v));
  try {
    opts.signal?.throwIfAborted();
    const chainId = Number((await step(provider.getNetwork())).chainId);
    const owner = new Wallet(opts.ownerKey, provider);
    let contracts = readContracts(contractsPath);
    if (contracts && (await provider.getCode(contracts.factory)) === '0x') {
      if (opts.rpcUrl) throw new Error(`${contractsPath}: no contract at factory ${contracts.factory} on chain ${chainId}`);
      log.warn('the embedded chain lost its state; deploying the contracts again', { file: contractsPath });
      contracts = undefined;
    }
    let deployment: Deployment | null = null;
    if (!contracts) {
      if (opts.rpcUrl) throw new Error(`--rpc needs --contracts FILE with the addresses of token, dao, whitelist and factory`);
      const deployer = await provider.getSigner(0);
      deployment = await step(deployAll(deployer));
      contracts = { chainId, ...deployment.addresses };
      writeContracts(contractsPath, contracts);
      log.info('deployed the contracts on the embedded chain', { ...deployment.addresses });
    }
    if (!contracts.wallet) {
      if (!opts.rpcUrl) {
        // fund the owner from the dev accounts: gas, the registration deposit and tokens to pay miners
        const deployer = await provider.getSigner(0);
        await confirm(deployer.sendTransaction({ to: owner.address, value: 10n * ether }) as never);
        const d = deployment ?? attachDeployment(contracts, deployer);
        const funding = opts.devFunding ?? 100_000n * ether;
        await confirm(d.token.connect(deployer).mint(owner.address, funding + d.params.deposit));
        opts.signal?.throwIfAborted();
        const created = await step(createHubWallet(d, owner, opts.endpoint));
        await confirm(d.token.connect(owner).transfer(created.address, funding));
        contracts = { ...contracts, wallet: created.address };
        log.info('created and funded the hub wallet', { wallet: created.address, tokens: (funding / ether).toString() });
      } else {
        throw new Error(`${contractsPath}: no "wallet": create the hub's HubWallet through the factory first`);
      }
      writeContracts(contractsPath, contracts);
    }
    if (!contracts.stake && !opts.rpcUrl && opts.devStake) {
      const deployer = await provider.getSigner(0);
      const { address } = await step(deployStake(deployer, { token: contracts.token, treasury: contracts.dao, minStake: opts.devStake.minStake, unbondingPeriod: opts.devStake.unbondingSec }));
      contracts = { ...contracts, stake: address };
      writeContracts(contractsPath, contracts);
      log.info('deployed the Stake contract on the embedded chain', { stake: address, minStake: opts.devStake.minStake.toString() });
    }
    if (!contracts.escrow && !opts.rpcUrl) {
      const deployer = await provider.getSigner(0);
      const escrow = await step(deployEscrow(deployer, contracts.token, contracts.dao));
      contracts = { ...contracts, escrow: escrow.address };
      writeContracts(contractsPath, contracts);
      log.info('deployed the job escrow on the embedded chain', { escrow: escrow.address });
    }
    const full = contracts as HubChain['contracts'];
    return {
      rpcUrl: anvil ? anvil.url : opts.rpcUrl!,
      chainId,
      contracts: full,
      provider,
      owner,
      stop: async () => {
        if (anvil) await anvil.stop();
      },
    };
  } catch (err) {
    if (anvil) await anvil.stop();
    throw err;
  }
}
