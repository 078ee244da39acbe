// The whole hub database as one object: the sum of the narrow stores each domain declares beside itself
// (fleet/store.ts, auth/store.ts, jobs/store.ts, payouts/types.ts, escrow/store.ts, updates/store.ts,
// console/store.ts, receipts/store.ts, alerts/store.ts). Only what opens, wires and closes the database
// (app.ts, the CLI, tests) uses it; a service takes the narrow store it uses. See docs/architecture.md "Store".
import type { JobStore } from '../jobs/store.js';
import type { PayoutStore } from '../payouts/types.js';
import type { EscrowStore } from '../escrow/store.js';
import type { UpdateStore } from '../updates/store.js';
import type { SessionStore } from '../console/store.js';
import type { ReceiptStore } from '../receipts/store.js';
import type { AlertStore } from '../alerts/store.js';
import type { DesiredConfigStore, DeviceStore, MetaStore, ProvisioningKeyStore } from '../fleet/store.js';
import type { OperatorStore } from '../auth/store.js';

export type { BirthUpdate, DesiredConfigRow, DeviceRow, KeyRow } from '../fleet/store.js';
export type { OperatorRow, Role } from '../auth/store.js';

export interface HubStore extends MetaStore, DeviceStore, DesiredConfigStore, ProvisioningKeyStore, OperatorStore {
  /** The job queue, runs, ledger and device standing (same database). */
  readonly jobs: JobStore;
  readonly payouts: PayoutStore;
  /** Buyer jobs' funding, credit and the settlement outbox (same database). */
  readonly escrow: EscrowStore;
  /** Agent releases and rollouts (same database). */
  readonly updates: UpdateStore;
  /** Remote shell and exec sessions (same database). */
  readonly sessions: SessionStore;
  /** Device keys and run receipts (same database). */
  readonly receipts: ReceiptStore;
  /** Alerts and their webhook deliveries (same database). */
  readonly alerts: AlertStore;

  close(): void;
}
