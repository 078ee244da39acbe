// The hub's receipt services: devices register their key (deviceKey.register); final run reports bring
// receipts (checked by check.ts, stored, or refused and logged with a job event); the console lists a
// job's receipts (its submitter or an admin) and shows, or an admin clears, a device's key.
import { hubDeviceKeyService, receiptsService, SosnaError } from '@sosna/protocol';
import type { Logger, RpcEndpoint } from '@sosna/protocol';
import type { DeviceMeta } from '../jobs/device-service.js';
import type { ReceiptSink } from '../jobs/device-service.js';
import type { JobRow, JobStore } from '../jobs/store.js';
import { requireRole } from '../auth/roles.js';
import type { OperatorMeta } from '../auth/roles.js';
import type { DeviceStore } from '../fleet/store.js';
import type { ReceiptStore } from './store.js';
import { checkReceipt } from './check.js';
import { DeviceKeys } from './keys.js';
import type { DeviceKeysDeps } from './keys.js';

export { DeviceKeys } from './keys.js';
export { checkReceipt } from './check.js';

/** Only the job's submitter, or an admin, sees its receipts (a buyer role reuses this check). */
export function maySeeJob(meta: OperatorMeta, job: Pick<JobRow, 'submittedBy'>): boolean {
  return meta.role === 'admin' || meta.operator === job.submittedBy;
}

export function startReceipts(deps: DeviceKeysDeps & { store: Pick<DeviceStore, 'getDevice'> & { readonly jobs: Pick<JobStore, 'addEvent'>; readonly receipts: ReceiptStore }; deviceEndpoint: RpcEndpoint<DeviceMeta>; getJob: (jobId: string) => JobRow | undefined }) {
  const keys = new DeviceKeys(deps);
  const log: Logger = deps.log;
  deps.deviceEndpoint.add(hubDeviceKeyService, {
    register: ({ publicKey }, ctx) => keys.register(ctx.meta.deviceId, publicKey),
  });

  const onReceipt: ReceiptSink = (run, job, value) => {
    const verdict = checkReceipt(value, { ...run, timeoutSec: job.spec.timeoutSec, inputInfoHash: job.spec.input?.infoHash ?? null }, deps.store.receipts.currentKey(run.deviceId)?.publicKey ?? null);
    if (!verdict.ok) {
      log.warn('receipt refused', { runId: run.id, deviceId: run.deviceId, reason: verdict.reason });
      deps.store.jobs.addEvent({ jobId: job.id, runId: run.id, at: Date.now(), from: run.state, to: run.state, reason: `receipt refused: ${verdict.reason}`.slice(0, 1000) });
      return;
    }
    const { receipt, publicKey, signature } = verdict.signed;
    if (deps.store.receipts.addReceipt({ receipt, publicKey, signature, receivedAt: Date.now() })) log.info('receipt stored', { runId: run.id, deviceId: run.deviceId });
  };

  const consoleServices = (endpoint: RpcEndpoint<OperatorMeta>) =>
    endpoint.add(receiptsService, {
      list: ({ jobId }, ctx) => {
        const job = deps.getJob(jobId);
        // the same answer for a job that exists but is someone else's: ids of others' jobs are not confirmed
        if (!job || !maySeeJob(ctx.meta, job)) throw new SosnaError('E_NOT_FOUND', `no job ${jobId} of yours`);
        return { jobId, receipts: deps.store.receipts.receiptsOf(jobId) };
      },
      deviceKey: ({ deviceId }) => {
        if (!deps.store.getDevice(deviceId)) throw new SosnaError('E_NOT_FOUND', `no device ${deviceId}`);
        return keys.info(deviceId);
      },
      clearDeviceKey: ({ deviceId, reason }, ctx) => {
        requireRole(ctx.meta, 'admin', 'clearing a device key');
        return keys.clear(deviceId, ctx.meta.operator, reason);
      },
    });

  return { keys, onReceipt, consoleServices };
}
