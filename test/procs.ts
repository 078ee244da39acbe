// Real processes for end-to-end tests: the built `sosna` CLI and the single-file agent.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file with the workspace package.json. */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'cli', 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no sosna repository above ${from}`);
  }
}
export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const CLI = join(ROOT, 'cli', 'dist', 'bundle', 'sosna.js'); // what the committed bin launcher runs
export const BUNDLE = join(ROOT, 'agent', 'dist', 'sosna-agent.mjs');

export function requireBuild(): void {
  for (const f of [CLI, BUNDLE]) if (!existsSync(f)) throw new Error(`${f} is missing: run npm run build (npm test does)`);
}

// Ports for processes started later (and restarted on the same port). A port from listen(0) is an ephemeral
// one: between its probe and the process binding it (or across a restart) any other connection or listen(0)
// on this machine may take it. These come from below Linux's ephemeral range (32768-60999) instead, chosen at
// random, checked free, and never handed out twice by one test process.
const PORT_RANGE = { min: 20_000, max: 32_000 };
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once('error', () => ok(false));
    s.listen(port, '127.0.0.1', () => s.close(() => ok(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = PORT_RANGE.min + Math.floor(Math.random() * (PORT_RANGE.max - PORT_RANGE.min));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${PORT_RANGE.min}-${PORT_RANGE.max} after 200 tries`);
}

export interface Proc {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

export function start(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Proc {
  return track(spawn(process.execPath, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Runs a file directly (its #! line chooses the interpreter and flags), as a device's service does. */
export function startExecutable(file: string, args: string[], cwd: string): Proc {
  const dir = dirname(process.execPath); // the same node as the tests, first on PATH for `env`
  return track(spawn(file, args, { cwd, env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

function track(child: ChildProcess): Proc {
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code, signal) => r(code ?? (signal ? 128 : null))));
  return {
    child,
    output: () => out,
    exited,
    // a bounded deadline sized for a loaded machine (a hub's start deploys contracts on its embedded chain:
    // over 15 s at load 10 on 2 cores); a process that exits first fails the wait at once
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((ok, fail) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            ok(m);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          fail(new Error(`no output matching ${pattern} within ${timeoutMs} ms; output so far:\n${out.slice(-3000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
        void exited.then(() => {
          if (waiters.has(check)) {
            waiters.delete(check);
            clearTimeout(timer);
            fail(new Error(`process exited before printing ${pattern}; output:\n${out.slice(-3000)}`));
          }
        });
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Runs the sosna CLI to completion; rejects with its output when it fails. */
export async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ stdout: string; code: number | null; output: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d; output += d; });
  child.stderr.on('data', (d: Buffer) => { output += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return { stdout, code, output };
}

/** Copies the agent bundle into a folder without node_modules, as on a device. */
export function installBundle(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const target = join(dir, 'sosna-agent.mjs');
  copyFileSync(BUNDLE, target);
  if (existsSync(`${BUNDLE}.map`)) copyFileSync(`${BUNDLE}.map`, `${target}.map`);
  return target;
}

export function writeJson(file: string, value: unknown): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}
