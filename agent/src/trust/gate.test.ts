import { describe, expect, it } from 'vitest';
import { Wallet } from 'ethers';
import { DeviceConfig, signHubCard, verifyHubCard } from '@sosna/protocol';
import type { HubCard } from '@sosna/protocol';
import { selector } from './abi.js';
import { createHubGate, decideTrust, hubGateFor, trustConfigured, trustView } from './gate.js';
import type { EthReader } from './rpc.js';
import { assessHealth } from '../dashboard/health.js';

const owner = Wallet.createRandom();
const wallet = '0x2222222222222222222222222222222222222222';
const whitelist = '0x3333333333333333333333333333333333333333';
const word = (v: bigint) => `0x${v.toString(16).padStart(64, '0')}`;

function card(body: Partial<HubCard> = {}, signer = owner): Promise<HubCard> {
  return signHubCard({ v: 1, hubId: 'hub-a', name: 'A', endpoints: ['mqtt://a:1883'], owner: owner.address, wallet, chainId: 31337, issuedAt: 1, ...body }, signer);
}

/** A chain that answers the trust check's eth_calls from a table of facts. */
function chain(facts: { listed?: boolean; state?: number; available?: bigint; walletOwner?: string } = {}): EthReader & { calls: number } {
  const answers: Record<string, string> = {
    [selector('isListed(address)')]: word(facts.listed === false ? 0n : 1n),
    [selector('isTrusted(address)')]: word(0n),
    [selector('owner()')]: word(BigInt(facts.walletOwner ?? owner.address)),
    [selector('state()')]: word(BigInt(facts.state ?? 1)),
    [selector('available()')]: word(facts.available ?? 10n ** 21n),
    [selector('claimable(address)')]: word(5n),
  };
  const r = {
    calls: 0,
    chainId: async () => 31337,
    call: async (_to: string, data: string) => {
      r.calls++;
      const a = answers[data.slice(0, 10)];
      if (a === undefined) throw new Error(`unexpected call ${data.slice(0, 10)}`);
      return a;
    },
    logs: async () => [],
    blockTime: async () => 0,
  };
  return r;
}

const config = (extra: Record<string, unknown> = {}) =>
  DeviceConfig.parse({ hub: { url: 'mqtt://a:1883' }, owner: '0x4444444444444444444444444444444444444444', chain: { rpcUrl: 'http://127.0.0.1:8545', whitelist, minAvailableWei: '1000' }, ...extra });

describe('the trust decision on connect (pure)', () => {
  it('refuses a missing card, a bad signature, a card of another hub and a failed chain verdict, with the reason', async () => {
    expect(decideTrust('hub-a', 7, null, null)).toEqual({ state: 'refused', hubId: 'hub-a', at: 7, reason: expect.stringMatching(/no announcement from hub hub-a/) });
    const forged = verifyHubCard(await card({}, Wallet.createRandom()));
    expect(decideTrust('hub-a', 7, forged, null)).toMatchObject({ state: 'refused', reason: expect.stringMatching(/not by its owner/) });
    const other = verifyHubCard(await card({ hubId: 'hub-b' }));
    expect(decideTrust('hub-a', 7, other, null)).toMatchObject({ state: 'refused', reason: "the card on hub hub-a's topic is for hub hub-b" });
    const good = verifyHubCard(await card());
    expect(decideTrust('hub-a', 7, good, { ok: false, reasons: ['one', 'two'], claimable: 0n })).toMatchObject({ state: 'refused', reason: 'one; two' });
    expect(decideTrust('hub-a', 7, good, { ok: true, score: 3, claimable: 9n })).toEqual({ state: 'trusted', hubId: 'hub-a', at: 7, wallet, claimable: 9n, score: 3 });
    expect(decideTrust('hub-a', 7, good, null)).toMatchObject({ state: 'trusted', claimable: null, score: null });
  });
});

describe('the hub gate', () => {
  it('is off without a pinned owner or a chain, on with either', () => {
    expect(trustConfigured(DeviceConfig.parse({ hub: { url: 'mqtt://a:1883' } }))).toBe(false);
    expect(hubGateFor(DeviceConfig.parse({ hub: { url: 'mqtt://a:1883' } }))).toBeNull();
    expect(trustConfigured(DeviceConfig.parse({ hub: { url: 'mqtt://a:1883', owner: owner.address } }))).toBe(true);
    expect(trustConfigured(config())).toBe(true);
  });

  it('trusts a signed card of a registered, funded wallet and reports what the owner can claim', async () => {
    const reader = chain();
    const t = await createHubGate({ config: config(), reader, now: () => 5 }).vet('hub-a', { value: await card() });
    expect(t).toMatchObject({ state: 'trusted', hubId: 'hub-a', at: 5, wallet, claimable: 5n });
    expect(trustView(t)).toEqual({ state: 'trusted', hubId: 'hub-a', at: 5, reason: null, wallet, claimable: '5' });
  });

  it('refuses a suspected or underfunded wallet and does not ask the chain about a card that fails its signature', async () => {
    const suspected = await createHubGate({ config: config(), reader: chain({ state: 3 }) }).vet('hub-a', { value: await card() });
    expect(suspected).toMatchObject({ state: 'refused', reason: expect.stringMatching(/is Suspected, not Registered/) });
    const poor = await createHubGate({ config: config(), reader: chain({ available: 999n }) }).vet('hub-a', { value: await card() });
    expect(poor).toMatchObject({ state: 'refused', reason: expect.stringMatching(/can pay out 999 wei, less than the required 1000/) });
    const reader = chain();
    const pinned = await createHubGate({ config: config({ hub: { url: 'mqtt://a:1883', owner: Wallet.createRandom().address } }), reader }).vet('hub-a', { value: await card() });
    expect(pinned).toMatchObject({ state: 'refused', reason: expect.stringMatching(/is not the expected/) });
    expect(reader.calls).toBe(0);
    const garbage = await createHubGate({ config: config(), reader }).vet('hub-a', { value: { undecodable: 'bad msgpack' } });
    expect(garbage.state).toBe('refused');
    const none = await createHubGate({ config: config(), reader }).vet('hub-a', null);
    expect(none).toMatchObject({ state: 'refused', reason: expect.stringMatching(/no announcement/) });
  });

  it('the dashboard health shows the refusal and its reason', () => {
    const h = assessHealth({
      connected: false, trust: { state: 'refused', hubId: 'hub-a', reason: 'wallet 0x22 is Suspected, not Registered' },
      metrics: {}, sampleAgeMs: 1000, intervalSec: 10, memoryTotalBytes: 0,
    });
    expect(h.level).toBe('error');
    expect(h.checks).toContainEqual({ name: 'hub trust', level: 'error', detail: 'refused: wallet 0x22 is Suspected, not Registered' });
    expect(h.checks.find((c) => c.name === 'hub link')?.detail).toMatch(/refusing hub hub-a/);
    const ok = assessHealth({ connected: true, trust: { state: 'trusted', hubId: 'hub-a', reason: null }, metrics: {}, sampleAgeMs: 1000, intervalSec: 10, memoryTotalBytes: 0 });
    expect(ok.checks).toContainEqual({ name: 'hub trust', level: 'ok', detail: 'hub hub-a checked on connect' });
  });
});
