// Jobs on the device: the container engine, the runs, and the `jobs` service the hub calls.
export { connectEngine, noEngineReason, resolveEndpoint, negotiateApi } from './engine.js';
export type { Engine } from './engine.js';
export { JobManager } from './manager.js';
export type { HubCalls, JobEvents } from './manager.js';
export { containerSpec, LABEL_DEVICE, LABEL_JOB } from './container-spec.js';
