// A throwaway chain with everything deployed: for tests and the hub's embedded development mode.
import type { JsonRpcProvider, JsonRpcSigner } from 'ethers';
import { startAnvil, type Anvil, type AnvilOptions } from './chain.js';
import { deployAll, type Deployment } from './deploy.js';
import type { DeployParams } from './params.js';

export interface DevChain {
  anvil: Anvil;
  provider: JsonRpcProvider;
  deployment: Deployment;
  /** anvil's unlocked dev accounts; signers[0] deployed everything and holds the initial mint. */
  signers: JsonRpcSigner[];
  stop(): Promise<void>;
}

export interface DevChainOptions {
  anvil?: AnvilOptions;
  params?: Partial<DeployParams>;
  /** How many dev accounts to hand out as signers (default 10). */
  signers?: number;
}

export async function startDevChain(opts: DevChainOptions = {}): Promise<DevChain> {
  const count = opts.signers ?? 10;
  const anvil = await startAnvil({ accounts: Math.max(count, 10), ...opts.anvil });
  try {
    const { provider } = anvil;
    const signers: JsonRpcSigner[] = [];
    for (let i = 0; i < count; i++) signers.push(await provider.getSigner(i));
    const deployer = signers[0];
    if (deployer === undefined) throw new Error('startDevChain needs at least one signer');
    const deployment = await deployAll(deployer, opts.params);
    return { anvil, provider, deployment, signers, stop: () => anvil.stop() };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}
