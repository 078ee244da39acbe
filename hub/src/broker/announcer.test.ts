import { describe, expect, it } from 'vitest';
import { Wallet } from 'ethers';
import { createCodec, hubCardMessage, recoverSigner, signHubCard, topics, verifyHubCard } from '@sosna/protocol';
import { HubConfig } from '../config.js';
import { announce } from './announcer.js';

describe('hub card signatures', () => {
  it('a card signed by the hub owner with ethers verifies with the agent-side verifier', async () => {
    for (let i = 0; i < 5; i++) {
      const w = Wallet.createRandom();
      const card = await signHubCard({ v: 1, hubId: 'hub-x', name: `hub ${i}`, endpoints: ['mqtt://h:1883'], owner: w.address, issuedAt: Date.now() }, w);
      expect(recoverSigner(hubCardMessage(card), card.signature)).toBe(w.address.toLowerCase());
      expect(verifyHubCard(card, w.address)).toMatchObject({ ok: true });
      const other = Wallet.createRandom();
      const forged = await signHubCard({ ...card, owner: w.address }, other);
      expect(verifyHubCard(forged)).toMatchObject({ ok: false });
    }
  });
});

describe('the announced card carries the hub prices', () => {
  it('publishes the configured prices, retained and signed; a changed price breaks the signature; no prices, no field', async () => {
    const codec = createCodec();
    const published: { topic: string; payload: Uint8Array; retain?: boolean }[] = [];
    const bus = { publish: async (topic: string, payload: Uint8Array, o?: { retain?: boolean }) => void published.push({ topic, payload, retain: o?.retain }), subscribe: async () => async () => {}, close: async () => {} };
    const signer = Wallet.createRandom();
    const prices = HubConfig.parse({ prices: { cpu: '1000000000000000000000', gpu: '5' } }).prices;
    await announce({ bus, codec, hubId: 'hub-p', name: 'P', endpoints: ['mqtt://p:1'], signer, prices });
    expect(published[0]).toMatchObject({ topic: topics.announce('hub-p'), retain: true });
    const card = codec.decode(published[0]!.payload) as Record<string, unknown>;
    expect(card.prices).toEqual({ cpu: '1000000000000000000000', gpu: '5' });
    expect(verifyHubCard(card, signer.address)).toMatchObject({ ok: true, card: { prices: { cpu: '1000000000000000000000' } } });
    expect(verifyHubCard({ ...card, prices: { cpu: '1000000000000000000001', gpu: '5' } }, signer.address)).toMatchObject({ ok: false });
    await announce({ bus, codec, hubId: 'hub-p', name: 'P', endpoints: ['mqtt://p:1'], signer, prices: HubConfig.parse({}).prices });
    expect(codec.decode(published[1]!.payload)).not.toHaveProperty('prices');
    expect(() => HubConfig.parse({ prices: { cpu: '1.5' } })).toThrow(/decimal integer/);
  });
});
