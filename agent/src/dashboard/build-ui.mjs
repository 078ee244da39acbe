// Builds the dashboard UI for the browser (esbuild: Preact + htm + uPlot, minified) and hands the agent
// bundle an esbuild plugin that embeds it: the stand-in module ./assets.ts is replaced by the built files,
// gzipped (level 9) and base64-encoded, so the agent serves them as they are with no compression at run
// time. Called by scripts/build.mjs before the agent bundle; the built files are also written to
// agent/dist/dashboard-ui/ for inspection.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, gzipSync } from 'node:zlib';

const here = fileURLToPath(new URL('.', import.meta.url));
const ui = join(here, 'ui');
const outdir = join(here, '..', '..', 'dist', 'dashboard-ui');

const TYPES = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8' };

/** @param {typeof import('esbuild')} esbuild */
export async function buildDashboardUi(esbuild) {
  const result = await esbuild.build({
    entryPoints: { app: join(ui, 'main.js') },
    bundle: true,
    format: 'esm',
    target: ['chrome105', 'firefox110', 'safari16'],
    minify: true,
    legalComments: 'eof',
    define: { 'process.env.NODE_ENV': '"production"' },
    outdir,
    write: false,
    logLevel: 'warning',
  });
  const files = [{ path: '/index.html', bytes: readFileSync(join(ui, 'index.html')) }];
  for (const f of result.outputFiles) files.push({ path: `/assets/${basename(f.path)}`, bytes: Buffer.from(f.contents) });

  mkdirSync(join(outdir, 'assets'), { recursive: true });
  const assets = {};
  const report = [];
  for (const f of files) {
    writeFileSync(join(outdir, f.path), f.bytes);
    const gz = gzipSync(f.bytes, { level: constants.Z_BEST_COMPRESSION });
    const ext = f.path.slice(f.path.lastIndexOf('.'));
    assets[f.path] = { type: TYPES[ext] ?? 'application/octet-stream', gz: gz.toString('base64'), etag: `"${createHash('sha256').update(f.bytes).digest('base64url').slice(0, 16)}"` };
    report.push({ path: f.path, bytes: f.bytes.length, gzBytes: gz.length });
  }
  const gzTotal = report.reduce((s, r) => s + r.gzBytes, 0);
  const source = `export const UI_ASSETS = ${JSON.stringify(assets)};\n`;
  return {
    report,
    gzTotal,
    summary: `dashboard UI ${report.map((r) => `${r.path} ${(r.gzBytes / 1024).toFixed(1)} KiB`).join(', ')}: ${(gzTotal / 1024).toFixed(1)} KiB gzipped (${(report.reduce((s, r) => s + r.bytes, 0) / 1024).toFixed(0)} KiB raw)`,
    /** esbuild plugin for the agent bundle: embeds the UI in place of dashboard/assets.ts. */
    plugin: {
      name: 'dashboard-ui',
      setup(build) {
        build.onLoad({ filter: /[\\/]dashboard[\\/]assets\.(ts|js)$/ }, () => ({ contents: source, loader: 'js' }));
      },
    },
  };
}
