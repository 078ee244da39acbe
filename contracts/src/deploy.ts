// Deploys the sosna contracts and creates hub wallets, one confirmed transaction at a time
// (waiting for every receipt keeps the signer's nonces in order).
import {
  ContractFactory,
  type ContractRunner,
  type ContractTransactionResponse,
  type Signer,
  type TransactionReceipt,
} from 'ethers';
import { DAO, HubFactory, HubWallet, JobEscrow, SNMToken, Whitelist } from './generated/artifacts.js';
import { defaults, type DeployParams, type HubParams } from './params.js';
import { typedContract, type Abi, type TypedContract } from './typed.js';

export type SNMTokenContract = TypedContract<typeof SNMToken.abi>;
export type DAOContract = TypedContract<typeof DAO.abi>;
export type WhitelistContract = TypedContract<typeof Whitelist.abi>;
export type HubFactoryContract = TypedContract<typeof HubFactory.abi>;
export type HubWalletContract = TypedContract<typeof HubWallet.abi>;
export type JobEscrowContract = TypedContract<typeof JobEscrow.abi>;

export interface Deployment {
  token: SNMTokenContract;
  dao: DAOContract;
  whitelist: WhitelistContract;
  factory: HubFactoryContract;
  /** Buyers' deposits per job (JobEscrow); null when attached to a deployment without one. */
  escrow: JobEscrowContract | null;
  addresses: { token: string; dao: string; whitelist: string; factory: string; escrow?: string };
  /** Gas used by each deployment transaction. */
  deployGas: { token: bigint; dao: bigint; whitelist: bigint; factory: bigint; escrow?: bigint };
  params: DeployParams;
  deployer: string;
}

/** Waits for a transaction and throws if it reverted. */
export async function confirm(tx: ContractTransactionResponse | Promise<ContractTransactionResponse>): Promise<TransactionReceipt> {
  const sent = await tx;
  const receipt = await sent.wait();
  if (receipt === null) throw new Error(`transaction ${sent.hash} was dropped`);
  return receipt;
}

async function deployContract<A extends Abi>(
  artifact: { abi: A; bytecode: string },
  signer: Signer,
  args: readonly unknown[],
): Promise<{ contract: TypedContract<A>; gasUsed: bigint }> {
  const factory = new ContractFactory(artifact.abi as never, artifact.bytecode, signer);
  const deployed = await factory.deploy(...args);
  const tx = deployed.deploymentTransaction();
  if (tx === null) throw new Error('deployment transaction missing');
  const receipt = await tx.wait();
  if (receipt === null || receipt.contractAddress === null) throw new Error(`deployment ${tx.hash} failed`);
  return { contract: typedContract(receipt.contractAddress, artifact.abi, signer), gasUsed: receipt.gasUsed };
}

export function hubParamsOf(p: HubParams): HubParams {
  return {
    deposit: p.deposit,
    lockFeeBps: p.lockFeeBps,
    daoFeeBps: p.daoFeeBps,
    payoutPeriod: p.payoutPeriod,
    suspectPeriod: p.suspectPeriod,
    banFreezePeriod: p.banFreezePeriod,
  };
}

/** Deploys SNMToken, DAO, Whitelist and HubFactory, wires them, and mints `initialMint` to the signer. */
export async function deployAll(signer: Signer, overrides: Partial<DeployParams> = {}): Promise<Deployment> {
  const params: DeployParams = { ...defaults, ...overrides };
  const deployer = await signer.getAddress();
  const members = params.daoMembers.length > 0 ? params.daoMembers : [deployer];

  const token = await deployContract(SNMToken, signer, [deployer]);
  const dao = await deployContract(DAO, signer, [members, params.daoQuorum, params.daoVotingPeriod, params.daoExecutionDelay]);
  const daoAddress = await dao.contract.getAddress();
  const whitelist = await deployContract(Whitelist, signer, [daoAddress]);
  const addresses = {
    token: await token.contract.getAddress(),
    dao: daoAddress,
    whitelist: await whitelist.contract.getAddress(),
    factory: '',
  };
  const factory = await deployContract(HubFactory, signer, [
    addresses.token,
    addresses.dao,
    addresses.whitelist,
    hubParamsOf(params),
  ]);
  addresses.factory = await factory.contract.getAddress();
  await confirm(whitelist.contract.setFactory(addresses.factory));
  const escrow = await deployEscrow(signer, addresses.token, addresses.dao, params);
  if (params.initialMint > 0n) await confirm(token.contract.mint(deployer, params.initialMint));

  return {
    token: token.contract,
    dao: dao.contract,
    whitelist: whitelist.contract,
    factory: factory.contract,
    escrow: escrow.contract,
    addresses: { ...addresses, escrow: escrow.address },
    deployGas: { token: token.gasUsed, dao: dao.gasUsed, whitelist: whitelist.gasUsed, factory: factory.gasUsed, escrow: escrow.gasUsed },
    params,
    deployer,
  };
}

