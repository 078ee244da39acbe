// The agent's on-chain trust check against the real contracts on a real local chain (anvil).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Wallet } from 'ethers';
import { confirm, createHubWallet, proposeCall, startDevChain } from '@sosna/contracts';
import type { CreatedHub, DevChain } from '@sosna/contracts';
import type { HubCard } from '@sosna/protocol';
import { checkHub } from '../agent/src/trust/check.js';
import { jsonRpcReader } from '../agent/src/trust/rpc.js';

let chain: DevChain;
let hub: CreatedHub;
let ownerAddr: string;
const ether = 10n ** 18n;
const deviceOwner = Wallet.createRandom().address;

function cardFor(wallet: string, chainId = 31337): HubCard {
  return { v: 1, hubId: 'hub-test', name: 'test', endpoints: [], owner: ownerAddr, wallet, chainId, issuedAt: Date.now(), signature: `0x${'0'.repeat(130)}` };
}

beforeAll(async () => {
  chain = await startDevChain({ signers: 3 });
  const d = chain.deployment;
  const owner = chain.signers[1]!;
  ownerAddr = await owner.getAddress();
  await confirm(d.token.connect(chain.signers[0]!).transfer(ownerAddr, 1_000_000n * ether));
  hub = await createHubWallet(d, owner, 'mqtt://hub.example:1883');
  await confirm(d.token.connect(owner).transfer(hub.address, 5_000n * ether));
}, 120_000); // sized for a loaded machine
afterAll(async () => {
  await chain?.stop();
});

describe('agent trust on chain', () => {
  const policy = { requireTrusted: false, minAvailable: 1_000n * ether };
  const whitelist = () => chain.deployment.addresses.whitelist;
  const reader = () => jsonRpcReader(chain.anvil.url);

  it('accepts a whitelisted, registered, funded hub', async () => {
    const v = await checkHub(cardFor(hub.address), reader(), whitelist(), deviceOwner, policy);
    expect(v).toMatchObject({ ok: true, claimable: 0n });
  });

  it('refuses an underfunded wallet, an unlisted one, the wrong chain, and an unreachable RPC', async () => {
    expect(await checkHub(cardFor(hub.address), reader(), whitelist(), deviceOwner, { ...policy, minAvailable: 1_000_000n * ether }))
      .toMatchObject({ ok: false, reasons: [expect.stringMatching(/less than the required/)] });
    const stranger = Wallet.createRandom().address;
    expect(await checkHub(cardFor(stranger), reader(), whitelist(), deviceOwner, policy))
      .toMatchObject({ ok: false, reasons: [expect.stringMatching(/not on the Whitelist/)] });
    expect(await checkHub(cardFor(hub.address, 1), reader(), whitelist(), deviceOwner, policy))
      .toMatchObject({ ok: false, reasons: [expect.stringMatching(/chain 1/)] });
    expect(await checkHub(cardFor(hub.address), jsonRpcReader('http://127.0.0.1:9', 500), whitelist(), deviceOwner, policy))
      .toMatchObject({ ok: false, reasons: [expect.stringMatching(/cannot check the hub on chain/)] });
  });

  it('requires the DAO\'s trust when asked, and refuses a wallet the DAO suspects', async () => {
    const d = chain.deployment;
    const member = chain.signers[0]!;
    expect(await checkHub(cardFor(hub.address), reader(), whitelist(), deviceOwner, { ...policy, requireTrusted: true })).toMatchObject({ ok: false });
    await proposeCall(d.dao, member, d.whitelist, 'setTrusted', [hub.address, true], { fastForward: chain.provider });
    expect(await checkHub(cardFor(hub.address), reader(), whitelist(), deviceOwner, { ...policy, requireTrusted: true })).toMatchObject({ ok: true });
    await proposeCall(d.dao, member, hub.wallet, 'suspect', [], { fastForward: chain.provider });
    expect(await checkHub(cardFor(hub.address), reader(), whitelist(), deviceOwner, policy))
      .toMatchObject({ ok: false, reasons: [expect.stringMatching(/Suspected, not Registered/)] });
  });
});
