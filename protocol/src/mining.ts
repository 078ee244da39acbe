// Rig mode: the owner's flight sheet (which miner, algorithm, pool, wallet, GPUs/CPU threads) in the device
// config, and the money figures the profit planner weighs (bigint wei, decimal strings in the file).
// Shape checks live here; what needs the device itself (is the command there, does GPU 3 exist, is 400 W in
// the card's range) is checked by the agent against its detected hardware (agent/src/mining/flight-sheet.ts).
import { z } from 'zod';
import { HashAlgorithm } from './hardware.js';
import { defineService } from './rpc/service.js';

const Wei = (what: string) => z.string().regex(/^\d{1,78}$/, `must be a non-negative decimal integer (${what})`);

/** The miners whose statistics API the agent reads (`mining.miner.api.kind`). */
export const MINER_APIS = ['xmrig', 'trex', 'lolminer', 'gminer'] as const;
export type MinerApiKind = (typeof MINER_APIS)[number];

/** Placeholders the agent fills in `miner.command` before it starts the miner. */
export const MINER_PLACEHOLDERS = ['{pool}', '{wallet}', '{worker}', '{algorithm}', '{apiHost}', '{apiPort}', '{gpus}', '{threads}'] as const;

export const MiningConfig = z
  .object({
    /** Mine when no job pays more. */
    enabled: z.boolean({ error: 'must be true or false' }).default(true),
    miner: z
      .object({
        /** A short name for the miner, used in telemetry keys and metric labels (`miner.<id>.hashrate10s`). */
        id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1-32 lower-case letters, digits, _ or - (e.g. xmrig)').default('miner'),
        /**
         * The program the owner names, as argv (sosna ships no miner): a path or a name on PATH, e.g.
         * ["/opt/xmrig/xmrig", "-o", "{pool}", "-u", "{wallet}", "-a", "rx/0", "--http-port", "{apiPort}"].
         * Placeholders: {pool} {wallet} {worker} {algorithm} {apiHost} {apiPort} {gpus} (comma-separated indices) {threads}.
         */
        command: z.array(z.string().min(1).max(4096)).min(1, 'must name the miner program: ["/path/to/miner", "arg", ...]').max(128),
        /** Environment variables for the miner beside the agent's own. */
        env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string().max(4096)).optional(),
        /** The miner's statistics API: xmrig's HTTP API (GET /2/summary, /2/backends), T-Rex's (GET /summary), lolMiner's (--apiport: GET /) or GMiner's (--api: GET /stat). */
        api: z
          .object({
            kind: z.enum(MINER_APIS, { error: `must be one of ${MINER_APIS.map((k) => `"${k}"`).join(', ')} (the miner whose HTTP API the agent reads: xmrig /2/summary, T-Rex /summary, lolMiner / on --apiport, GMiner /stat on --api)` }).default('xmrig'),
            host: z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, 'must be a host name or an IP address').default('127.0.0.1'),
            port: z.number({ error: 'must be the port of the miner\'s HTTP API, 1-65535' }).int().min(1, 'must be 1-65535').max(65_535, 'must be 1-65535'),
            /** Bearer token when the miner's API asks for one. */
            token: z.string().min(1).max(256).optional(),
          })
          .strict(),
      })
      .strict(),
    /** The algorithm mined (the names the hub's rates use); the owner writes the miner's own spelling into `command`. */
    algorithm: z.enum(HashAlgorithm.options, { error: `must be one of ${HashAlgorithm.options.join(', ')}` }),
    /** Pool URL, e.g. stratum+tcp://pool.example.org:3333 or pool.example.org:3333. */
    pool: z.string().regex(/^((stratum\+)?(tcp|ssl|tls):\/\/)?[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port or stratum+tcp://host:port (stratum+ssl:// for TLS)'),
    /** Where the pool pays: a wallet address (and whatever the pool appends to it). */
    wallet: z.string().regex(/^\S{1,256}$/, 'must be 1-256 characters without spaces'),
    worker: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, ., _ or -').optional(),
    /** GPUs that mine (inventory indices, as in telemetry `gpu.N`); empty: none. */
    gpus: z
      .array(z.number().int('must be whole GPU indices').min(0, 'must be GPU indices from 0').max(63, 'must be GPU indices up to 63'))
      .max(64)
      .refine((g) => new Set(g).size === g.length, 'must not name a GPU twice')
      .default([]),
    /** CPU threads that mine; 0: none. */
    cpuThreads: z.number().int().min(0).max(1024).default(0),
    /** Power limit set on each mining GPU, W (within the card's range; checked against the detected cards). */
    powerLimitW: z.number().positive('must be a positive number of watts').max(2000, 'must be at most 2000 W').optional(),
    /**
     * Per-GPU tuning applied when mining starts and restored when it stops (agent/src/mining/tuning.ts):
     * NVIDIA through nvidia-smi, AMD through the amdgpu sysfs files. A GPU's own powerLimitW wins over the
     * sheet-wide one. Each must name one of `gpus`.
     */
    tuning: z
      .array(
        z
          .object({
            gpu: z.number().int('must be a whole GPU index').min(0).max(63),
            powerLimitW: z.number().positive('must be a positive number of watts').max(2000, 'must be at most 2000 W').optional(),
            /** Core clock locked to this, MHz (nvidia-smi -lgc X,X; AMD: pp_od_clk_voltage `s 1 X`). */
            coreClockMhz: z.number().int('must be whole MHz').min(100, 'must be 100-5000 MHz').max(5000, 'must be 100-5000 MHz').optional(),
            /** Memory clock locked to this, MHz (nvidia-smi -lmc X,X; AMD: pp_od_clk_voltage `m 1 X`). */
            memClockMhz: z.number().int('must be whole MHz').min(100, 'must be 100-20000 MHz').max(20_000, 'must be 100-20000 MHz').optional(),
          })
          .strict(),
      )
      .max(64)
      .default([]),
    /** How often the agent reads the miner's API. */
    statsIntervalSec: z.number().min(1).max(3600).default(10),
    /** Bound on one read of the miner's API. */
    apiTimeoutMs: z.number().int().min(100).max(60_000).default(2000),
    /** After SIGTERM, how long the miner has to exit before SIGKILL. */
    stopGraceSec: z.number().min(0.1).max(120).default(3),
    profit: z
      .object({
        /**
         * The owner's revenue rates, token wei per 10^6 hashes (per MH) by algorithm; they override the hub's.
         * E.g. { "randomx": "35000000000000000" }.
         */
        revenueWeiPerMh: z.partialRecord(z.enum(HashAlgorithm.options), Wei('token wei per 10^6 hashes')).optional(),
        /** Electricity price, token wei per kWh; the power a GPU draws while mining costs this. */
        electricityWeiPerKwh: Wei('token wei per kWh').default('0'),
        /** A rate older than this is stale: the planner flags it and does not trust it to keep a GPU from a job. */
        rateMaxAgeSec: z.number().int().min(60).max(30 * 86_400).default(3600),
        /** A GPU switches (mine <-> job) at most once per this window, unless a fault forces it. */
        hysteresisSec: z.number().min(0).max(86_400).default(300),
        /** A job must beat mining by this much (per cent) to take a mining GPU. */
        marginPct: z.number().min(0).max(1000).default(5),
        /** Never run a job that pays less than mining: the device's ask becomes at least mining's net per second. */
        askAtLeastMining: z.boolean({ error: 'must be true or false' }).default(false),
      })
      .strict()
      .prefault({}),
    /** Rig watchdog (agent/src/mining/watchdog.ts): low hashrate restarts the miner, then reboots (rate-limited); a faulty GPU is taken out. */
    watchdog: z
      .object({
        /** Below this (H/s, the miner's 10 s figure, scaled to the GPUs still mining) counts as low; absent: no hashrate watch. */
        minHashrateHs: z.number().positive('must be a positive hashrate in H/s').optional(),
        /** Low for this long restarts the miner. */
        lowForSec: z.number().int().min(30).max(86_400).default(300),
        /** Restarts (each followed by another lowForSec) before a reboot is considered. */
        restartsBeforeReboot: z.number().int().min(1).max(100).default(2),
        /** Reboot the rig when restarts do not help (off unless the owner turns it on). */
        reboot: z.boolean({ error: 'must be true or false' }).default(false),
        /** At least this long between two reboots of the watchdog. */
        rebootMinIntervalSec: z.number().int().min(600).max(7 * 86_400).default(3600),
        /** At most this many watchdog reboots in 24 hours; past it the watchdog only alerts. */
        maxRebootsPerDay: z.number().int().min(1).max(24).default(3),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((m, ctx) => {
    m.tuning.forEach((t, n) => {
      if (!m.gpus.includes(t.gpu)) ctx.addIssue({ code: 'custom', path: ['tuning', n, 'gpu'], message: `GPU ${t.gpu} is not one of the mining gpus (${m.gpus.join(', ') || 'none'}): tune only the GPUs that mine` });
      if (m.tuning.findIndex((u) => u.gpu === t.gpu) !== n) ctx.addIssue({ code: 'custom', path: ['tuning', n, 'gpu'], message: `GPU ${t.gpu} is tuned twice: one entry per GPU` });
    });
    if (m.gpus.length === 0 && m.cpuThreads === 0) ctx.addIssue({ code: 'custom', path: ['gpus'], message: 'name the GPUs that mine (gpus: [0, 1]) or CPU threads (cpuThreads: 4): with neither nothing mines' });
  });
export type MiningConfig = z.infer<typeof MiningConfig>;

/** One miner's figures as the telemetry carries them (`miner.<id>.hashrate10s`, `miner.<id>.gpu.N.hashrate10s`, ...). */
export interface MinerFigures {
  id: string;
  up: boolean;
  hashrate: { '10s'?: number; '60s'?: number; '15m'?: number };
  accepted?: number;
  rejected?: number;
  gpus: { index: number; hashrate: number }[];
  cpu?: number;
  /** The profit planner has no fresh revenue rate (mining keeps no job away). */
  rateStale?: boolean;
  /** Whose rate the planner uses: the owner's flight sheet, or the hub's published one (`miner.<id>.rateSource` 1 / 2). */
  rateSource?: 'owner' | 'hub';
  /** Age of the hub's rate, seconds (`miner.<id>.rateAgeSec`). */
  rateAgeSec?: number;
}

/** Pure: the miners in a telemetry map (for the console and the dashboard). */
export function minersInTelemetry(t: Record<string, number>): MinerFigures[] {
  const out = new Map<string, MinerFigures>();
  const get = (id: string) => out.get(id) ?? (out.set(id, { id, up: false, hashrate: {}, gpus: [] }), out.get(id)!);
  for (const [k, v] of Object.entries(t)) {
    const m = /^miner\.([a-z0-9_-]+)\.(.+)$/.exec(k);
    if (!m || !Number.isFinite(v)) continue;
    const f = get(m[1]!);
    const rest = m[2]!;
    const w = /^hashrate(10s|60s|15m)$/.exec(rest);
    const g = /^gpu\.(\d+)\.hashrate10s$/.exec(rest);
    if (rest === 'up') f.up = v === 1;
    else if (w) f.hashrate[w[1] as '10s' | '60s' | '15m'] = v;
    else if (g) f.gpus.push({ index: Number(g[1]), hashrate: v });
    else if (rest === 'sharesAccepted') f.accepted = v;
    else if (rest === 'sharesRejected') f.rejected = v;
    else if (rest === 'cpu.hashrate10s') f.cpu = v;
    else if (rest === 'rateStale') f.rateStale = v === 1;
    else if (rest === 'rateSource') { if (v === 1) f.rateSource = 'owner'; else if (v === 2) f.rateSource = 'hub'; }
    else if (rest === 'rateAgeSec') f.rateAgeSec = v;
  }
  for (const f of out.values()) f.gpus.sort((a, b) => a.index - b.index);
  return [...out.values()];
}

/** H/s with an SI prefix: 1234 -> "1.23 kH/s". */
export function formatHashrateHs(hs: number): string {
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s', 'EH/s'];
  let v = hs;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(2)} ${units[i]}`;
}

/** Pure: one line per miner, e.g. "mining xmrig: 3.00 kH/s (10s), 2.95 kH/s (60s); shares 120 accepted, 1 rejected; GPU 0 1.00 kH/s". */
export function formatMinerLine(f: MinerFigures): string {
  const rates = (['10s', '60s', '15m'] as const).filter((w) => f.hashrate[w] !== undefined).map((w) => `${formatHashrateHs(f.hashrate[w]!)} (${w})`);
  const parts = [rates.length ? rates.join(', ') : 'no hashrate yet'];
  if (f.accepted !== undefined) parts.push(`shares ${f.accepted} accepted, ${f.rejected ?? 0} rejected`);
  const per = [...f.gpus.map((g) => `GPU ${g.index} ${formatHashrateHs(g.hashrate)}`), ...(f.cpu !== undefined ? [`CPU ${formatHashrateHs(f.cpu)}`] : [])];
  if (per.length) parts.push(per.join(', '));
  const age = f.rateAgeSec !== undefined ? `, ${formatAge(f.rateAgeSec)} old` : '';
  if (f.rateStale) parts.push(`revenue rate stale or missing${f.rateSource === 'hub' ? ` (the hub's${age})` : ''}: mining keeps no job away`);
  else if (f.rateSource) parts.push(`revenue rate: ${f.rateSource === 'hub' ? `the hub's${age}` : "the owner's"}`);
  return `mining ${f.id}${f.up ? '' : ' (not running)'}: ${parts.join('; ')}`;
}

function formatAge(sec: number): string {
  return sec < 120 ? `${Math.round(sec)} s` : sec < 7200 ? `${Math.round(sec / 60)} min` : `${Math.round(sec / 3600)} h`;
}

// Revenue rates the hub publishes (retained, on topics.miningRates(hubId); admins set them with
// `sosna console mining rates set ALGO WEI_PER_MH`). Unit: token wei per 10^6 hashes of the algorithm (per MH),
// the same unit as a flight sheet's `profit.revenueWeiPerMh`, which takes precedence. Each rate carries the time
// it was set: a device treats one older than its sheet's `profit.rateMaxAgeSec` as stale (flagged; it keeps
// no job away), so whoever sets them must refresh them.
export const MiningRate = z
  .object({
    weiPerMh: Wei('token wei per 10^6 hashes'),
    /** When it was set (ms since the epoch). */
    at: z.number().int().nonnegative(),
    /** The operator who set it. */
    by: z.string().max(64).optional(),
  })
  .strict();
export type MiningRate = z.infer<typeof MiningRate>;

export const MiningRates = z
  .object({
    v: z.literal(1),
    /** When this message was published (ms). */
    at: z.number().int().nonnegative(),
    rates: z.partialRecord(z.enum(HashAlgorithm.options), MiningRate),
  })
  .strict();
export type MiningRates = z.infer<typeof MiningRates>;

export const MiningAlgorithm = z.enum(HashAlgorithm.options, { error: `must be one of ${HashAlgorithm.options.join(', ')}` });
export type MiningAlgorithm = z.infer<typeof MiningAlgorithm>;

/** The hub's console service for its published revenue rates (reading: viewers; setting: admins). */
export const miningService = defineService('mining', {
  rates: {
    params: z.object({}),
    result: z.object({ rates: MiningRates.shape.rates }),
  },
  setRate: {
    params: z.object({ algorithm: MiningAlgorithm, weiPerMh: Wei('token wei per 10^6 hashes') }),
    result: z.object({ algorithm: MiningAlgorithm, rate: MiningRate }),
  },
  unsetRate: {
    params: z.object({ algorithm: MiningAlgorithm }),
    result: z.object({ algorithm: MiningAlgorithm, removed: z.boolean() }),
  },
});

// Rig earnings over time (the agent's rig ledger, agent/src/mining/ledger.ts): per interval, mining's net
// (hashrate x rate minus power) and compute's revenue (the bids of the runs that ran), token wei as decimal
// strings (mining may be negative: power cost more than it earned), and the switching decisions with reasons.
const SignedWei = z.string().regex(/^-?\d{1,78}$/, 'must be a decimal integer (token wei)');
export const RigInterval = z.object({
  /** Start of the interval (ms). */
  at: z.number(),
  /** Seconds of it the agent watched. */
  sec: z.number().int().nonnegative(),
  miningWei: SignedWei,
  computeWei: SignedWei,
  /** Seconds in which mining's worth was unknown (no rate, stale, no hashrate yet): not counted. */
  miningUnknownSec: z.number().int().nonnegative(),
});
export type RigInterval = z.infer<typeof RigInterval>;
export const RigDecision = z.object({ at: z.number(), gpu: z.number().int(), from: z.string().max(16), to: z.string().max(16), reason: z.string().max(500) });
export type RigDecision = z.infer<typeof RigDecision>;
export const RigEarnings = z.object({
  intervalSec: z.number().positive(),
  intervals: z.array(RigInterval),
  decisions: z.array(RigDecision),
  totals: z.object({ miningWei: SignedWei, computeWei: SignedWei, sec: z.number().int().nonnegative() }),
});
export type RigEarnings = z.infer<typeof RigEarnings>;

/** The device's rig service (devices.call / `sosna console mining earnings DEVICE`). */
export const deviceRigService = defineService('rig', {
  /** The last `limit` intervals and decisions (default 60). */
  earnings: {
    params: z.object({ limit: z.number().int().min(1).max(10_080).optional() }),
    result: RigEarnings,
  },
});
