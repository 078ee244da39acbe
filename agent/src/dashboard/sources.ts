// What the dashboard shows, as the agent hands it over: the device's status (read on each request) and
// optional providers for the parts other services own (jobs, earnings). A missing provider shows as
// "not available on this device yet" in the UI.
import type { BasicInventory } from '@sosna/protocol';

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
}

export interface JobSummary {
  id: string;
  image: string;
  state: string;
  startedAt?: number;
  endedAt?: number;
  exitCode?: number;
  /** Newest output lines, when the provider keeps them. */
  logTail?: string[];
}

/** Token amounts are wei as decimal strings (never floats). */
export interface EarningsSummary {
  token: string;
  accrued: string;
  paid: string;
  claimable: string;
  perHub: { hubId: string; accrued: string; paid: string; claimable: string }[];
}

export interface DashboardSources {
  jobs?(): JobSummary[] | Promise<JobSummary[]>;
  earnings?(): EarningsSummary | null | Promise<EarningsSummary | null>;
}
