// Entry for `npm run gas -w @sosna/contracts`: prints the gas report (the repo's `npm run bench` includes it).
import { formatGasReport, runGasReport } from './gas.js';

const report = await runGasReport();
console.log(formatGasReport(report));
if (!report.targetMet) process.exitCode = 1;
