// A local development chain (anvil) and the JSON-RPC helpers tests and the embedded hub use.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { JsonRpcProvider, Network, toQuantity } from 'ethers';

export interface AnvilOptions {
  /** Port on 127.0.0.1; a free one when omitted. */
  port?: number;
  chainId?: number;
  /** Funded dev accounts (anvil's default mnemonic). */
  accounts?: number;
  /** Ether per dev account. */
  balanceEth?: number;
  /** Seconds between blocks; every transaction mines its own block when omitted. */
  blockTime?: number;
  /** How long to wait for the node to answer eth_chainId, ms. */
  timeoutMs?: number;
  /** Path of the anvil binary; resolved from @foundry-rs/anvil-<platform> when omitted. */
  binary?: string;
  /** Extra command-line arguments. */
  extraArgs?: readonly string[];
  /** Aborted while starting: the node is stopped and startAnvil rejects with the reason. */
  signal?: AbortSignal;
}

export interface Anvil {
  url: string;
  /** The node's process id (to find it again if its parent is killed). */
  pid: number | undefined;
  port: number;
  chainId: number;
  provider: JsonRpcProvider;
  /** Kills the node and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** anvil's default mnemonic: its dev accounts are funded and unlocked. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';

const PLATFORM_PACKAGES: Record<string, string> = {
  'linux-x64': 'anvil-linux-amd64',
  'linux-arm64': 'anvil-linux-arm64',
  'darwin-x64': 'anvil-darwin-amd64',
  'darwin-arm64': 'anvil-darwin-arm64',
  'win32-x64': 'anvil-win32-amd64',
};

/** The anvil binary shipped by the @foundry-rs/anvil npm package for this platform. */
export function anvilBinary(): string {
  const key = `${process.platform}-${process.arch}`;
  const pkg = PLATFORM_PACKAGES[key];
  if (pkg === undefined) throw new Error(`anvil: no @foundry-rs/anvil build for platform ${key}`);
  const id = `@foundry-rs/${pkg}/package.json`;
  // From this module first; from the working directory too, for bundles run from elsewhere.
  for (const base of [import.meta.url, join(process.cwd(), 'package.json')]) {
    try {
      const pkgJson = createRequire(base).resolve(id);
      return join(dirname(pkgJson), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
    } catch {
      // try the next base
    }
  }
  throw new Error(
    `anvil: cannot find ${id}; it is an optional dependency of @foundry-rs/anvil ` +
      '(a dependency of @sosna/contracts): run npm install at the repository root',
  );
}

/** A JsonRpcProvider that works with anvil: no batching, no network probing, no result cache. */
export function makeProvider(url: string, chainId: number): JsonRpcProvider {
  const network = Network.from(chainId);
  return new JsonRpcProvider(url, network, {
    staticNetwork: network,
    batchMaxCount: 1,
    cacheTimeout: -1,
    pollingInterval: 100,
  });
}

/** Asks `url` for its chain id (one plain JSON-RPC call), then returns a provider for it. */
export async function connectRpc(url: string, timeoutMs = 10_000): Promise<JsonRpcProvider> {
  const chainId = await rpcChainId(url, AbortSignal.timeout(timeoutMs));
  return makeProvider(url, chainId);
}

async function rpcChainId(url: string, signal?: AbortSignal): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    ...(signal ? { signal } : {}),
  });
  const body = (await res.json()) as { result?: string };
  if (typeof body.result !== 'string') throw new Error(`eth_chainId: unexpected answer from ${url}`);
  return Number(BigInt(body.result));
}

/** Binds `port` (0: any) on 127.0.0.1 and releases it; returns the port, or undefined if it is taken. */
async function probePort(port: number): Promise<number | undefined> {
  const server = createServer();
  const bound = new Promise<boolean>((resolve) => {
    server.once('listening', () => resolve(true));
    server.once('error', () => resolve(false));
  });
  server.listen(port, '127.0.0.1');
  if (!(await bound)) return undefined;
  const address = server.address();
  server.close();
  await once(server, 'close');
  return address !== null && typeof address !== 'string' ? address.port : undefined;
}

function anvilArgs(port: number, o: AnvilOptions): string[] {
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(o.chainId ?? 31337)];
  if (o.accounts !== undefined) args.push('--accounts', String(o.accounts));
  if (o.balanceEth !== undefined) args.push('--balance', String(o.balanceEth));
  if (o.blockTime !== undefined) args.push('--block-time', String(o.blockTime));
  return [...args, ...(o.extraArgs ?? [])];
}

