#!/usr/bin/env node
// Lists hub/src folder pairs that import each other (a two-way dependency between domains), and longer
// cycles between folders. Production files only (tests may reach across); files at hub/src's top (app.ts,
// the composition root, and its neighbours) are left out.
// Usage: node scripts/hub-folder-imports.mjs [--edges]   exit 1 when two folders import each other, or on a
// longer cycle. test/hub-folders.test.ts runs it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname, resolve, relative, sep } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..', 'hub', 'src');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
})(root);

/** The hub folder of a file ('.' for files at hub/src's top). */
const folderOf = (file) => {
  const rel = relative(root, file).split(sep);
  return rel.length > 1 ? rel[0] : '.';
};

const importRe = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
const edges = new Map(); // "a -> b" -> example file
for (const file of files) {
  if (file.endsWith('.test.ts')) continue; // tests may reach across; production code may not
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(root + sep)) continue;
    const a = folderOf(file), b = folderOf(target.replace(/\.js$/, '.ts'));
    if (a === b || a === '.' || b === '.') continue;
    const key = `${a} -> ${b}`;
    if (!edges.has(key)) edges.set(key, relative(root, file));
  }
}
const pairs = [];
for (const key of edges.keys()) {
  const [a, b] = key.split(' -> ');
  if (a < b && edges.has(`${b} -> ${a}`)) pairs.push([a, b]);
}
if (process.argv.includes('--edges')) for (const [k, f] of [...edges].sort()) console.log(`${k}  (${f})`);
for (const [a, b] of pairs.sort()) {
  console.log(`${a} <-> ${b}: ${edges.get(`${a} -> ${b}`)} / ${edges.get(`${b} -> ${a}`)}`);
}
// longer cycles: strongly connected components of the folder graph (Tarjan)
const next = new Map();
for (const key of edges.keys()) {
  const [a, b] = key.split(' -> ');
  if (!next.has(a)) next.set(a, []);
  next.get(a).push(b);
}
const index = new Map(), low = new Map(), stack = [], on = new Set(), cycles = [];
let n = 0;
const visit = (v) => {
  index.set(v, n); low.set(v, n); n++; stack.push(v); on.add(v);
  for (const w of next.get(v) ?? []) {
    if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v), low.get(w))); }
    else if (on.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const scc = [];
    let w;
    do { w = stack.pop(); on.delete(w); scc.push(w); } while (w !== v);
    if (scc.length > 1) cycles.push(scc.sort());
  }
};
for (const v of next.keys()) if (!index.has(v)) visit(v);
for (const c of cycles) console.log(`cycle through folders: ${c.join(', ')}`);
console.log(`${edges.size} folder edges, ${pairs.length} folder pairs importing each other, ${cycles.length} longer cycle(s)`);
process.exit(pairs.length || cycles.length ? 1 : 0);
