// Entry of `npm run bench`: runs each benchmark, prints figures and writes bench-results/*.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { benchFleet } from './fleet.js';
import { benchTls } from './tls.js';
import { benchJobs } from './jobs.js';
import { benchDashboard } from './dashboard.js';
import { benchCli } from './cli.js';
import { benchFlood } from './flood.js';
import { benchLogins } from './logins.js';
import { benchRemoteShell } from './remote-shell.js';
import { benchMetrics } from './metrics.js';
import { benchTrust } from './trust.js';
import { benchMining } from './mining.js';
import { benchData } from './data.js';
import { benchBalena } from './balena.js';
import { formatGasReport, runGasReport } from '../../contracts/bench/gas.js';

const only = process.argv[2];
mkdirSync('bench-results', { recursive: true });
if (!only || only === 'fleet') {
  const r = await benchFleet();
  writeFileSync('bench-results/fleet.json', JSON.stringify(r, null, 2));
}
if (!only || only === 'tls') {
  const r = await benchTls();
  writeFileSync('bench-results/tls.json', JSON.stringify(r, null, 2));
}
if (!only || only === 'jobs') {
  const r = await benchJobs();
  writeFileSync('bench-results/jobs.json', JSON.stringify(r, null, 2));
}
if (!only || only === 'dashboard') {
  const r = await benchDashboard();
  if (r) writeFileSync('bench-results/dashboard.json', JSON.stringify(r, null, 2));
}
if (!only || only === 'cli') {
  const r = await benchCli();
  writeFileSync('bench-results/cli.json', JSON.stringify(r, null, 2));
}
if (!only || only === 'flood') {
  const r = await benchFlood();
  writeFileSync('bench-results/flood.json', JSON.stringify(r, null, 2));
}
if (!only || only === 'logins') {
  const r = await benchLogins();
  writeFileSync('bench-results/logins.json', JSON.stringify(r, null, 2));
}
if (!only || only === 'remote-shell') {
  const r = await benchRemoteShell();
  writeFileSync('bench-results/remote-shell.json', JSON.stringify(r, null, 2));
}
if (!only || only === 'metrics') {
  const r = await benchMetrics();
  writeFileSync('bench-results/metrics.json', JSON.stringify(r, null, 2));
}
if (!only || only === 'trust') {
  const r = await benchTrust();
  writeFileSync('bench-results/trust.json', JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
}
if (!only || only === 'data') {
  const r = await benchData();
  writeFileSync('bench-results/data.json', JSON.stringify(r, null, 2));
}
if (!only || only === 'balena') {
  const r = await benchBalena();
  writeFileSync('bench-results/balena.json', JSON.stringify(r, null, 2));
}
if (!only || only === 'mining') {
  const r = await benchMining();
  writeFileSync('bench-results/mining.json', JSON.stringify(r, null, 2));
}
if (!only || only === 'gas') {
  console.log('== contracts: gas on a local anvil chain');
  const r = await runGasReport();
  console.log(formatGasReport(r));
  writeFileSync('bench-results/gas.json', JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
}
process.exit(0);
