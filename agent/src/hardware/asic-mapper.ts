// Pure mapping from cgminer-API replies (summary, stats, devs, pools, version, devdetails) to one
// inventory ASIC. Antminer (bmminer/cgminer) reports per-chain data as numbered keys in the second
// STATS object (chain_acn1, chain_rate1, temp_chip1 "56-56-71-71", temp_pcb1, fan1..fanN), hashrate in
// GH/s ("GHS 5s", "GHS av"); Whatsminer (btminer) reports MH/s ("MHS 5s", "MHS av"), one DEVS entry per
// hash board, and fans as "Fan Speed In"/"Fan Speed Out" in SUMMARY.
import type { HardwareAsic, HardwareAsicChain } from '@sosna/protocol/hardware';
import { findKey, sectionItems, type CgminerReply } from './cgminer-parser.js';
import { clip, compact, scaled, toCelsius, toCount, toNonNegative } from './parse-util.js';

export const CGMINER_COMMANDS = ['summary', 'version', 'stats', 'devs', 'pools', 'devdetails'] as const;
export type CgminerCommand = (typeof CGMINER_COMMANDS)[number];
export type CgminerReplies = Partial<Record<CgminerCommand, CgminerReply>>;

const UNIT: Readonly<Record<string, number>> = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };

/** Reads "GHS 5s", "MHS av", "THS 5s"... from one object: returns whole H/s. */
export function hashrateFrom(obj: Record<string, unknown>, window: '5s' | 'av'): number | undefined {
  for (const [key, value] of Object.entries(obj)) {
    const m = /^([KMGTP]?)HS[ _](5s|av|avg)$/iu.exec(key.trim());
    if (!m) continue;
    const wantAvg = window === 'av';
    const isAvg = m[2]!.toLowerCase() !== '5s';
    if (wantAvg !== isAvg) continue;
    const n = toNonNegative(value);
    const hs = scaled(n, UNIT[m[1]!.toUpperCase()] ?? 1);
    if (hs !== undefined) return Math.round(hs);
  }
  return undefined;
}

/** The numbers in "56-56-71-71", "71", or 71. */
function numbersIn(v: unknown): number[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [v] : [];
  if (typeof v !== 'string') return [];
  return v
    .split(/[-,\s]+/u)
    .map((p) => toCelsius(p))
    .filter((n): n is number => n !== undefined && n > 0);
}

