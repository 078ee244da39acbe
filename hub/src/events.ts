import { EventEmitter } from 'node:events';

export interface HubEvents {
  online: [deviceId: string];
  offline: [deviceId: string];
  /** A telemetry message arrived, with its metrics (a delta unless the message was full). */
  telemetry: [deviceId: string, metrics: Record<string, number>];
  provisioned: [deviceId: string, keyId: string];
  /** A device reported on its desired config (applied or failed). */
  config: [deviceId: string];
}

/** Typed events the hub's services emit (the console's `watch` and the tests listen). */
export class HubEventBus extends EventEmitter<HubEvents> {}
