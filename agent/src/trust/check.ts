// Gathers the on-chain facts about a hub (read-only eth_calls) and judges them.
import type { HubCard } from '@sosna/protocol';
import { decode, encodeCall } from './abi.js';
import { judgeHub, WALLET_STATES } from './policy.js';
import type { HubFacts, TrustPolicy, Verdict } from './policy.js';
import type { EthReader } from './rpc.js';

export async function hubFacts(card: HubCard, reader: EthReader, whitelist: string, deviceOwner: string | null): Promise<HubFacts> {
  const rpcChainId = await reader.chainId();
  const base = { owner: card.owner, wallet: card.wallet ?? null, chainId: card.chainId ?? null, rpcChainId };
  if (!card.wallet) {
    return { ...base, listed: false, trusted: false, walletOwner: '0x0000000000000000000000000000000000000000', state: 'unknown', available: 0n, claimable: 0n };
  }
  const w = { type: 'address' as const, value: card.wallet };
  const listed = decode.bool(await reader.call(whitelist, encodeCall('isListed(address)', [w])));
  if (!listed) {
    // not a wallet the Whitelist knows: nothing else about it can be trusted (it may not even be a HubWallet)
    return { ...base, listed, trusted: false, walletOwner: '0x0000000000000000000000000000000000000000', state: 'unknown', available: 0n, claimable: 0n };
  }
  const [trusted, walletOwner, state, available, claimable] = await Promise.all([
    reader.call(whitelist, encodeCall('isTrusted(address)', [w])).then((d) => decode.bool(d)),
    reader.call(card.wallet, encodeCall('owner()')).then((d) => decode.address(d)),
    reader.call(card.wallet, encodeCall('state()')).then((d) => WALLET_STATES[Number(decode.uint(d))] ?? ('unknown' as const)),
    reader.call(card.wallet, encodeCall('available()')).then((d) => decode.uint(d)),
    deviceOwner ? reader.call(card.wallet, encodeCall('claimable(address)', [{ type: 'address', value: deviceOwner }])).then((d) => decode.uint(d)) : Promise.resolve(0n),
  ]);
  return { ...base, listed, trusted, walletOwner, state, available, claimable };
}

/** Never throws: an unreachable chain is a refusal with that reason. */
export async function checkHub(card: HubCard, reader: EthReader, whitelist: string, deviceOwner: string | null, policy: TrustPolicy): Promise<Verdict> {
  try {
    return judgeHub(await hubFacts(card, reader, whitelist, deviceOwner), policy);
  } catch (err) {
    return { ok: false, reasons: [`cannot check the hub on chain: ${(err as Error).message}`], claimable: 0n };
  }
}

/**
 * What `owner` can claim now from a hub's wallet (read-only eth_calls). The wallet must be on the
 * Whitelist, so a hub cannot show a figure from a contract of its own making; null when it is not.
 */
export async function claimableAt(reader: EthReader, whitelist: string, wallet: string, owner: string): Promise<bigint | null> {
  const listed = decode.bool(await reader.call(whitelist, encodeCall('isListed(address)', [{ type: 'address', value: wallet }])));
  if (!listed) return null;
  return decode.uint(await reader.call(wallet, encodeCall('claimable(address)', [{ type: 'address', value: owner }])));
}
