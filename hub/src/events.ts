import { EventEmitter } from 'node:events';

export interface HubEvents {
  online: [deviceId: string];
  offline: [deviceId: string];
  telemetry: [deviceId: string];
  provisioned: [deviceId: string, keyId: string];
}

/** Typed events the hub's services emit (the console's `watch` and the tests listen). */
export class HubEventBus extends EventEmitter<HubEvents> {}
