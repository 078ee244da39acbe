// The Stake contract's typed handle: owners stake SNM with a hub; the hub slashes a proven wrong result
// (contracts/solidity/Stake.sol). Amounts are wei (bigint).
import { ContractFactory, id, type ContractRunner, type Signer } from 'ethers';
import { Stake } from './generated/artifacts.js';
import { typedContract, type TypedContract } from './typed.js';

export type StakeContract = TypedContract<typeof Stake.abi>;

export interface StakeParams {
  token: string;
  /** Where slashed tokens go (the DAO). */
  treasury: string;
  /** Least stake an owner may hold (wei). */
  minStake: bigint;
  /** Seconds an unstaked amount stays slashable before it can be withdrawn. */
  unbondingPeriod: bigint;
}

export async function deployStake(signer: Signer, p: StakeParams): Promise<{ stake: StakeContract; address: string }> {
  const factory = new ContractFactory(Stake.abi as never, Stake.bytecode, signer);
  const deployed = await factory.deploy(p.token, p.treasury, p.minStake, p.unbondingPeriod);
  const tx = deployed.deploymentTransaction();
  const receipt = await tx?.wait();
  if (!receipt?.contractAddress) throw new Error(`Stake deployment ${tx?.hash ?? ''} failed`);
  return { stake: typedContract(receipt.contractAddress, Stake.abi, signer), address: receipt.contractAddress };
}

export function stakeAt(address: string, runner: ContractRunner | null): StakeContract {
  return typedContract(address, Stake.abi, runner);
}

/** The slash reference of a run (bytes32): one slash per proven wrong result. */
export const slashRef = (runId: string): string => id(`sosna.slash:${runId}`);
