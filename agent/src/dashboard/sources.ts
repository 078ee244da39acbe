// What the dashboard shows, as the agent hands it over: the device's status (read on each request) and
// optional providers for the parts other services own (jobs, earnings). A missing provider shows as
// "not available on this device yet" in the UI.
import type { RigEarnings } from '@sosna/protocol';
import type { BasicInventory } from '@sosna/protocol';
import type { HubTrustView } from '../trust/gate.js';
import type { HubChoiceRecord } from '../trust/choose.js';

export interface DeviceStatus {
  deviceId: string;
  hubId: string;
  name: string;
  hubUrl: string;
  connected: boolean;
  inventory: BasicInventory;
  /** Full hardware inventory from detection (see protocol/src/hardware.ts); null when detection did not run. */
  hardware: Record<string, unknown> | null;
  benchmarks: Record<string, number> | null;
  /** The trust check of the last connection to the hub (agent/src/trust/gate.ts); null before the first or when none is configured. */
  hubTrust?: HubTrustView | null;
  /** With several hubs configured: the hub the agent chose, why, and the ranking (agent/src/trust/choose.ts). */
  hubChoice?: HubChoiceRecord | null;
}

export interface JobSummary {
  /** The run id (`{jobId}.{replica}.{attempt}`). */
  id: string;
  jobId?: string;
  image: string;
  kind?: string;
  state: string;
  acceptedAt?: number;
  startedAt?: number;
  endedAt?: number;
  exitCode?: number;
  reason?: string;
  runtimeMs?: number;
  progress?: string;
  restarts?: number;
  /** The buyer's bid, token wei per second (decimal string). */
  bidPerSec?: string;
  /** Newest output lines, when the provider keeps them. */
  logTail?: string[];
  /** The time of the newest output piece in logTail (live pieces up to it are in the tail already). */
  logAt?: number;
}

/** Token amounts are wei as decimal strings (never floats). */
export interface EarningsSummary {
  token: string;
  accrued: string;
  paid: string;
  /** null: unknown (no hub's claimable could be read; claimableNote says why), never shown as 0. */
  claimable: string | null;
  claimableNote?: string;
  /** The owner address the figures are for (claimable is the owner's, across all its devices). */
  owner?: string | null;
  perHub: HubEarnings[];
}

export interface HubEarnings {
  hubId: string;
  accrued: string;
  paid: string;
  /** null: not known (no chain configured, no owner address, or the wallet is not on the Whitelist). */
  claimable: string | null;
  runs?: number;
  seconds?: number;
  wallet?: string | null;
  /** When the hub last answered (ms); older figures are shown from the device's cache. */
  asOf?: number;
  /** Why a figure may be stale or missing. */
  note?: string;
}

export interface DashboardSources {
  jobs?(): JobSummary[] | Promise<JobSummary[]>;
  /** Why this device runs no jobs (no container engine, jobs off), null when it can. */
  jobsUnavailable?(): string | null;
  earnings?(): EarningsSummary | null | Promise<EarningsSummary | null>;
  /** Rig mode: mining and compute revenue per interval and the switching decisions (mining/ledger.ts). */
  rigEarnings?(): RigEarnings;
}
