// What the hub needs from a message broker. The embedded aedes broker implements it in-process; an
// external MQTT cluster implements it through a privileged client connection.
export type MessageHandler = (topic: string, payload: Buffer) => void;

export interface Bus {
  publish(topic: string, payload: Uint8Array, opts?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
  /** Resolves once the subscription is active; the returned function removes it. */
  subscribe(filter: string, handler: MessageHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
