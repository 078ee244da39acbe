// scripts/summary.mjs on small crafted vitest JSON reports: a file whose beforeAll failed is a failure.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { summarize } from '../scripts/summary.mjs';

type Summary = { passed: number; failed: number; skipped: number; lines: string[] };
const sum = summarize as (r: unknown) => Summary;

const test = (title: string, status: string) => ({ title, fullName: title, status, failureMessages: status === 'failed' ? ['AssertionError: x'] : [] });

describe('test summary', () => {
  it('counts the tests of a file whose beforeAll failed as failed, and names the file and the error', () => {
    const report = {
      numPassedTests: 1, numFailedTests: 1, numPendingTests: 3, numTodoTests: 0,
      testResults: [
        { name: '/repo/test/jobs.e2e.test.ts', status: 'failed', message: 'hub did not start: port busy\n    at beforeAll', assertionResults: [test('a', 'skipped'), test('b', 'skipped')] },
        { name: '/repo/test/ok.test.ts', status: 'failed', message: '', assertionResults: [test('ok', 'passed'), test('sk', 'skipped'), test('bad', 'failed')] },
      ],
    };
    const s = sum(report);
    expect(s).toMatchObject({ passed: 1, failed: 3, skipped: 1 });
    expect(s.lines).toEqual([
      'set-up failed: /repo/test/jobs.e2e.test.ts (2 test(s) not run): hub did not start: port busy',
      'tests: 1 passed, 3 failed, 1 skipped',
    ]);
  });

  it('a file that failed before it collected any test is one failure', () => {
    const s = sum({ numPassedTests: 2, numFailedTests: 0, numPendingTests: 0, testResults: [{ name: '/repo/test/x.test.ts', status: 'failed', message: 'SyntaxError: Unexpected token', assertionResults: [] }] });
    expect(s.lines.at(-1)).toBe('tests: 2 passed, 1 failed, 0 skipped');
    expect(s.lines[0]).toContain('/repo/test/x.test.ts');
  });

  it('a green run with explicit skips stays as it was', () => {
    const s = sum({ numPassedTests: 5, numFailedTests: 0, numPendingTests: 1, numTodoTests: 1, testResults: [{ name: '/repo/test/y.test.ts', status: 'passed', message: '', assertionResults: [test('a', 'passed'), test('s', 'skipped')] }] });
    expect(s.lines).toEqual(['tests: 5 passed, 0 failed, 2 skipped']);
  });
});
