// Alerts and their deliveries as the alerts service needs them (store/alerts-sqlite.ts implements it). An alert
// carries whether its firing and its resolution went into a message yet, and a message is written as one
// delivery per webhook before it is sent (an outbox): a restart neither forgets a firing alert nor sends
// a message twice, short of a crash between a receiver's answer and the write that records it.
import type { DeviceSnapshot, Notification, NewAlert, UnsentTransition } from './planner.js';

export interface AlertRow extends UnsentTransition {
  ackedBy: string | null;
  ackedAt: number | null;
  firedSent: boolean;
  resolvedSent: boolean;
}

export interface DeliveryRow {
  id: number;
  webhook: string;
  notification: Notification;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  nextAt: number;
  lastError: string | null;
  createdAt: number;
  sentAt: number | null;
}

export interface AlertStore {
  /**
   * What device rules read, in one light query (no inventory JSON beyond its GPU count): a fleet of
   * thousands is read every evaluation. `online` is the stored flag; the executor puts the registry's in.
   */
  deviceSnapshot(): DeviceSnapshot[];
  /** Jobs that succeeded or failed at or after `since` (the jobs table, same database). */
  finishedJobsSince(since: number): { at: number; failed: boolean }[];
  firing(): AlertRow[];
  get(id: number): AlertRow | undefined;
  /** Firing alerts and those resolved at or after `resolvedSince`, newest first. */
  list(resolvedSince: number): AlertRow[];
  /** Applies one evaluation's transitions atomically. */
  apply(fire: NewAlert[], resolve: { id: number; endsAt: number }[]): void;
  /** Transitions not yet put into a message: a firing not sent (even if resolved since), a resolution not sent. */
  unsent(): UnsentTransition[];
  /** Writes each message's deliveries and marks its transitions sent, atomically. */
  recordNotifications(planned: { notification: Notification; webhooks: string[] }[], at: number): void;
  ack(id: number, by: string, at: number): boolean;
  /** Pending deliveries due at `now`. */
  dueDeliveries(now: number, limit: number): DeliveryRow[];
  /** The earliest next attempt among pending deliveries; null when none is pending. */
  nextDeliveryAt(): number | null;
  deliverySent(id: number, attempts: number, at: number): void;
  deliveryRetry(id: number, attempts: number, nextAt: number, error: string): void;
  deliveryFailed(id: number, attempts: number, error: string): void;
  listDeliveries(limit: number): DeliveryRow[];
}
