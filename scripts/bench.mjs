// npm run bench: builds, bundles the benchmark sources (test/bench/*.ts) with esbuild and runs them.
// Figures are printed (and saved in bench-results/); nothing here fails on time.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as esbuild from 'esbuild';

if (!existsSync('node_modules')) execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
const outdir = 'test/bench/.build';
await esbuild.build({
  entryPoints: ['test/bench/main.ts', 'test/bench/sim-devices.ts', 'test/bench/sim-fleet.ts', 'test/bench/bare-broker.ts', 'test/bench/bare-responder.ts', 'test/bench/bare-idle.ts', 'test/bench/data-peer.ts'],
  bundle: true, platform: 'node', target: 'node20', format: 'esm', outdir, outExtension: { '.js': '.mjs' },
  packages: 'external', conditions: ['sosna-source'], logLevel: 'warning',
});
execFileSync(process.execPath, [`${outdir}/main.mjs`, ...process.argv.slice(2)], { stdio: 'inherit' });
