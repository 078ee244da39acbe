// The buyer's flags: --deposit against the worst case, the key file's errors (never its content).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { buyerKey, parseDeposit } from './escrow.js';

const spec = { bid: 5n, timeoutSec: 60, replicas: 2 };

describe('--deposit', () => {
  it('alone is the worst case; more is fine; less names the flag, the value and the worst case', () => {
    expect(parseDeposit(true, 600n, spec)).toBe(600n);
    expect(parseDeposit('601', 600n, spec)).toBe(601n);
    expect(() => parseDeposit('599', 600n, spec)).toThrow('--deposit 599: below the worst case 600 wei (bid 5 wei/s x duration limit 60 s x 2 replica(s))');
    expect(() => parseDeposit('1.5SNM', 600n, spec)).toThrow('--deposit "1.5SNM": must be token wei');
  });
});

describe('--key-file', () => {
  it('reads a hex key; a missing, unreadable or bad file is named, its content never shown', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sosna-key-'));
    try {
      const w = Wallet.createRandom();
      writeFileSync(join(dir, 'ok.key'), `${w.privateKey}\n`);
      expect(buyerKey(join(dir, 'ok.key')).address).toBe(w.address);
      expect(buyerKey(undefined, { SOSNA_BUYER_KEY_FILE: join(dir, 'ok.key') }).address).toBe(w.address);
      expect(() => buyerKey(undefined, {})).toThrow('--key-file');
      expect(() => buyerKey(join(dir, 'none.key'))).toThrow(`--key-file ${join(dir, 'none.key')}: cannot read it (ENOENT)`);
      writeFileSync(join(dir, 'bad.key'), 'secret-words-not-a-key');
      const err = (() => {
        try {
          buyerKey(join(dir, 'bad.key'));
        } catch (e) {
          return (e as Error).message;
        }
        return '';
      })();
      expect(err).toContain('not a hex private key');
      expect(err).not.toContain('secret-words');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
