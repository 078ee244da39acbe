// A chain that a test owns (anvil with the contracts deployed) and a hub data directory prepared for it:
// the hub's owner key and its registered, funded HubWallet, so that `sosna hub --rpc --contracts` runs on
// it. The chain outlives the hub process: tests kill and restart hubs and act on the chain (DAO, funds).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { confirm, createHubWallet, startDevChain } from '@sosna/contracts';
import type { DevChain } from '@sosna/contracts';
import { CLI, writeJson } from './procs.js';

export const ether = 10n ** 18n;

export interface ChainFixture {
  chain: DevChain;
  /** The hub owner's key (also in hubDir/owner.key). */
  owner: Wallet;
  wallet: string;
  contractsFile: string;
  hubDir: string;
  /** `sosna hub` arguments for this data directory on this chain. */
  hubArgs(port: number): string[];
  stop(): Promise<void>;
}

/** One hub's side of a chain: its owner key, its registered and funded HubWallet, its data directory. */
export type HubOnChain = Omit<ChainFixture, 'chain' | 'stop'>;

/** Prepares a hub (owner key, registered HubWallet funded with `funding`) on `chain`, its data in `dir`/hub. */
export async function prepareHub(chain: DevChain, dir: string, opts: { funding?: bigint; endpoint?: string } = {}): Promise<HubOnChain> {
  const deployer = chain.signers[0]!;
  const d = chain.deployment;
  const owner = new Wallet(Wallet.createRandom().privateKey, chain.provider);
  await confirm(deployer.sendTransaction({ to: owner.address, value: 10n * ether }) as never);
  const funding = opts.funding ?? 1_000n * ether;
  await confirm(d.token.connect(deployer).mint(owner.address, funding + d.params.deposit));
  const created = await createHubWallet(d, owner, opts.endpoint ?? 'mqtt://127.0.0.1:1883');
  await confirm(d.token.connect(owner).transfer(created.address, funding));
  mkdirSync(dir, { recursive: true });
  const contractsFile = writeJson(join(dir, 'contracts.json'), { chainId: chain.anvil.chainId, ...d.addresses, wallet: created.address });
  const hubDir = join(dir, 'hub');
  mkdirSync(hubDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(hubDir, 'owner.key'), `${owner.privateKey}\n`, { mode: 0o600 });
  return {
    owner, wallet: created.address, contractsFile, hubDir,
    hubArgs: (port) => [CLI, 'hub', '--data-dir', hubDir, '--port', String(port), '--ws-port', 'off', '--host', '127.0.0.1', '--rpc', chain.anvil.url, '--contracts', contractsFile],
  };
}

export async function startChainFixture(dir: string, opts: { funding?: bigint; endpoint?: string } = {}): Promise<ChainFixture> {
  const chain = await startDevChain({ signers: 1 });
  try {
    return { chain, ...(await prepareHub(chain, dir, opts)), stop: () => chain.stop() };
  } catch (err) {
    await chain.stop();
    throw err;
  }
}
