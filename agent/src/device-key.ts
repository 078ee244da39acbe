// The device key: an Ed25519 key pair made on first start and kept in the state directory
// (device-key.json, mode 0600, atomic write). The private key never leaves this file; the public key is
// registered with the hub at provisioning and on every connection (the hub keeps the first one it gets).
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { renameSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { DevicePublicKey, publicKeyText, signReceipt } from '@sosna/protocol';
import type { Logger, Receipt, SignedReceipt } from '@sosna/protocol';
import type { StateStore } from './state.js';

export const DEVICE_KEY_FILE = 'device-key.json';
const Stored = z.object({ v: z.literal(1), publicKey: DevicePublicKey, privateKeyPem: z.string().startsWith('-----BEGIN PRIVATE KEY-----'), createdAt: z.number() });

export interface DeviceKey {
  publicKey: string;
  sign(receipt: Receipt): SignedReceipt;
}

/** Loads the device key, or makes and saves one. A file that does not parse (or whose halves do not match) is kept aside and replaced. */
export function loadOrCreateDeviceKey(state: StateStore, log: Logger): DeviceKey {
  let why: string | null = null;
  const stored = state.read(DEVICE_KEY_FILE, Stored, (w) => (why = w));
  if (stored) {
    try {
      const privateKey = createPrivateKey(stored.privateKeyPem);
      if (publicKeyText(createPublicKey(privateKey)) === stored.publicKey) return keyOf(privateKey, stored.publicKey);
      why = `${state.path(DEVICE_KEY_FILE)}: its public key is not the private key's`;
    } catch (err) {
      why = `${state.path(DEVICE_KEY_FILE)}: ${(err as Error).message}`;
    }
  }
  if (why) {
    const aside = `${state.path(DEVICE_KEY_FILE)}.unreadable-${Date.now()}`;
    try {
      renameSync(state.path(DEVICE_KEY_FILE), aside);
    } catch {
      /* gone already */
    }
    log.error('the device key is unreadable; kept aside, making a new one (the hub refuses a new key until an admin clears the old one)', { why, aside });
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const text = publicKeyText(publicKey);
  state.write(DEVICE_KEY_FILE, { v: 1, publicKey: text, privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), createdAt: Date.now() }, 0o600);
  log.info('device key created', { publicKey: text });
  return keyOf(privateKey, text);
}

function keyOf(privateKey: KeyObject, publicKey: string): DeviceKey {
  return { publicKey, sign: (receipt) => signReceipt(receipt, privateKey, publicKey) };
}
