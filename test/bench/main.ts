// Entry of `npm run bench`: runs each benchmark, prints figures and writes bench-results/*.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { benchFleet } from './fleet.js';

const only = process.argv[2];
mkdirSync('bench-results', { recursive: true });
if (!only || only === 'fleet') {
  const r = await benchFleet();
  writeFileSync('bench-results/fleet.json', JSON.stringify(r, null, 2));
}
process.exit(0);
