// Prints the plain closing line `tests: N passed, N failed, N skipped` from vitest's JSON report.
// A file whose set-up failed (a `beforeAll` that threw, an import error) did not run its tests: vitest
// reports them as skipped, but they are failures. They are counted as failed and listed with the error.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const firstLine = (s) => String(s ?? '').split('\n').find((l) => l.trim() !== '')?.trim() ?? '';

/** The closing line and, before it, one line per file whose set-up failed. */
export function summarize(report) {
  let passed = report.numPassedTests ?? 0;
  let failed = report.numFailedTests ?? 0;
  let skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  const lines = [];
  for (const f of report.testResults ?? []) {
    if (f.status !== 'failed' || !f.message) continue; // a file-level error: the set-up (a hook, the import) failed
    const tests = f.assertionResults ?? [];
    const notRun = tests.filter((t) => t.status === 'skipped' || t.status === 'pending' || t.status === 'todo').length;
    skipped -= notRun;
    failed += Math.max(1, notRun); // a file with no test left is one failure
    lines.push(`set-up failed: ${f.name} (${notRun} test(s) not run): ${firstLine(f.message)}`);
  }
  lines.push(`tests: ${passed} passed, ${failed} failed, ${Math.max(0, skipped)} skipped`);
  return { passed, failed, skipped: Math.max(0, skipped), lines };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2] ?? 'test-results/vitest.json';
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.log(`tests: 0 passed, 1 failed (no report at ${file}: ${err.message})`);
    process.exit(1);
  }
  const s = summarize(report);
  for (const l of s.lines) console.log(l);
}