/** Deploys a JobEscrow for `token` whose disputes `dao` resolves (also for chains deployed before it existed). */
export async function deployEscrow(
  signer: Signer,
  token: string,
  dao: string,
  p: Pick<DeployParams, 'escrowDisputeWindow' | 'escrowReclaimAfter'> = defaults,
): Promise<{ contract: JobEscrowContract; address: string; gasUsed: bigint }> {
  const { contract, gasUsed } = await deployContract(JobEscrow, signer, [token, dao, p.escrowDisputeWindow, p.escrowReclaimAfter]);
  return { contract, address: await contract.getAddress(), gasUsed };
}

/** A JobEscrow handle for an existing address. */
export function escrowAt(address: string, runner: ContractRunner | null): JobEscrowContract {
  return typedContract(address, JobEscrow.abi, runner);
}

/** Typed handles for contracts deployed earlier (deployGas is unknown: zero). */
export function attachDeployment(
  addresses: { token: string; dao: string; whitelist: string; factory: string; escrow?: string },
  runner: Signer,
  params: DeployParams = defaults,
  deployer = '',
): Deployment {
  return {
    token: typedContract(addresses.token, SNMToken.abi, runner),
    dao: typedContract(addresses.dao, DAO.abi, runner),
    whitelist: typedContract(addresses.whitelist, Whitelist.abi, runner),
    factory: typedContract(addresses.factory, HubFactory.abi, runner),
    escrow: addresses.escrow ? typedContract(addresses.escrow, JobEscrow.abi, runner) : null,
    addresses: { ...addresses },
    deployGas: { token: 0n, dao: 0n, whitelist: 0n, factory: 0n },
    params,
    deployer,
  };
}

/** An SNMToken handle for an existing address. */
export function tokenAt(address: string, runner: ContractRunner | null): SNMTokenContract {
  return typedContract(address, SNMToken.abi, runner);
}

/** A HubWallet handle for an existing address. */
export function hubWalletAt(address: string, runner: ContractRunner | null): HubWalletContract {
  return typedContract(address, HubWallet.abi, runner);
}

export interface CreatedHub {
  wallet: HubWalletContract;
  address: string;
  /** Gas used by HubFactory.createHubWallet. */
  gasUsed: bigint;
}

/**
 * Creates a registered HubWallet owned by `owner` through the factory: approves the deposit to the
 * factory, then calls createHubWallet(endpoint). The owner must hold at least the deposit.
 */
export async function createHubWallet(d: Deployment, owner: Signer, endpoint: string): Promise<CreatedHub> {
  if (d.params.deposit > 0n) await confirm(d.token.connect(owner).approve(d.addresses.factory, d.params.deposit));
  const receipt = await confirm(d.factory.connect(owner).createHubWallet(endpoint));
  for (const log of receipt.logs) {
    const parsed = d.factory.interface.parseLog(log);
    if (parsed?.name === 'HubCreated') {
      const address = String(parsed.args.getValue('wallet'));
      return { wallet: hubWalletAt(address, owner), address, gasUsed: receipt.gasUsed };
    }
  }
  throw new Error(`createHubWallet ${receipt.hash}: no HubCreated event`);
}
