// The container engine: Docker's Engine API over a unix socket (balenaEngine on balenaOS speaks the same
// API). Where it is: the configured endpoint, $DOCKER_HOST, balenaEngine's socket, Docker's socket.
// The API version is negotiated: the engine's own, at most MAX_API (Debian 12's Docker speaks 1.41).
import { existsSync } from 'node:fs';
import Docker from 'dockerode';

export const MAX_API = '1.45';
export const MIN_API = '1.30';
export const BALENA_SOCKETS = ['/var/run/balena-engine.sock', '/var/run/balena.sock'];
export const DOCKER_SOCKET = '/var/run/docker.sock';

export type EngineEndpoint = { socketPath: string } | { protocol: 'http'; host: string; port: number };

export interface Engine {
  docker: Docker;
  /** `docker` or `balenaEngine`. */
  name: string;
  version: string;
  apiVersion: string;
  endpoint: string;
}

/** Where the engine is (pure: the environment and the file test come in). */
export function resolveEndpoint(configured: string | undefined, env: Record<string, string | undefined>, exists: (p: string) => boolean = existsSync): { endpoint: EngineEndpoint; text: string } {
  const pick = (url: string) => {
    if (url.startsWith('unix://')) return { endpoint: { socketPath: url.slice('unix://'.length) }, text: url };
    const m = /^(?:tcp|http):\/\/([^:/]+)(?::(\d+))?\/?$/.exec(url);
    if (!m) throw new Error(`container engine address ${JSON.stringify(url)}: use unix:///path/to/socket or tcp://host:port`);
    return { endpoint: { protocol: 'http' as const, host: m[1]!, port: Number(m[2] ?? 2375) }, text: url };
  };
  if (configured) return pick(configured);
  if (env.DOCKER_HOST) return pick(env.DOCKER_HOST);
  const socket = [...BALENA_SOCKETS, DOCKER_SOCKET].find((p) => exists(p)) ?? DOCKER_SOCKET;
  return { endpoint: { socketPath: socket }, text: `unix://${socket}` };
}

/**
 * Why jobs are unavailable when no engine answered (pure): every place looked at, the probe's error, and
 * how to point the agent at an engine. Shown on the dashboard's Jobs page.
 */
export function noEngineReason(configured: string | undefined, env: Record<string, string | undefined>, error: string): string {
  const looked = configured ? [`${configured} (jobs.dockerHost)`] : env.DOCKER_HOST ? [`${env.DOCKER_HOST} (DOCKER_HOST)`] : [...BALENA_SOCKETS, DOCKER_SOCKET].map((p) => `unix://${p}`);
  return `no container engine found (looked at ${looked.join(', ')}: ${error.replace(/^no container engine at \S+: /, '')}); set jobs.dockerHost in the config or DOCKER_HOST`;
}

const num = (v: string) => v.split('.').map(Number) as [number, number];
export function compareApi(a: string, b: string): number {
  const [a1, a2] = num(a);
  const [b1, b2] = num(b);
  return a1 - b1 || a2 - b2;
}

/** The API version both sides speak, or an error naming both. */
export function negotiateApi(engineApi: string, engineMin?: string): string {
  const chosen = compareApi(engineApi, MAX_API) > 0 ? MAX_API : engineApi;
  if (compareApi(chosen, MIN_API) < 0) throw new Error(`the container engine speaks API ${engineApi}; sosna needs ${MIN_API} or newer`);
  if (engineMin && compareApi(chosen, engineMin) < 0) throw new Error(`the container engine needs API ${engineMin} or newer; sosna speaks up to ${MAX_API}`);
  return chosen;
}

export async function connectEngine(configured: string | undefined, env: Record<string, string | undefined> = process.env, timeoutMs = 5000): Promise<Engine> {
  const { endpoint, text } = resolveEndpoint(configured, env);
  const probe = new Docker({ ...endpoint, timeout: timeoutMs });
  let v: Docker.DockerVersion & { MinAPIVersion?: string };
  try {
    v = await probe.version();
  } catch (err) {
    throw new Error(`no container engine at ${text}: ${(err as Error).message}`);
  }
  const apiVersion = negotiateApi(v.ApiVersion, v.MinAPIVersion);
  const balena = /balena/i.test(`${v.Version} ${JSON.stringify(v.Components ?? [])}`) || BALENA_SOCKETS.some((s) => text.endsWith(s));
  return { docker: new Docker({ ...endpoint, version: `v${apiVersion}` }), name: balena ? 'balenaEngine' : 'docker', version: v.Version, apiVersion, endpoint: text };
}

/** An engine error's HTTP status, when it has one. */
export const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number })?.statusCode;
export const messageOf = (err: unknown): string => {
  const e = err as { json?: { message?: string }; reason?: string; message?: string };
  return e?.json?.message ?? e?.message ?? String(err);
};
