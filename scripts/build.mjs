// npm run build: type-check and compile every package (tsc -b), then bundle the agent into ONE file that
// runs with plain node and no node_modules (esbuild, minified, with a sourcemap), and print its size.
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import * as esbuild from 'esbuild';
import { buildDashboardUi } from '../agent/src/dashboard/build-ui.mjs';

const t0 = Date.now();
console.log('== type-checking and compiling (tsc -b; ~30 s on a first build, seconds after)');
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-b'], { stdio: 'inherit' });
const t1 = Date.now();

// The device dashboard's browser UI first: the agent bundle embeds it (gzipped) through ui.plugin.
console.log('== bundling the dashboard UI and the agent');
const ui = await buildDashboardUi(esbuild);
console.log(ui.summary);
if (ui.gzTotal > 150 * 1024) console.warn('warning: the dashboard UI is over the 150 KB gzipped target');

const outfile = 'agent/dist/sosna-agent.mjs';
/**
 * Node flags the agent runs with on devices (its first line carries them; the image's service and `sosna up`
 * execute the file directly). An idle daemon is memory-bound, not CPU-bound (npm run bench, fleet):
 * - a small young generation, and V8's memory-saving mode (heap growth, bytecode flushing): ~10 MiB less;
 * - a 15x larger interrupt budget, so start-up code never reaches the optimizing compiler (whose code pages
 *   in the node binary and compile-time malloc stay resident: ~4 MiB); code that stays hot still gets
 *   optimized (msgpack frames: 150k/s against 200k/s by default; --no-opt would mean 22k/s).
 */
export const AGENT_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size', '--interrupt-budget=1000000'];
/**
 * Environment for the agent's node (the first line sets it too). glibc's malloc raises its mmap threshold
 * when a large block is freed (the bundle's source, read at start), after which V8's parse of the bundle
 * (a ~7 MiB zone, freed at once) lands in the brk heap; whether the heap can shrink afterwards depends on
 * what was allocated above it, so idle RSS came out at either ~56 or ~63 MiB from run to run. A fixed 16 KiB
 * threshold puts those blocks in their own mappings, returned on free: ~55.5 MiB every run (npm run bench).
 */