const maxOf = (ns: number[]): number | undefined => (ns.length > 0 ? Math.max(...ns) : undefined);

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v.replace(/^['"]+|['"]+$/gu, '').trim() || undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** Antminer chains from numbered keys of the STATS detail object. */
function antminerChains(stats: Record<string, unknown>): HardwareAsicChain[] {
  const indices = new Set<number>();
  for (const key of Object.keys(stats)) {
    const m = /^chain_(?:acn|rate)(\d+)$/u.exec(key);
    if (m) indices.add(Number(m[1]));
  }
  const unit = UNIT[(text(stats['rate_unit']) ?? 'GH').replace(/H(\/s)?$/iu, '').toUpperCase()] ?? 1e9;
  const chains: HardwareAsicChain[] = [];
  for (const n of [...indices].sort((a, b) => a - b)) {
    const chips = toCount(stats[`chain_acn${n}`]);
    const rate = toNonNegative(stats[`chain_rate${n}`]);
    const rateHs = scaled(rate, unit);
    // Unpopulated slots report 0 chips and no rate.
    if (!chips && !rate) continue;
    chains.push(
      compact({
        index: n,
        chipTempC: maxOf(numbersIn(stats[`temp_chip${n}`])) ?? maxOf(numbersIn(stats[`temp2_${n}`])),
        boardTempC: maxOf(numbersIn(stats[`temp_pcb${n}`])) ?? maxOf(numbersIn(stats[`temp${n}`])),
        hashrateHs: rateHs !== undefined ? Math.round(rateHs) : undefined,
        chips,
        hwErrors: toCount(stats[`chain_hw${n}`]),
      }),
    );
  }
  return chains;
}

/** One chain per DEVS entry (Whatsminer hash boards, generic cgminer ASC devices). */
function devsChains(devs: Record<string, unknown>[]): HardwareAsicChain[] {
  return devs.slice(0, 32).map((d, i) =>
    compact({
      index: toCount(d['Slot']) ?? toCount(d['ASC']) ?? toCount(d['ID']) ?? i,
      chipTempC: toCelsius(d['Chip Temp Max']) ?? toCelsius(d['Chip Temp Avg']) ?? toCelsius(d['Temperature']),
      boardTempC: toCelsius(d['Temperature']),
      hashrateHs: hashrateFrom(d, '5s') ?? hashrateFrom(d, 'av'),
      chips: toCount(d['Effective Chips']),
      hwErrors: toCount(d['Hardware Errors']),
    }),
  );
}

function antminerFans(stats: Record<string, unknown>): number[] {
  const fans: Array<[number, number]> = [];
  for (const [key, value] of Object.entries(stats)) {
    const m = /^fan(\d+)$/u.exec(key);
    const rpm = toNonNegative(value);
    if (m && rpm !== undefined && rpm > 0) fans.push([Number(m[1]), rpm]);
  }
  return fans.sort((a, b) => a[0] - b[0]).map(([, rpm]) => rpm);
}

/** `M30S++V40` -> `WhatsMiner M30S++` (the V-suffix is the hash board revision). */
function whatsminerModel(raw: string): string {
  const base = raw.replace(/^whatsminer\s*/iu, '').replace(/[\s._-]*V[A-Z]?\d+$/iu, '');
  return `WhatsMiner ${base}`;
}

export function makerOf(model: string, software: string | undefined): string {
  const s = `${model} ${software ?? ''}`.toLowerCase();
  if (s.includes('antminer') || s.includes('bmminer')) return 'Bitmain';
  if (s.includes('whatsminer') || s.includes('btminer')) return 'MicroBT';
  if (s.includes('avalon')) return 'Canaan';
  return 'unknown';
}

/** Strips credentials that some setups put into the pool URL. */
function cleanPoolUrl(url: string): string {
  return clip(url.replace(/^([a-z0-9+.-]+:\/\/)[^@/]*@/iu, '$1'), 512);
}

function poolUrl(pools: Record<string, unknown>[]): string | undefined {
  if (pools.length === 0) return undefined;
  const active = pools.find((p) => p['Stratum Active'] === true || p['Stratum Active'] === 'true');
  const alive = pools
    .filter((p) => /alive/iu.test(String(p['Status'] ?? '')))
    .sort((a, b) => (toNonNegative(a['Priority']) ?? 99) - (toNonNegative(b['Priority']) ?? 99))[0];
  const url = text((active ?? alive ?? pools[0])?.['URL']);
  return url ? cleanPoolUrl(url) : undefined;
}

export function buildAsic(host: string, port: number, replies: CgminerReplies): { asic: HardwareAsic; problems: string[] } {
  const problems: string[] = [];
  for (const cmd of CGMINER_COMMANDS) {
    const r = replies[cmd];
    if (r?.error && !(r.status && /^E$/iu.test(r.status) && cmd !== 'summary')) problems.push(`${cmd}: ${r.error}`);
    else if (r?.repaired) problems.push(`${cmd}: reply was not valid JSON (repaired)`);
  }
  const summary = sectionItems(replies.summary, 'SUMMARY')[0] ?? {};
  const stats = sectionItems(replies.stats, 'STATS');
  const version = sectionItems(replies.version, 'VERSION')[0] ?? {};
  const devdetails = sectionItems(replies.devdetails, 'DEVDETAILS')[0] ?? {};
  const devs = sectionItems(replies.devs, 'DEVS');
  const pools = sectionItems(replies.pools, 'POOLS');
  // Antminer: STATS[0] describes the miner (Type, CompileTime), STATS[1] holds the numbers.
  const statsInfo = stats.find((s) => 'Type' in s || 'CompileTime' in s) ?? {};
  const statsDetail = stats.find((s) => Object.keys(s).some((k) => /^chain_(acn|rate)\d+$/u.test(k) || /^fan\d+$/u.test(k))) ?? {};

  const software =
    text(replies.summary?.description) ??
    (text(version['BMMiner']) ? `bmminer ${text(version['BMMiner'])}` : undefined) ??
    (text(version['CGMiner']) ? `cgminer ${text(version['CGMiner'])}` : undefined) ??
    text(replies.version?.description);

  let model = text(version['Type']) ?? text(statsInfo['Type']) ?? text(summary['Type']);
  const wmModel = text(devdetails['Model']) ?? text(findKey(summary, 'Model'));
  if (!model && wmModel) model = /^(whatsminer\s*)?M\d/iu.test(wmModel) ? whatsminerModel(wmModel) : wmModel;
  if (!model && text(version['PROD'])) model = text(version['PROD']);
  if (!model && /btminer/iu.test(software ?? '')) model = 'WhatsMiner';
  model ??= 'unknown';

  const chains = Object.keys(statsDetail).length > 0 ? antminerChains(statsDetail) : [];
  const chainList = chains.length > 0 ? chains : devsChains(devs);

  const fans = antminerFans(statsDetail);
  for (const key of ['Fan Speed In', 'Fan Speed Out']) {
    const rpm = toNonNegative(summary[key]);
    if (rpm !== undefined && rpm > 0) fans.push(rpm);
  }

  const hashrate5s = hashrateFrom(summary, '5s') ?? hashrateFrom(statsDetail, '5s');
  const hashrateAvg = hashrateFrom(summary, 'av') ?? hashrateFrom(statsDetail, 'av');
  const chainHw = chainList.reduce((sum, c) => sum + (c.hwErrors ?? 0), 0);
  const hwErrors = toCount(summary['Hardware Errors']) ?? (chainList.some((c) => c.hwErrors !== undefined) ? chainHw : undefined);

  const summaryReply = replies.summary;
  let state: 'ok' | 'error' = 'ok';
  let reason: string | undefined;
  if (!summaryReply || !summaryReply.ok) {
    state = 'error';
    reason = summaryReply?.error ?? 'no summary reply';
  } else if (hashrate5s === 0) {
    reason = 'reports 0 H/s (not hashing)';
  }

  const asic: HardwareAsic = compact({
    host: clip(host, 255),
    port,
    maker: makerOf(model, software),
    model: clip(model, 128),
    software: software ? clip(software, 128) : undefined,
    firmware: (() => {
      const fw = text(summary['Firmware Version']) ?? text(version['CompileTime']) ?? text(statsInfo['CompileTime']);
      return fw ? clip(fw, 128) : undefined;
    })(),
    hashrate5s,
    hashrateAvg,
    chains: chainList,
    fansRpm: fans.slice(0, 16),
    hwErrors,
    powerW: toNonNegative(summary['Power']) ?? toNonNegative(statsDetail['Power']),
    uptimeS: toNonNegative(summary['Elapsed']) ?? toNonNegative(statsDetail['Elapsed']),
    poolUrl: poolUrl(pools),
    state,
    reason: reason ? clip(reason, 512) : undefined,
  });
  return { asic, problems };
}
