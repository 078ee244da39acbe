import { describe, expect, it } from 'vitest';
import { BATCH_GAS_PER_MINER_TARGET, formatGasReport, runGasReport } from '../../bench/gas.js';

describe('gas report', () => {
  it('measures every operation and meets the batch target', async () => {
    const report = await runGasReport();
    expect(report.targetMet).toBe(true);
    const per100 = report.batch.find((b) => b.miners === 100)?.perMiner;
    expect(per100).toBeLessThan(BATCH_GAS_PER_MINER_TARGET);
    for (const gas of [...Object.values(report.deployment), report.payDay, report.claim, report.transfer.newMiner]) {
      expect(gas).toBeGreaterThan(21_000n);
    }
    expect(formatGasReport(report)).toMatch(/MET/);
  });
});
