// Small, forgiving file access for sysfs/procfs trees. Every root is a parameter, so tests point the
// same code at fixture directories. Missing or unreadable files are `undefined`, never an exception.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withDeadline } from './deadline.js';

/** Largest file we read; sysfs attributes are a page, /proc/cpuinfo on a 256-thread host ~400 KB. */
const MAX_BYTES = 2 * 1024 * 1024;

export async function readText(path: string, timeoutMs = 1000): Promise<string | undefined> {
  try {
    const buf = await withDeadline(readFile(path), timeoutMs, path);
    return buf.subarray(0, MAX_BYTES).toString('utf8');
  } catch {
    return undefined;
  }
}

/** Trimmed content, with device-tree NUL terminators removed; `undefined` when missing or empty. */
export async function readValue(path: string, timeoutMs = 1000): Promise<string | undefined> {
  const text = await readText(path, timeoutMs);
  if (text === undefined) return undefined;
  const value = text.replace(/\0+$/u, '').trim();
  return value === '' ? undefined : value;
}

export async function listDir(path: string, timeoutMs = 1000): Promise<string[]> {
  try {
    return (await withDeadline(readdir(path), timeoutMs, path)).sort();
  } catch {
    return [];
  }
}

/** Reads the named files under `dir` into a map (absent files are left out). */
export async function readFiles(dir: string, names: readonly string[], timeoutMs = 1000): Promise<Record<string, string>> {
  const entries = await Promise.all(names.map(async (name) => [name, await readValue(join(dir, name), timeoutMs)] as const));
  const out: Record<string, string> = {};
  for (const [name, value] of entries) if (value !== undefined) out[name] = value;
  return out;
}
