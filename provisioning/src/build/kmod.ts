// Kernel modules for an initramfs without depmod: each module's `.modinfo` section lists the modules it
// depends on (`depends=a,b`); a depth-first walk gives an order in which `insmod` succeeds.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

/** The `depends=` entry of a module's .modinfo strings (NUL-separated `key=value`); [] when none. */
export function moduleDepends(ko: Buffer): string[] {
  const marker = Buffer.from('\0depends=');
  const at = ko.indexOf(marker);
  if (at < 0) return [];
  const start = at + marker.length;
  const end = ko.indexOf(0, start);
  const list = ko.subarray(start, end < 0 ? undefined : end).toString('latin1');
  return list.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Module names use `-` and `_` interchangeably; files and `depends=` may disagree. */
export const moduleKey = (name: string) => basename(name).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');

/** Every `*.ko` under a kernel's modules folder, by module name. */
export function indexModules(modulesDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ko$/.test(e.name)) out.set(moduleKey(e.name), relative(modulesDir, p));
    }
  };
  walk(modulesDir);
  return out;
}

/**
 * The load order for the wanted modules and everything they depend on (dependencies first). Wanted
 * modules that the kernel has built in (listed in modules.builtin) or lacks are reported, not fatal:
 * the same list serves kernels that build some drivers in.
 */
export function resolveLoadOrder(
  wanted: string[],
  lookup: { path(name: string): string | undefined; depends(name: string): string[]; builtin(name: string): boolean },
): { order: string[]; builtin: string[]; missing: string[] } {
  const order: string[] = [];
  const builtin: string[] = [];
  const missing: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (raw: string, chain: string[]) => {
    const name = moduleKey(raw);
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`kernel modules depend on each other in a cycle: ${[...chain, name].join(' -> ')}`);
    if (!lookup.path(name)) {
      (lookup.builtin(name) ? builtin : missing).push(name);
      state.set(name, 'done');
      return;
    }
    state.set(name, 'visiting');
    for (const dep of lookup.depends(name)) visit(dep, [...chain, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const w of wanted) visit(w, []);
  return { order, builtin, missing };
}

/** resolveLoadOrder over a real modules folder (lib/modules/VERSION). */
export function resolveKernelModules(modulesDir: string, wanted: string[]): { order: { name: string; file: string }[]; builtin: string[]; missing: string[] } {
  const index = indexModules(modulesDir);
  let builtinText = '';
  try {
    builtinText = readFileSync(join(modulesDir, 'modules.builtin'), 'utf8');
  } catch {
    builtinText = '';
  }
  const builtins = new Set(builtinText.split('\n').filter(Boolean).map(moduleKey));
  const r = resolveLoadOrder(wanted, {
    path: (n) => index.get(n),
    depends: (n) => moduleDepends(readFileSync(join(modulesDir, index.get(n)!))),
    builtin: (n) => builtins.has(n),
  });
  return { ...r, order: r.order.map((name) => ({ name, file: index.get(name)! })) };
}
