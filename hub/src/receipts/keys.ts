// Device keys on the hub. The first key a device presents (at provisioning, or on a connection while
// the hub has none) is recorded with a binding the hub owner signs. A device never replaces it: another
// key is refused (E_CONFLICT), noted and logged, until an admin clears the current key
// (`sosna console devices key DEVICE --clear`); the device's next connection then registers its new key.
// A cleared key is kept, so receipts signed with it still carry their binding.
import { keyFingerprint, signKeyBinding, SosnaError } from '@sosna/protocol';
import type { DeviceKeyInfo, Logger, MessageSigner } from '@sosna/protocol';
import { bindingOf, type ReceiptStore } from './store.js';

export interface DeviceKeysDeps {
  store: { readonly receipts: ReceiptStore };
  hubId: string;
  signer: MessageSigner & { getAddress(): Promise<string> };
  log: Logger;
  now?: () => number;
}

export class DeviceKeys {
  constructor(private readonly d: DeviceKeysDeps) {}

  private now(): number {
    return this.d.now?.() ?? Date.now();
  }

  /** Registers `publicKey` for a device, idempotently; throws E_CONFLICT for a key other than the registered one. */
  async register(deviceId: string, publicKey: string): Promise<{ status: 'registered' | 'known'; registeredAt: number }> {
    const keys = this.d.store.receipts;
    const current = keys.currentKey(deviceId);
    if (current?.publicKey === publicKey) return { status: 'known', registeredAt: current.registeredAt };
    if (current || keys.keysOf(deviceId).some((k) => k.publicKey === publicKey)) {
      keys.setRefused(deviceId, publicKey, this.now());
      const why = current
        ? `device ${deviceId} already has key ${current.publicKey} (${keyFingerprint(current.publicKey)}) registered since ${new Date(current.registeredAt).toISOString()}; a device cannot replace its key: an admin clears it with sosna console devices key ${deviceId} --clear`
        : `key ${publicKey} of device ${deviceId} was cleared by an admin and cannot be registered again`;
      this.d.log.warn('device key refused', { deviceId, presented: publicKey, registered: current?.publicKey ?? null });
      throw new SosnaError('E_CONFLICT', why);
    }
    const binding = await signKeyBinding({ v: 1, hubId: this.d.hubId, deviceId, publicKey, registeredAt: this.now() }, this.d.signer);
    if (!keys.addKey(binding)) {
      const again = keys.currentKey(deviceId);
      if (again?.publicKey === publicKey) return { status: 'known', registeredAt: again.registeredAt };
      throw new SosnaError('E_CONFLICT', `device ${deviceId} registered another key meanwhile`);
    }
    this.d.log.info('device key registered', { deviceId, publicKey, fingerprint: keyFingerprint(publicKey) });
    return { status: 'registered', registeredAt: binding.registeredAt };
  }

  info(deviceId: string): DeviceKeyInfo {
    const all = this.d.store.receipts.keysOf(deviceId);
    const current = all.find((k) => k.clearedAt === null) ?? null;
    return {
      deviceId,
      binding: current ? bindingOf(current) : null,
      fingerprint: current ? keyFingerprint(current.publicKey) : null,
      previous: all.filter((k) => k.clearedAt !== null).map((k) => ({ ...bindingOf(k), clearedAt: k.clearedAt!, clearedBy: k.clearedBy ?? '' })),
      refused: this.d.store.receipts.refused(deviceId),
    };
  }

  clear(deviceId: string, by: string, reason?: string): DeviceKeyInfo {
    if (!this.d.store.receipts.clearKey(deviceId, this.now(), by)) throw new SosnaError('E_NOT_FOUND', `device ${deviceId} has no registered key to clear`);
    this.d.log.warn('device key cleared: the device registers a new one on its next connection', { deviceId, by, reason });
    return this.info(deviceId);
  }
}
