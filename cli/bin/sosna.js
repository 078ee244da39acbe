#!/usr/bin/env node
// The `sosna` command as npm links it (node_modules/.bin/sosna). It is committed, not built: npm links a
// package's bin at install time, before `npm run build` has made cli/dist/, and a bin that does not exist
// then is never linked (`npx sosna` then fails with "could not determine executable to run").
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/bundle/sosna.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(`sosna: ${fileURLToPath(entry)} is missing: the CLI is not built yet; run npm run build (or npm start) in the repository\n`);
  process.exit(1);
}
await import(entry.href);
