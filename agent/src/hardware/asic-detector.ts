// Runner for ASIC miners: probes localhost and configured LAN addresses on the cgminer API
// concurrently, each host within its own time-out. Nothing listening on localhost is "no ASIC"; a
// configured address that does not answer is listed in error, since the owner said a miner is there.
import type { HardwareAsic } from '@sosna/protocol/hardware';
import { CGMINER_COMMANDS, buildAsic, type CgminerReplies } from './asic-mapper.js';
import { queryCgminer, type CgminerQueryResult } from './cgminer-client.js';
import { parseCgminerReply } from './cgminer-parser.js';
import { warn, type Warning } from './types.js';

export const CGMINER_DEFAULT_PORT = 4028;

export type CgminerQuery = (host: string, port: number, command: string, timeoutMs: number) => Promise<CgminerQueryResult>;

export interface AsicDetectOptions {
  /** `host`, `host:port` or `[v6]:port`. */
  hosts: readonly string[];
  /** Also probe 127.0.0.1:4028 (the agent may run on the miner's own controller). */
  probeLocalhost: boolean;
  perHostTimeoutMs: number;
  /** Hosts probed at once. */
  concurrency?: number;
  query?: CgminerQuery;
}

export interface HostPort {
  host: string;
  port: number;
}

/** Parses `host`, `host:port`, `[::1]:port`; undefined for anything unusable. */
export function parseHostPort(spec: string): HostPort | undefined {
  const s = spec.trim();
  if (s === '' || s.length > 255) return undefined;
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d+))?$/iu.exec(s);
  if (v6) return withPort(v6[1]!, v6[2]);
  const m = /^([a-z0-9.-]+)(?::(\d+))?$/iu.exec(s);
  if (m) return withPort(m[1]!, m[2]);
  return undefined;
}

function withPort(host: string, port: string | undefined): HostPort | undefined {
  const p = port === undefined ? CGMINER_DEFAULT_PORT : Number(port);
  return Number.isInteger(p) && p >= 1 && p <= 65535 ? { host, port: p } : undefined;
}

interface Probe {
  asic?: HardwareAsic;
  warnings: Warning[];
}

export async function probeAsicHost(target: HostPort, configured: boolean, timeoutMs: number, query: CgminerQuery): Promise<Probe> {
  const source = `cgminer:${target.host}:${target.port}`;
  const started = Date.now();
  const first = await query(target.host, target.port, 'summary', timeoutMs);
  if (!first.ok) {
    if (!configured) return { warnings: [] };
    return {
      asic: unreachable(target, first.message),
      warnings: [warn(source, `no miner API: ${first.message}`)],
    };
  }
  const replies: CgminerReplies = { summary: parseCgminerReply(first.text) };
  if (replies.summary?.error && Object.keys(replies.summary.body).length === 0) {
    // Something answered, but not a miner API (or a broken one).
    if (!configured) return { warnings: [warn(source, `port answers but not with the cgminer API: ${replies.summary.error}`)] };
    return { asic: unreachable(target, replies.summary.error), warnings: [warn(source, `unreadable reply: ${replies.summary.error}`)] };
  }
  const left = Math.max(1, timeoutMs - (Date.now() - started));
  const rest = CGMINER_COMMANDS.filter((c) => c !== 'summary');
  const results = await Promise.all(rest.map((c) => query(target.host, target.port, c, left)));
  rest.forEach((c, i) => {
    const r = results[i];
    if (r?.ok) replies[c] = parseCgminerReply(r.text);
  });
  const { asic, problems } = buildAsic(target.host, target.port, replies);
  const warnings = problems.slice(0, 5).map((p) => warn(source, p));
  if (asic.state === 'error') warnings.push(warn(source, asic.reason ?? 'error'));
  return { asic, warnings };
}

function unreachable(target: HostPort, reason: string): HardwareAsic {
  return {
    host: target.host,
    port: target.port,
    maker: 'unknown',
    model: 'unknown',
    chains: [],
    fansRpm: [],
    state: 'error',
    reason: reason.slice(0, 512),
  };
}

export async function detectAsics(opts: AsicDetectOptions): Promise<{ asics: HardwareAsic[]; warnings: Warning[] }> {
  const query = opts.query ?? queryCgminer;
  const warnings: Warning[] = [];
  const targets = new Map<string, { target: HostPort; configured: boolean }>();
  if (opts.probeLocalhost) targets.set(`127.0.0.1:${CGMINER_DEFAULT_PORT}`, { target: { host: '127.0.0.1', port: CGMINER_DEFAULT_PORT }, configured: false });
  for (const spec of opts.hosts) {
    const target = parseHostPort(spec);
    if (!target) {
      warnings.push(warn('cgminer', `ignored ASIC address ${JSON.stringify(spec.slice(0, 80))}`));
      continue;
    }
    targets.set(`${target.host}:${target.port}`, { target, configured: true });
  }
  const list = [...targets.values()].slice(0, 1024);
  const concurrency = Math.max(1, opts.concurrency ?? 32);
  const probes: Probe[] = new Array<Probe>(list.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const i = next++;
      const { target, configured } = list[i]!;
      try {
        probes[i] = await probeAsicHost(target, configured, opts.perHostTimeoutMs, query);
      } catch (e) {
        probes[i] = { warnings: [warn(`cgminer:${target.host}:${target.port}`, e instanceof Error ? e.message : String(e))] };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
  const asics: HardwareAsic[] = [];
  for (const p of probes) {
    if (!p) continue;
    if (p.asic) asics.push(p.asic);
    warnings.push(...p.warnings);
  }
  return { asics, warnings };
}
