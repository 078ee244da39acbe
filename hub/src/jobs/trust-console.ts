// The operators' `trust` service: each device's verification record and its owner's stake and slashes
// (read-only; any console role). Without adaptive verification it says so, with no records.
import type { Handlers, trustService } from '@sosna/protocol';
import type { OperatorMeta } from '../auth/roles.js';
import type { DeviceRow } from '../fleet/store.js';
import type { Verifier } from './verifier.js';
import type { SlashRow } from './store.js';
import { isNewcomer } from './trust.js';

export interface TrustConsoleDeps {
  verifier: Pick<Verifier, 'standing' | 'replicationChance' | 'quarantined' | 'stakeOf' | 'policy'> | null;
  listDevices(): Pick<DeviceRow, 'id'>[];
  ownerOf(deviceId: string): string;
  slashes(filter?: { owner?: string }): SlashRow[];
  /** The Stake contract the hub reads and slashes through (null: none). */
  stakeContract(): string | null;
}

export function trustHandlers(d: TrustConsoleDeps): Handlers<typeof trustService, OperatorMeta> {
  return {
    records: ({ owner }) => {
      const v = d.verifier;
      if (!v) return { enabled: false, stakeContract: null, records: [] };
      const records = d.listDevices()
        .map((row) => ({ id: row.id, owner: d.ownerOf(row.id) }))
        .filter((x) => owner === undefined || x.owner === owner)
        .map(({ id, owner: o }) => {
          const s = v.standing(id, o);
          return {
            deviceId: id, owner: o, streak: s.device.streak, verified: s.device.verified, failures: s.device.failures,
            ownerStreak: s.owner.streak, ownerFailures: s.owner.failures, replicationChance: v.replicationChance(id, o),
            newcomer: isNewcomer(s.device, s.owner, v.policy), quarantined: v.quarantined(o), stake: v.stakeOf(o),
          };
        });
      return { enabled: true, stakeContract: d.stakeContract(), records };
    },
    slashes: ({ owner }) => {
      const slashes = d.slashes(owner !== undefined ? { owner } : {});
      return { slashes: slashes.map((s) => ({ ...s })), total: slashes.reduce((t, s) => t + s.amount, 0n) };
    },
  };
}
