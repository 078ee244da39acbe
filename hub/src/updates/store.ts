// Agent releases and their per-device rollouts, as the updates service needs them; store/updates-sqlite.ts
// implements it.
import type { RolloutState } from '@sosna/protocol';

export interface ReleaseRow {
  version: string;
  sha256: string;
  size: number;
  signature: string;
  /** The address that signed (the hub's update key, or whoever made an offline signature). */
  signer: string;
  /** The bundle file, relative to the hub's data directory. */
  file: string;
  healthDeadlineSec: number;
  createdAt: number;
}

export interface RolloutRecord {
  version: string;
  deviceId: string;
  state: RolloutState;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface UpdateStore {
  putRelease(row: ReleaseRow): void;
  getRelease(version: string): ReleaseRow | undefined;
  listReleases(): ReleaseRow[];
  /** Adds a pending record per device not yet in this rollout; returns how many were added. */
  addTargets(version: string, deviceIds: string[], at: number): number;
  getRollout(version: string, deviceId: string): RolloutRecord | undefined;
  setRollout(version: string, deviceId: string, state: RolloutState, reason: string | null, at: number): void;
  listRollouts(version?: string): RolloutRecord[];
  /** The records of one device in the given states, newest release first. */
  rolloutsOf(deviceId: string, states: RolloutState[]): RolloutRecord[];
}
