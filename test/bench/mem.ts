// A process's memory as the benches print it, from /proc (Linux).
import { readFileSync } from 'node:fs';

/** Resident set size (VmRSS), MiB. */
export const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

/** Resident memory split: private (the process's own) vs file-backed shared pages (the node binary's code), and PSS. */
export const memSplit = (pid: number): { privateMiB: number; sharedMiB: number; pssMiB: number } => {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN) / 1024;
  return { privateMiB: kb('Private_Dirty') + kb('Private_Clean'), sharedMiB: kb('Shared_Clean') + kb('Shared_Dirty'), pssMiB: kb('Pss') };
};
