// Device keys and run receipts as the receipts domain needs them; store/receipts-sqlite.ts implements it.
import type { KeyBinding, Receipt, ReceiptEntry } from '@sosna/protocol';

export interface StoredKey extends KeyBinding {
  clearedAt: number | null;
  clearedBy: string | null;
}

export interface ReceiptStore {
  /** The device's current key, or null. */
  currentKey(deviceId: string): StoredKey | null;
  /** Every key the device had, newest first. */
  keysOf(deviceId: string): StoredKey[];
  /** Records a key as current; false when the device already has one (nothing written). */
  addKey(b: KeyBinding): boolean;
  clearKey(deviceId: string, at: number, by: string): boolean;
  refused(deviceId: string): { publicKey: string; at: number } | null;
  setRefused(deviceId: string, publicKey: string | null, at: number): void;
  /** Stores a verified receipt; false when the run already has one. */
  addReceipt(e: { receipt: Receipt; publicKey: string; signature: string; receivedAt: number }): boolean;
  receiptsOf(jobId: string): ReceiptEntry[];
}

export const bindingOf = (k: StoredKey): KeyBinding => {
  const { clearedAt: _a, clearedBy: _b, ...binding } = k;
  return binding;
};