export const AGENT_NODE_ENV = ['MALLOC_MMAP_THRESHOLD_=16384'];
/** zod's locale index loads every language's messages; sosna speaks English (~100 KB less to parse at start). */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${'node_modules'}/zod/`) ? { path: new URL('./zod-locales-en.mjs', import.meta.url).pathname } : undefined,
    );
  },
};
/**
 * Parts of dependencies the agent never calls but that load at start: each becomes a stub that throws, naming
 * why, if it ever is called (the bundle is parsed at every start of a small device: smaller is less memory).
 */
const UNUSED_PARTS = [
  // dockerode reaches BuildKit sessions (gRPC, protobuf files read at run time), the ssh transport (ssh2) and
  // tar-fs (a build context from a folder) at load time: ~830 KB
  { module: /^(\.\/(session|buildkit|ssh)|tar-fs)$/, from: /node_modules\/(dockerode|docker-modem)\//, why: 'the agent builds no images and reaches its engine by a unix socket or tcp://' },
  // torrent-discovery loads the DHT and the tracker client (WebRTC and WebSocket peers, bn.js, ...) even when
  // both are off; the agent's swarms take their peers from the hub (protocol/src/data/transfer.ts): ~300 KB
  { module: /^bittorrent-(dht|tracker)\/client$/, from: /node_modules\/torrent-discovery\//, why: 'job data swarms take their peers from the hub' },
  // mqtt.js loads a SOCKS client (its socksProxy option) and worker timers (browsers only; Node gets native
  // timers); the agent's hub link uses neither: ~90 KB
  { module: /^(socks|worker-timers)$/, from: /node_modules\/mqtt\//, why: 'the hub link uses no SOCKS proxy and native timers' },
];
/**
 * rimraf 2 (torrent-stream's and fs-chunk-store's, for removing a torrent's files) pulls in glob and minimatch
 * to expand patterns they never pass; Node's own fs.rm does the same removal of one path: ~35 KB.
 */
const RIMRAF_BY_FS_RM = [
  "const { rm } = require('node:fs');",
  'module.exports = function rimraf(path, opts, cb) {',
  "  if (typeof opts === 'function') cb = opts;",
  '  rm(path, { recursive: true, force: true, maxRetries: 10 }, (err) => cb(err || null));',
  '};',
].join('\n');
const unusedPartsTrim = {
  name: 'unused-parts-trim',
  setup(build) {
    for (const part of UNUSED_PARTS) {
      build.onResolve({ filter: part.module }, (args) => (part.from.test(args.importer) ? { path: args.path, namespace: 'sosna-stub', pluginData: part.why } : undefined));
    }
    build.onResolve({ filter: /^rimraf$/ }, (args) => (/node_modules\/(torrent-stream|fs-chunk-store)\//.test(args.importer) ? { path: 'rimraf', namespace: 'sosna-shim' } : undefined));
    build.onLoad({ filter: /^rimraf$/, namespace: 'sosna-shim' }, () => ({ contents: RIMRAF_BY_FS_RM, loader: 'js' }));
    build.onLoad({ filter: /.*/, namespace: 'sosna-stub' }, (args) => ({
      contents: `module.exports = function () { throw new Error(${JSON.stringify(`${args.path.replace(/^\.\//, '')} is not in the sosna agent (${args.pluginData})`)}); };`,
      loader: 'js',
    }));
  },
};
const agentBuild = await esbuild.build({
  entryPoints: ['agent/src/main.ts'],
  metafile: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  conditions: ['sosna-source'],
  outfile,
  // CommonJS dependencies (mqtt, systeminformation) call require() for Node built-ins.
  // Executed directly (as the image's service does; `sosna up` and the smoke image's init read the line) the
  // bundle runs with AGENT_NODE_ENV and AGENT_NODE_FLAGS: ~56 MiB idle instead of ~70 MiB. `node
  // sosna-agent.mjs` works too, without them.
  banner: {
    js: `#!/usr/bin/env -S ${AGENT_NODE_ENV.join(' ')} node ${AGENT_NODE_FLAGS.join(' ')}\nimport { createRequire as __sosnaRequire } from 'node:module'; const require = __sosnaRequire(import.meta.url);`,
  },
  logLevel: 'warning',
  plugins: [
    ui.plugin,
    unusedPartsTrim,
    {
      // systeminformation (300 KB) is used only by `sosna-agent detect`, in a short-lived child. Bundled as
      // code, the daemon would still parse it at every start, and V8's parse of it stays resident: ~7 MiB
      // of the idle RSS (npm run bench). So it is pre-bundled to CommonJS and embedded as a string that is
      // compiled only when hardware detection imports it.
      name: 'systeminformation-on-demand',
      setup(build) {
        build.onResolve({ filter: /^systeminformation$/ }, (args) => (args.importer.includes('/agent/src/hardware/') ? { path: 'systeminformation', namespace: 'sosna-late' } : undefined));
        build.onLoad({ filter: /.*/, namespace: 'sosna-late' }, async () => {
          const inner = await esbuild.build({
            entryPoints: ['systeminformation'], bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true,
            write: false, legalComments: 'inline', logLevel: 'warning',
          });
          const source = inner.outputFiles[0].text;
          return {
            loader: 'js',
            resolveDir: process.cwd(),
            contents: [
              "import { createRequire } from 'node:module';",
              "import { runInThisContext } from 'node:vm';",
              `function source() { return ${JSON.stringify(source)}; }`,
              'const module = { exports: {} };',
              "runInThisContext(`(function (exports, require, module) {${source()}\n})`, { filename: 'systeminformation (embedded in sosna-agent.mjs)' })(module.exports, createRequire(import.meta.url), module);",
              'export default module.exports;',
            ].join('\n'),
          };
        });
      },
    },
    zodEnglishOnly,
  ],
});
chmodSync(outfile, 0o755);
// What each input contributes to the bundle (for size and memory work: `esbuild --analyze`-style reading).
writeFileSync('agent/dist/sosna-agent.meta.json', JSON.stringify(agentBuild.metafile));
const size = statSync(outfile).size;
const gz = gzipSync(readFileSync(outfile)).length;
console.log(`typecheck+compile ${((t1 - t0) / 1000).toFixed(1)} s; agent bundle ${outfile}: ${(size / 1024).toFixed(0)} KiB (${(gz / 1024).toFixed(0)} KiB gzipped), built in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
if (size > 1.5 * 1024 * 1024) console.warn(`warning: the agent bundle is over the 1.5 MB target`);

// The CLI as a few files (esbuild, code-split per command, so a command still loads only what it needs): one
// `sosna console devices` call otherwise resolves and parses ~500 small files of mqtt, zod and the workspace
// packages, about twice as long as the bundle takes (npm run bench cli). Packages with native parts, files
// they locate at run time, or that only the hub loads stay in node_modules. The bundle sits two folders below
// the repository like the compiled commands did (cli/dist/bundle/), so paths relative to a module still hold.
const t2 = Date.now();
const CLI_EXTERNAL = /^(better-sqlite3|bufferutil|utf-8-validate|balena-image-fs|partitioninfo|@foundry-rs\/|cpu-features|ssh2|ethers|aedes|@noble\/)($|\/)/;
rmSync('cli/dist/bundle', { recursive: true, force: true });
await esbuild.build({
  entryPoints: ['cli/src/sosna.ts'],
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outdir: 'cli/dist/bundle',
  conditions: ['sosna-source'],
  logLevel: 'warning',
  // CommonJS dependencies (mqtt, commander) call require() for Node built-ins
  banner: { js: "import { createRequire as __sosnaRequire } from 'node:module'; const require = __sosnaRequire(import.meta.url);" },
  plugins: [
    { name: 'cli-external', setup: (build) => build.onResolve({ filter: /^[^./]/ }, (args) => (CLI_EXTERNAL.test(args.path) ? { external: true } : undefined)) },
    zodEnglishOnly,
  ],
});
console.log(`CLI bundle cli/dist/bundle/sosna.js built in ${((Date.now() - t2) / 1000).toFixed(1)} s`);
