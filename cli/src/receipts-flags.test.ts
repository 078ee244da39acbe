import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readKeyFlag } from './commands/receipts.js';
import { offerRequirements } from './commands/offers.js';

const dir = mkdtempSync(join(tmpdir(), 'sosna-key-flag-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KEY = `ed25519:${'A'.repeat(43)}`;

describe('verify --key', () => {
  it('takes the key text, a file with it, or the JSON of devices key --json', () => {
    expect(readKeyFlag(KEY)).toBe(KEY);
    writeFileSync(join(dir, 'k.txt'), `${KEY}\n`);
    expect(readKeyFlag(join(dir, 'k.txt'))).toBe(KEY);
    writeFileSync(join(dir, 'k.json'), JSON.stringify({ deviceId: 'rig', binding: { publicKey: KEY } }));
    expect(readKeyFlag(join(dir, 'k.json'))).toBe(KEY);
  });
  it('says what is wrong, naming the flag and the value', () => {
    expect(() => readKeyFlag('nope')).toThrow(/--key "nope": neither a key \(ed25519:...\) nor a readable file/);
    writeFileSync(join(dir, 'bad.json'), '{"binding":null}');
    expect(() => readKeyFlag(join(dir, 'bad.json'))).toThrow(/has no binding.publicKey/);
  });
});

describe('offers requirements', () => {
  it('no flags: no requirement; resource flags: the job spec defaults with them', () => {
    expect(offerRequirements({})).toEqual({});
    expect(offerRequirements({ gpus: '1', gpuVramMin: '8G', bid: '10', arch: 'x64' })).toMatchObject({
      resources: { cpus: 1, memoryBytes: 256 * 2 ** 20, gpus: { count: 1, vramMin: 8 * 2 ** 30 } }, constraints: { arch: 'x64' }, bid: 10n,
    });
  });
  it('a bad value names the flag', () => {
    expect(() => offerRequirements({ cpus: '0' })).toThrow(/--cpus "0": must be more than 0/);
  });
});
