// The common starting point: contracts deployed, a hub owner with a registered, funded HubWallet.
import type { JsonRpcSigner } from 'ethers';
import { confirm, createHubWallet, type Deployment, type HubWalletContract } from '../deploy.js';
import type { DevChain } from '../devchain.js';
import { SNM } from '../params.js';
import { takeSigners } from './helpers.js';

export interface HubFixture {
  d: Deployment;
  deployer: JsonRpcSigner;
  owner: JsonRpcSigner;
  miners: [JsonRpcSigner, JsonRpcSigner, JsonRpcSigner];
  stranger: JsonRpcSigner;
  wallet: HubWalletContract;
  walletAddress: string;
}

/** Owner gets 1000 SNM, creates a wallet through the factory (1 SNM deposit) and puts `funding` in it. */
export async function hubFixture(chain: DevChain, funding = 100n * SNM): Promise<HubFixture> {
  const d = chain.deployment;
  const [deployer, owner, m1, m2, m3, stranger] = takeSigners(chain, 6);
  await confirm(d.token.transfer(owner.address, 1000n * SNM));
  const { wallet, address } = await createHubWallet(d, owner, 'mqtt://hub.example:1883');
  if (funding > 0n) await confirm(d.token.connect(owner).transfer(address, funding));
  return { d, deployer, owner, miners: [m1, m2, m3], stranger, wallet, walletAddress: address };
}
