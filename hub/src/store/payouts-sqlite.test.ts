// The ledger's side of payouts: earnings credited before the device named a wallet are paid to the wallet
// it names later, exactly and once; a round that pays nothing says why; provisioning records the tags.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatWei } from '@sosna/protocol';
import { openSqliteStore } from './sqlite.js';
import type { HubStore } from './types.js';
import { nothingOwedReason } from '../payouts/types.js';

const WALLET = '0x52908400098527886E0F7030069857D2E4169EE7';
let dir: string;
let store: HubStore;
const open = () => {
  dir = mkdtempSync(join(tmpdir(), 'sosna-ledger-'));
  store = openSqliteStore(join(dir, 'hub.db'));
  return store;
};
afterEach(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const device = (s: HubStore, id: string) => s.createDevice({ id, name: id, fleet: 'rigs', tags: [], secretHash: 'x', createdAt: 1 });
const earn = (s: HubStore, job: string, deviceId: string, owner: string, amount: bigint) =>
  s.jobs.credit({ jobId: job, deviceId, runId: `${job}-r`, owner, seconds: 4, price: amount / 4n, amount, at: 2 });
const birth = (s: HubStore, id: string, owner?: string) =>
  s.recordBirth(id, { at: 3, name: id, agentVersion: '0', inventory: { cpu: {}, memory: {}, ...(owner ? { owner } : {}) } });
const reason = (s: HubStore) => nothingOwedReason(s.payouts, formatWei);

describe('payouts of earnings credited to a fleet', () => {
  it('are paid to the wallet the device names later, exactly once, and every empty round says why', () => {
    const s = open();
    expect(reason(s)).toMatch(/no job has finished with earnings yet/);
    for (const id of ['rig-1', 'rig-2']) device(s, id);
    earn(s, 'j1', 'rig-1', 'rigs', 1000n);
    earn(s, 'j2', 'rig-2', 'rigs', 3000n);
    expect(s.payouts.plan('p1', 10, 100)).toBeNull();
    expect(s.payouts.unpaid()).toEqual([]);
    expect(reason(s)).toMatch(/1 owner\(s\) have earnings but no wallet address: 'rigs' \(4,000 wei; devices rig-1, rig-2\).*"owner"/);

    // the devices come back naming their owner's wallet (their config's owner, sent with the birth)
    birth(s, 'rig-1', WALLET);
    birth(s, 'rig-2', WALLET.toLowerCase());
    expect(s.payouts.unpaid()).toEqual([{ owner: WALLET, amount: 4000n }]);
    const p = s.payouts.plan('p2', 11, 100)!;
    expect(p.items).toEqual([{ owner: WALLET, amount: 4000n }]);
    expect(p.total).toBe(4000n);
    expect(s.payouts.plan('p3', 12, 100)).toBeNull();
    expect(reason(s)).toMatch(/2 earning\(s\) are in a payout still being settled/);
    s.payouts.paid('p2', 7, 13);
    expect(s.payouts.plan('p4', 14, 100)).toBeNull();
    expect(reason(s)).toBe('nothing is owed: all earnings already paid');
    expect(s.payouts.paidOf('rig-1')).toEqual([{ jobId: 'j1', amount: 1000n }]);
  });

  it('an owner the hub set wins over the declared one; a device without any stays unpaid and named', () => {
    const s = open();
    device(s, 'rig-1');
    device(s, 'rig-2');
    earn(s, 'j1', 'rig-1', 'rigs', 5n);
    earn(s, 'j2', 'rig-2', 'rig-2', 7n);
    birth(s, 'rig-1', WALLET);
    const other = '0x' + '11'.repeat(20);
    s.jobs.putMarket({ deviceId: 'rig-1', owner: other, reputation: 0.5, agreed: 0, dissented: 0, lost: 0, healthy: true, healthReason: null });
    expect(s.payouts.unpaid()).toEqual([{ owner: other, amount: 5n }]);
    expect(s.payouts.unpayable()).toEqual([{ owner: 'rig-2', amount: 7n, devices: ['rig-2'] }]);
  });
});

describe('provisioning', () => {
  it("records the tags the device's config gives", () => {
    const s = open();
    s.createKey({ id: 'k1', fleet: 'rigs', secretHash: 'x', maxUses: 2, uses: 0, expiresAt: null, revokedAt: null, createdAt: 1 });
    expect(s.createProvisionedDevice({ id: 'rig-a', name: 'rig-a', fleet: 'rigs', tags: ['gpu', 'kyiv'], secretHash: 'x', keyId: 'k1', nonce: 'n'.repeat(16), createdAt: 1 })).toBe('created');
    expect(s.getDevice('rig-a')!.tags).toEqual(['gpu', 'kyiv']);
  });
});
