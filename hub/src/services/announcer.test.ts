import { describe, expect, it } from 'vitest';
import { Wallet } from 'ethers';
import { hubCardMessage, recoverSigner, signHubCard, verifyHubCard } from '@sosna/protocol';

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
