// The hub's embedded development chain: contracts deployed, the hub's wallet created through the factory
// and funded, state kept across a hub restart, and an agent's trust check passes against it.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { stakeAt } from '@sosna/contracts';
import { silentLogger } from '@sosna/protocol';
import type { HubCard } from '@sosna/protocol';
import { startHubChain } from '../hub/src/chain/hub-chain.js';
import type { HubChain } from '../hub/src/chain/hub-chain.js';
import { checkHub } from '../agent/src/trust/check.js';
import { jsonRpcReader } from '../agent/src/trust/rpc.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
const owner = Wallet.createRandom();
let chain: HubChain | undefined;
afterAll(async () => {
  await chain?.stop();
  tmp.cleanup();
});

const MIN_STAKE = 100n * 10n ** 18n;
const start = () => startHubChain({ dataDir: tmp.dir, ownerKey: owner.privateKey, log: silentLogger, endpoint: 'mqtt://hub.example:1883', devStake: { minStake: MIN_STAKE, unbondingSec: 86_400n } });
const card = (c: HubChain): HubCard => ({
  v: 1, hubId: 'hub-x', name: 'x', endpoints: [], owner: owner.address, wallet: c.contracts.wallet, chainId: c.chainId, issuedAt: 0, signature: `0x${'0'.repeat(130)}`,
});

describe('embedded development chain', () => {
  it('deploys, creates and funds the hub wallet, and an agent accepts the hub', async () => {
    chain = await start();
    expect(chain.contracts.wallet).toMatch(/^0x[0-9a-fA-F]{40}$/);
    const saved = JSON.parse(readFileSync(join(tmp.dir, 'contracts.json'), 'utf8'));
    expect(saved.wallet).toBe(chain.contracts.wallet);
    // the Stake contract adaptive verification slashes through: the hub config's least stake, the DAO as treasury
    expect(saved.stake).toBe(chain.contracts.stake);
    const stake = stakeAt(chain.contracts.stake!, chain.provider);
    expect(await stake.minStake()).toBe(MIN_STAKE);
    expect((await stake.treasury()).toLowerCase()).toBe(chain.contracts.dao.toLowerCase());
    const v = await checkHub(card(chain), jsonRpcReader(chain.rpcUrl), chain.contracts.whitelist, null, { requireTrusted: false, minAvailable: 1000n * 10n ** 18n });
    expect(v).toMatchObject({ ok: true });
  });

  it('keeps its state across a restart: same contracts, same wallet, still funded', async () => {
    const before = chain!.contracts;
    await chain!.stop(); // anvil dumps its state when it exits (and every second while it runs)
    chain = await start();
    expect(chain.contracts).toEqual(before);
    expect(await chain.provider.getCode(before.wallet)).not.toBe('0x');
    const v = await checkHub(card(chain), jsonRpcReader(chain.rpcUrl), chain.contracts.whitelist, null, { requireTrusted: false, minAvailable: 1000n * 10n ** 18n });
    expect(v).toMatchObject({ ok: true });
  });
});
