// The hub owner's Ethereum key: created on first start in {dataDir}/owner.key with mode 0600; it signs the
// hub card (and, with the contracts, the hub's transactions). Other keys (the update key) are kept the same way.
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import type { Logger } from '@sosna/protocol';

/**
 * An Ethereum key kept in {dataDir}/{name}.key (mode 0600, created on first start): `what` names it in logs
 * and errors ("owner key", "update key").
 */
export function loadOrCreateKeyFile(dataDir: string, fileName: string, what: string, log: Logger): Wallet {
  const file = join(dataDir, fileName);
  if (!existsSync(file)) {
    const wallet = Wallet.createRandom();
    writeFileSync(file, `${wallet.privateKey}\n`, { mode: 0o600, flag: 'wx' });
    log.info(`created the hub ${what}`, { file, address: wallet.address });
    return new Wallet(wallet.privateKey);
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    chmodSync(file, 0o600);
    log.warn(`${what} was readable by others; set its mode to 0600`, { file, was: mode.toString(8) });
  }
  const text = readFileSync(file, 'utf8').trim();
  try {
    return new Wallet(text);
  } catch {
    throw new Error(`${file}: not a hex private key; restore it from a backup, or move it away to create a new ${what}`);
  }
}

export function loadOrCreateOwnerKey(dataDir: string, log: Logger): Wallet {
  return loadOrCreateKeyFile(dataDir, 'owner.key', 'owner key', log);
}

export function defaultHubId(address: string): string {
  return `hub-${address.slice(2, 10).toLowerCase()}`;
}
