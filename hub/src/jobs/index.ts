// Jobs on the hub: the scheduler and the services it offers to devices and operators.
import { isFinal, deviceEarningsService, earningsService, hubJobsService, jobsService, offersService, trustService } from '@sosna/protocol';
import type { Logger, RpcEndpoint } from '@sosna/protocol';
import type { HubEventBus } from '../events.js';
import type { DeviceLinks } from '../fleet/device-links.js';
import type { Registry } from '../fleet/registry.js';
import type { OperatorMeta } from '../auth/roles.js';
import type { DeviceStore } from '../fleet/store.js';
import type { PayoutStore } from '../payouts/types.js';
import type { JobStore } from './store.js';
import { Scheduler } from './scheduler.js';
import type { SchedulerConfig } from './scheduler.js';
import type { TrustConfig } from './verifier.js';
import { deviceEarningsHandlers, deviceJobsHandlers } from './device-service.js';
import type { DeviceMeta, ReceiptSink } from './device-service.js';
import { earningsHandlers, jobsHandlers } from './console-service.js';
import { trustHandlers } from './trust-console.js';
import { offerClasses } from './offers.js';
import type { InputSeeds } from './input-seeds.js';

export { Scheduler } from './scheduler.js';
export type { SchedulerConfig } from './scheduler.js';
export type { DeviceMeta } from './device-service.js';

export function startJobs(deps: {
  store: Pick<DeviceStore, 'getDevice' | 'listDevices'> & { readonly jobs: JobStore; readonly payouts: Pick<PayoutStore, 'paidOf'> }; links: DeviceLinks; registry: Registry; events: HubEventBus; log: Logger; config: SchedulerConfig;
  deviceEndpoint: RpcEndpoint<DeviceMeta>;
  /** The hub's HubWallet address once the chain is up (null: no chain). */
  wallet?: () => string | null;
  /** Lease and offline-grace clocks wait for scheduler.ready() (the hub's start-up calls it when ready). */
  holdClocksUntilReady?: boolean;
  /** Adaptive verification (off without it). */
  trust?: TrustConfig;
  /** The Stake contract the verification slashes through, once the chain is up (null: none). */
  stakeContract?: () => string | null;
  /** Takes receipts from final run reports (hub/src/receipts). */
  onReceipt?: ReceiptSink;
  /** The hub as a fallback seed of job inputs (input.hubSeed); without it such jobs are refused. */
  inputSeeds?: InputSeeds;
}): { scheduler: Scheduler; consoleServices: (endpoint: RpcEndpoint<OperatorMeta>) => void; stop(): void } {
  const scheduler = new Scheduler(deps);
  const seeds = deps.inputSeeds;
  if (seeds) {
    // a job's input copy goes when the job ends; the inputs of jobs still going on are fetched again (resumed)
    scheduler.feed.on('job', (job) => {
      if (isFinal(job.state)) seeds.release(job.id).catch((err: unknown) => deps.log.warn('could not remove a job input copy', { jobId: job.id, error: (err as Error).message }));
    });
    const live = deps.store.jobs.listJobs({ limit: 10_000 }).filter((j) => !isFinal(j.state) && j.spec.input?.hubSeed);
    seeds.resume(live.map((j) => ({ id: j.id, input: j.spec.input! })));
  }
  deps.deviceEndpoint.add(hubJobsService, deviceJobsHandlers(scheduler, deps.onReceipt, seeds)).add(deviceEarningsService, deviceEarningsHandlers(deps.store, deps.wallet ?? (() => null)));
  scheduler.start();
  return {
    scheduler,
    consoleServices: (endpoint) => {
      endpoint.add(jobsService, jobsHandlers(scheduler, deps.store, seeds)).add(earningsService, earningsHandlers(deps.store));
      endpoint.add(trustService, trustHandlers({
        verifier: scheduler.verifier, listDevices: () => deps.store.listDevices(), ownerOf: (id) => scheduler.ownerOf(id),
        slashes: (f) => deps.store.jobs.slashes(f), stakeContract: deps.stakeContract ?? (() => null),
      }));
      endpoint.add(offersService, {
        list: (req) => {
          const views = scheduler.onlineViews();
          const r = offerClasses(views, scheduler.usage(), (id) => deps.store.getDevice(id)?.tags ?? [], req);
          return { ...r, online: views.length };
        },
      });
    },
    stop: () => {
      scheduler.stop();
      void seeds?.stop();
    },
  };
}
