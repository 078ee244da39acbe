// Publishes the retained, signed hub card on sosna/v1/hubs/{hubId}/announce.
import { signHubCard, topics } from '@sosna/protocol';
import type { Codec, HubCard } from '@sosna/protocol';
import type { Signer } from 'ethers';
import type { Bus } from './bus.js';

export async function announce(deps: { bus: Bus; codec: Codec; hubId: string; name: string; endpoints: string[]; signer: Signer; wallet?: string; chainId?: number; updateKey?: string; prices?: Record<string, string> }): Promise<HubCard> {
  const owner = await deps.signer.getAddress();
  const card = await signHubCard(
    { v: 1, hubId: deps.hubId, name: deps.name, endpoints: deps.endpoints, owner, ...(deps.wallet ? { wallet: deps.wallet, chainId: deps.chainId } : {}), ...(deps.updateKey ? { updateKey: deps.updateKey } : {}), ...(deps.prices && Object.keys(deps.prices).length ? { prices: deps.prices } : {}), issuedAt: Date.now() },
    deps.signer,
  );
  await deps.bus.publish(topics.announce(deps.hubId), deps.codec.encode(card), { retain: true, qos: 1 });
  return card;
}
