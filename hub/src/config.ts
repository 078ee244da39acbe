import { z } from 'zod';
import { EthAddress, Id, JobSpec } from '@sosna/protocol';
import { AlertsConfig } from './alerts/config.js';

/** MQTT's largest packet: remaining length 268435455 plus a fixed header of at most 5 bytes. */
const MQTT_MAX_PACKET = 268_435_455 + 5;
/** Room beside the payload in a PUBLISH: the topic (up to 64 KiB), packet id and fixed header. */
const PACKET_HEADROOM = 64 * 1024 + 16;

export const HubConfig = z
  .object({
    name: z.string().min(1).max(128).default('sosna hub'),
    /** Fixed at first start (default: hub- + the owner address' first 8 hex digits); topics carry it. */
    hubId: Id.optional(),
    dataDir: z.string().min(1).default('.sosna/hub'),
    mqtt: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        /** Plain MQTT; null: none (a hub that serves only TLS). */
        port: z.number().int().min(0).max(65535).nullable().default(1883),
        wsPort: z.number().int().min(0).max(65535).nullable().default(8083),
        maxPayloadBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
        // Limits on connections (hub/src/broker/limits.ts), so that nobody can fill the hub's memory unauthenticated:
        /** Largest packet (whole, fixed header included) accepted from a connection after it authenticated; default maxPayloadBytes + 64 KiB. */
        maxPacketBytes: z.number().int().min(1024, 'must be at least 1024 (bytes)').max(MQTT_MAX_PACKET, `must be at most ${MQTT_MAX_PACKET} (bytes, MQTT's limit)`).optional(),
        /** Largest packet before authentication: the CONNECT (client id, credentials, Will). */
        preAuthMaxPacketBytes: z.number().int().min(128, 'must be at least 128 (bytes)').max(1024 * 1024, 'must be at most 1048576 (bytes)').default(8 * 1024),
        /** A connection that has not authenticated (CONNECT answered) this long after it opened is closed. */
        connectTimeoutMs: z.number().int().min(100, 'must be at least 100 (ms)').max(600_000, 'must be at most 600000 (ms)').default(15_000),
        /** Connections not yet authenticated from one remote address; more are refused (closed at once). */
        maxPendingPerAddress: z.number().int().min(1, 'must be at least 1').max(100_000, 'must be at most 100000').default(32),
        /** Connections not yet authenticated from all addresses together. */
        maxPending: z.number().int().min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000').default(256),
      })
      .strict()
      .refine((m) => m.maxPacketBytes === undefined || m.maxPacketBytes >= m.maxPayloadBytes, {
        message: 'must be at least mqtt.maxPayloadBytes (a packet holds its payload)',
        path: ['maxPacketBytes'],
      })
      .transform((m) => ({ ...m, maxPacketBytes: m.maxPacketBytes ?? Math.min(m.maxPayloadBytes + PACKET_HEADROOM, MQTT_MAX_PACKET) }))
      .prefault({}),
    /**
     * MQTT over TLS (and WebSocket over TLS) from a certificate and key it is given, or from the hub's own CA
     * ({dataDir}/tls/, created on first start) that signs a server certificate for localhost, 127.0.0.1,
     * the host name, the listen address and `names`.
     */
    tls: z
      .object({
        enabled: z.boolean().default(false),
        port: z.number().int().min(0).max(65535).default(8883),
        /** WSS listener; null for none. */
        wsPort: z.number().int().min(0).max(65535).nullable().default(8084),
        /** A certificate (chain, PEM) and its key, e.g. from a public CA; without them the hub's own CA signs one. */
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        /** The CA of the given certificate, when devices need it (a private CA); also verifies client certificates. */
        caFile: z.string().min(1).optional(),
        /** More host names or addresses for the own CA's server certificate. */
        names: z.array(z.string().regex(/^[A-Za-z0-9.:*-]{1,253}$/, 'must be a host name or an IP address')).max(64).default([]),
        /** Mutual TLS: every client presents a certificate signed by the hub's CA (or caFile). */
        requireClientCert: z.boolean().default(false),
      })
      .strict()
      .refine((t) => !t.certFile === !t.keyFile, { message: 'tls.certFile and tls.keyFile go together: give both or neither (then the hub uses its own CA)', path: ['keyFile'] })
      .refine((t) => !t.requireClientCert || !t.certFile || t.caFile, { message: 'tls.requireClientCert with a given certificate needs tls.caFile (the CA that signs client certificates)', path: ['caFile'] })
      .prefault({}),
    /**
     * Prometheus' /metrics (hub/src/metrics/) on its own HTTP listener: loopback and any free port by default
     * (runtime.json and the ready line say which); give a fixed port for Prometheus, null for none.
     */
    metrics: z
      .object({
        host: z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, 'must be a host name or an IP address (127.0.0.1: this machine only; 0.0.0.0: every interface)').default('127.0.0.1'),
        port: z.number({ error: 'must be a port number 0-65535 (0: any free port), or null for no metrics listener' }).int('must be a whole port number 0-65535').min(0, 'must be a port number 0-65535').max(65535, 'must be a port number 0-65535').nullable().default(0),
      })
      .strict()
      .prefault({}),
    /**
     * The hub's login and topic rules over HTTP for an external broker cluster (EMQX 5's HTTP authn/authz
     * format, hub/src/broker/http-auth.ts): off (port null) by default; loopback unless told otherwise.
     * Every request must carry `Authorization: Bearer <token>`.
     */
    authHttp: z
      .object({
        host: z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, 'must be a host name or an IP address (127.0.0.1: this machine only; 0.0.0.0: every interface)').default('127.0.0.1'),
        port: z.number({ error: 'must be a port number 0-65535 (0: any free port), or null for no auth endpoint' }).int('must be a whole port number 0-65535').min(0, 'must be a port number 0-65535').max(65535, 'must be a port number 0-65535').nullable().default(null),
        /** The shared secret the broker sends (EMQX: headers {"Authorization": "Bearer <token>"}). */
        token: z.string({ error: 'must be a string (the shared secret, at least 24 characters)' }).min(24, 'must be at least 24 characters (a random secret, e.g. openssl rand -hex 24)').max(1024, 'must be at most 1024 characters').regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it travels in an HTTP header)').optional(),
      })
      .strict()
      .refine((a) => a.port === null || a.token !== undefined, { message: 'the auth endpoint (authHttp.port) needs authHttp.token: the shared secret every request presents as Authorization: Bearer <token> (--auth-http-token-file)', path: ['token'] })
      .prefault({}),
    /**
     * An external broker (issue 13; Mosquitto 2.0 with its dynamic-security plugin): the hub logs in there as
     * a privileged client and pushes device logins and ACLs, and opens no MQTT listeners of its own.
     * Omitted: the embedded broker (default).
     */
    broker: z
      .object({
        url: z.string().regex(/^mqtts?:\/\/[^/\s]+\/?$/, 'must be mqtt://host:port or mqtts://host:port'),
        username: z.string().min(1, 'must be the hub\'s login on the broker (mosquitto_ctrl dynsec init FILE USER)'),
        password: z.string().min(1).optional(),
        /** A file holding the password (first line), instead of password. */
        passwordFile: z.string().min(1).optional(),
        /** CA (PEM file) of the broker's certificate for mqtts:// with a private CA. */
        ca: z.string().min(1).optional(),
      })
      .strict()
      .refine((b) => Boolean(b.password) !== Boolean(b.passwordFile), { message: 'give broker.password or broker.passwordFile (one of them)', path: ['password'] })
      .optional(),
    /** Endpoints announced to devices; default from the listeners. */
    publicUrls: z.array(z.string().min(1)).default([]),
    /**
     * What this hub pays devices, on its signed card: device class (`cpu`, `gpu`, `asic`) -> token wei per
     * second of running a job, as a decimal string. Agents prefer, among acceptable hubs, the one that pays more.
     */
    prices: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a device class such as cpu, gpu or asic'), z.string().regex(/^\d{1,78}$/, 'must be a non-negative decimal integer (token wei per second)')).default({}),
    devices: z
      .object({
        telemetryFlushMs: z.number().int().min(10).max(60_000).default(1000),
        callTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      })
      .strict()
      .prefault({}),
    /** The chain the hub pays on: its own embedded development chain by default, an RPC URL, or none. */
    chain: z
      .object({
        mode: z.enum(['embedded', 'rpc', 'off']).default('embedded'),
        rpcUrl: z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL').optional(),
        /** Contract addresses (and the hub's wallet) for rpc mode: {chainId, token, dao, whitelist, factory, wallet}. */
        contractsFile: z.string().min(1).optional(),
        /** How often owed earnings are paid out (one batch transaction per round). */
        payoutIntervalSec: z.number().int().min(5).max(7 * 86_400).default(600),
      })
      .strict()
      .refine((c) => c.mode !== 'rpc' || (c.rpcUrl && c.contractsFile), { message: 'rpc mode needs rpcUrl and contractsFile', path: ['rpcUrl'] })
      .prefault({}),
    jobs: z
      .object({
        /** A device renews the lease of each run it holds; a lapsed lease makes the run `lost`. */
        leaseSec: z.number().int().min(2).max(3600).default(30),
        /** A device offline this long loses its runs (they are requeued elsewhere). */
        offlineGraceSec: z.number().min(1).max(86_400).default(60),
        /** Lost runs a job survives before it fails. */
        maxRetries: z.number().int().min(0).max(100).default(3),
        /** Output kept per run; beyond it output is dropped (and said so). */
        maxLogBytesPerRun: z.number().int().min(1024).max(1024 * 1024 * 1024).default(1024 * 1024),
        tickMs: z.number().int().min(50).max(60_000).default(1000),
        /** Adaptive verification and stakes (README "Verification and stakes"; hub/src/jobs/trust.ts), on by default. Off: replication is what the buyer asks and newcomers get no share. */
        trust: z
          .object({
            enabled: z.boolean().default(true),
            /** Lowest replication chance of a device with a clean record. */
            floor: z.number().min(0.001).max(1).default(0.05),
            /** Verified results that count as one step of streak: chance = 1 / (1 + streak / streakScale) down to the floor. */
            streakScale: z.number().min(1).max(1000).default(4),
            /** Chance that a dispatched buyer run brings a ringer (a job with a known answer) for the same device. */
            ringerRate: z.number().min(0).max(1).default(0.05),
            /** Verified results after which a device is no longer a newcomer (ranked first). */
            newcomerResults: z.number().int().min(0).max(100_000).default(10),
            /** Part of the stake a proven wrong result costs (basis points). */
            slashBps: z.number().int().min(1).max(10_000).default(1000),
            /** Least stake (wei, decimal); each whole multiple is one boost step. */
            minStake: z.string().regex(/^[1-9][0-9]{0,77}$/, 'must be a positive whole number of wei (decimal digits)').default('100000000000000000000'),
            maxStakeBoost: z.number().int().min(0).max(10).default(3),
            /** Verified results a device needs before its owner's stake lowers its replication. */
            stakeAfterResults: z.number().int().min(0).max(100_000).default(20),
            /** Proven wrong results after which an owner with more than one per 10 verified is quarantined. */
            quarantineFailures: z.number().int().min(1).max(1000).default(3),
            /** Jobs whose answers the hub knows: {spec, digest: "sha256:<64 hex>"}. */
            ringers: z.array(z.object({ spec: JobSpec, digest: z.string().optional() }).strict()).max(10_000).default([]),
            /** The Stake contract (contracts/solidity/Stake.sol) on the hub's chain; the embedded chain deploys its own. With neither, stakes are none. */
            stakeContract: EthAddress.optional(),
          })
          .strict()
          .prefault({}),
        /**
         * The hub as a fallback seed of job inputs (`jobs submit --input DIR --hub-seed`): it fetches the input
         * from the buyer and seeds it until the job ends (hub/src/jobs/input-seeds.ts). Off by default.
         */
        inputSeed: z
          .object({
            enabled: z.boolean().default(false),
            /** Bytes of job inputs the hub holds at once (under DATA_DIR/input-seeds); a job over it is refused at submit. */
            maxBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(10 * 1024 ** 3),
            /** The address devices reach the hub's seeds at. */
            host: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'must be a host name or an IPv4 address that devices reach this hub at').default('127.0.0.1'),
            /** TCP port the seeds listen on; 0: a free one per input. */
            port: z.number().int().min(0).max(65_535).default(0),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** scrypt cost (N) for new operator passwords and the dummy an unknown operator is checked against; stored hashes keep their own. */
    scryptN: z.number().int().min(1024).max(1_048_576).default(16_384),
    /** Alert rules and the webhooks they notify (hub/src/alerts/config.ts). */
    alerts: AlertsConfig.prefault({}),
    log: z.object({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info'), json: z.boolean().default(false) }).strict().prefault({}),
  })
  .strict()
  .refine((c) => c.mqtt.port !== null || c.tls.enabled || c.broker !== undefined, { message: 'the plain MQTT listener is off (mqtt.port null) and TLS is not on: the hub would serve nothing; enable tls or set mqtt.port', path: ['mqtt', 'port'] });
export type HubConfig = z.infer<typeof HubConfig>;
export type HubConfigInput = z.input<typeof HubConfig>;
