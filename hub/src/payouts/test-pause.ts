// TEST-ONLY fault points for the crash tests (test/payouts.crash.test.ts). With SOSNA_TEST_PAUSE_AT set to
// one of TEST_PAUSE_POINTS the hub logs a marker line at that point of a payout and then waits forever,
// so the test can SIGKILL the hub process exactly there. Unset (always, outside tests), nothing changes.
import type { Logger } from '@sosna/protocol';
import type { PayoutHooks } from './engine.js';
import type { PayoutRow } from './types.js';

export const TEST_PAUSE_ENV = 'SOSNA_TEST_PAUSE_AT';
export const TEST_PAUSE_POINTS = ['payout-after-record', 'payout-after-send', 'settlement-after-record', 'settlement-after-send'] as const;
export type TestPausePoint = (typeof TEST_PAUSE_POINTS)[number];

/** The marker the hub logs when it stops at `point` (the crash test waits for it). */
export function testPauseMarker(point: TestPausePoint): string {
  return `TEST-ONLY PAUSE at ${point}: waiting to be killed`;
}

/** Payout hooks that stop at the point named in `env[SOSNA_TEST_PAUSE_AT]`; undefined when it is unset. */
export function testPauseHooks(env: Record<string, string | undefined>, log: Logger): PayoutHooks | undefined {
  const value = env[TEST_PAUSE_ENV];
  if (value === undefined || value === '') return undefined;
  if (!(TEST_PAUSE_POINTS as readonly string[]).includes(value)) {
    throw new Error(`${TEST_PAUSE_ENV}=${JSON.stringify(value)}: not a test pause point; use one of ${TEST_PAUSE_POINTS.join(', ')} (or unset it)`);
  }
  const point = value as TestPausePoint;
  if (point.startsWith('settlement-')) return undefined; // the escrow's (testPauseSettlementHooks)
  log.warn(`${TEST_PAUSE_ENV} is set: this hub stops at ${point} (test-only)`);
  const pause = (row: PayoutRow): Promise<void> => {
    log.warn(testPauseMarker(point), { id: row.id, nonce: row.nonce, hash: row.txHash });
    return new Promise<void>(() => {}); // never settles: the hub sits here until it is killed
  };
  return point === 'payout-after-record' ? { afterRecord: pause } : { afterSend: pause };
}

/** The same for escrow settlements (hub/src/escrow/settlements.ts): stops after recording or after sending one. */
export function testPauseSettlementHooks(env: Record<string, string | undefined>, log: Logger): { afterRecord?(row: { jobId: string; nonce: number | null; txHash: string | null }): Promise<void>; afterSend?(row: { jobId: string; nonce: number | null; txHash: string | null }): Promise<void> } | undefined {
  const value = env[TEST_PAUSE_ENV];
  if (value !== 'settlement-after-record' && value !== 'settlement-after-send') return undefined;
  log.warn(`${TEST_PAUSE_ENV} is set: this hub stops at ${value} (test-only)`);
  const pause = (row: { jobId: string; nonce: number | null; txHash: string | null }): Promise<void> => {
    log.warn(testPauseMarker(value), { jobId: row.jobId, nonce: row.nonce, hash: row.txHash });
    return new Promise<void>(() => {});
  };
  return value === 'settlement-after-record' ? { afterRecord: pause } : { afterSend: pause };
}
