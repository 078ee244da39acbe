import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/sqlite.js';
import type { HubStore } from '../store/types.js';
import { Ledger, ledgerEntries } from './ledger.js';
import type { PaidRun } from './ledger.js';

const OWNER = `0x${'ab'.repeat(20)}`;
const run = (n: number, seconds: number, price = 7n): PaidRun => ({ runId: `j-1.${n}.0`, deviceId: `d-${n}`, owner: OWNER, seconds, amount: BigInt(seconds) * price });

describe('ledgerEntries (pure)', () => {
  it('gives one entry per paid run with the job, the price and the time, and none for a run that billed 0 s', () => {
    const entries = ledgerEntries({ jobId: 'j-1', price: 7n }, [run(0, 3), run(1, 0), run(2, 5)], 1234);
    expect(entries).toEqual([
      { jobId: 'j-1', deviceId: 'd-0', runId: 'j-1.0.0', owner: OWNER, seconds: 3, price: 7n, amount: 21n, at: 1234 },
      { jobId: 'j-1', deviceId: 'd-2', runId: 'j-1.2.0', owner: OWNER, seconds: 5, price: 7n, amount: 35n, at: 1234 },
    ]);
  });

  it('keeps amounts as bigint past 2^53', () => {
    const price = 10n ** 18n;
    const [e] = ledgerEntries({ jobId: 'j-1', price }, [run(0, 3600, price)], 1);
    expect(e!.amount).toBe(3600n * 10n ** 18n);
  });
});

describe('Ledger over the SQLite store', () => {
  let dir: string;
  let store: HubStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sosna-ledger-'));
    store = openSqliteStore(join(dir, 'hub.db'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the entries once: a second settling of the same runs writes nothing', () => {
    const ledger = new Ledger(store.jobs);
    const written = ledger.record({ jobId: 'j-1', price: 7n }, [run(0, 3), run(1, 0), run(2, 5)], 10);
    expect(written.map((e) => e.deviceId)).toEqual(['d-0', 'd-2']);
    expect(ledger.record({ jobId: 'j-1', price: 7n }, [run(0, 3), run(2, 5)], 20)).toEqual([]);
    const stored = store.jobs.credits({ jobId: 'j-1' });
    expect(stored.map((c) => [c.deviceId, c.seconds, c.amount, c.at])).toEqual([['d-0', 3, 21n, 10], ['d-2', 5, 35n, 10]]);
    expect(store.jobs.credits({ owner: OWNER }).reduce((sum, c) => sum + c.amount, 0n)).toBe(56n);
  });
});