/** Starts anvil on 127.0.0.1 and resolves once it answers eth_chainId. */
export async function startAnvil(opts: AnvilOptions = {}): Promise<Anvil> {
  const attempts = opts.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    opts.signal?.throwIfAborted();
    const port = await probePort(opts.port ?? 0);
    if (port === undefined) {
      // Polling a taken port would find whoever holds it and mistake it for our node.
      throw new Error(`anvil: port ${opts.port ?? 0} on 127.0.0.1 is already in use`);
    }
    try {
      return await launch(port, opts);
    } catch (err) {
      lastError = err;
      // Another process may have taken the free port between probing and binding: retry.
      if (!(err instanceof Error && /address already in use|os error 98/i.test(err.message))) throw err;
    }
  }
  throw lastError;
}

async function launch(port: number, opts: AnvilOptions): Promise<Anvil> {
  const binary = opts.binary ?? anvilBinary();
  const chainId = opts.chainId ?? 31337;
  const child = spawn(binary, anvilArgs(port, opts), { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const spawnError = new Promise<Error>((resolve) => {
    child.once('error', (err) => {
      // A process that never started (ENOENT, EACCES) emits no 'exit'.
      if (child.pid === undefined) exited = true;
      resolve(err);
    });
  });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exit;
    clearTimeout(timer);
  };

  // Ours is ready when it said it listens on our port (unless told to be quiet) and answers there.
  const quiet = (opts.extraArgs ?? []).some((a) => a === '-q' || a === '--quiet');
  const listening = (): boolean => quiet || log.includes(`Listening on 127.0.0.1:${port}`);
  try {
    await waitReady(url, child, () => exited, listening, spawnError, opts.timeoutMs ?? 20_000, () => log, opts.signal);
  } catch (err) {
    await stop();
    throw err;
  }
  // anvil logs every request; from here on the output is drained and dropped.
  for (const stream of [child.stdout, child.stderr]) {
    stream?.removeListener('data', keep);
    stream?.resume();
  }
  const provider = makeProvider(url, chainId);
  return {
    url,
    pid: child.pid,
    port,
    chainId,
    provider,
    stop: async () => {
      provider.destroy();
      await stop();
    },
  };
}

async function waitReady(
  url: string,
  child: ChildProcess,
  hasExited: () => boolean,
  listening: () => boolean,
  spawnError: Promise<Error>,
  timeoutMs: number,
  log: () => string,
  signal?: AbortSignal,
): Promise<void> {
  let failure: Error | undefined;
  void spawnError.then((err) => {
    failure = err;
  });
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    if (failure) throw new Error(`anvil failed to start: ${failure.message}`);
    if (hasExited()) throw new Error(`anvil exited with code ${child.exitCode} before it was ready:\n${log()}`);
    try {
      if (listening()) {
        await rpcChainId(url, AbortSignal.timeout(1_000));
        return;
      }
    } catch {
      // not answering yet
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
  throw new Error(`anvil did not answer eth_chainId at ${url} within ${timeoutMs} ms:\n${log()}`);
}

// ---------------------------------------------------------------- JSON-RPC helpers

/** Moves the chain clock forward and mines a block carrying the new time. */
export async function increaseTime(provider: JsonRpcProvider, seconds: number | bigint): Promise<void> {
  await provider.send('evm_increaseTime', [toQuantity(seconds)]);
  await provider.send('evm_mine', []);
}

/** Mines `blocks` empty blocks. */
export async function mine(provider: JsonRpcProvider, blocks: number | bigint = 1): Promise<void> {
  await provider.send('anvil_mine', [toQuantity(blocks)]);
}

/** Timestamp of the latest block, seconds. */
export async function latestTimestamp(provider: JsonRpcProvider): Promise<bigint> {
  const block = await provider.getBlock('latest');
  if (block === null) throw new Error('no latest block');
  return BigInt(block.timestamp);
}

/** Saves the chain state; pass the id to `revertTo` (each id can be reverted to once). */
export async function snapshot(provider: JsonRpcProvider): Promise<string> {
  return (await provider.send('evm_snapshot', [])) as string;
}

export async function revertTo(provider: JsonRpcProvider, id: string): Promise<void> {
  const ok = (await provider.send('evm_revert', [id])) as boolean;
  if (!ok) throw new Error(`evm_revert to snapshot ${id} failed`);
}
