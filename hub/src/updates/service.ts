// Agent updates over the air, the hub's side: the update key, releases (uploaded by an admin, signed, kept
// under {dataDir}/updates), staged rollouts (a tag, a fleet, a stable percentage or one device) recorded per
// device in the store, offers to online targets (and to offline ones when they come back), the bundle in
// chunks to devices that accepted, and what devices report (downloading ... healthy or rolled back).
// The device is the judge: it checks the release against the update key in the owner-signed hub card.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import {
  deviceUpdateService, hubUpdatesService, recoverSigner, releaseMessage, RolloutState, signRelease, SosnaError, toSosnaError, updatesService,
  compareVersions, MAX_BUNDLE_BYTES,
} from '@sosna/protocol';
import type { DeviceUpdateReport, HubCard, Logger, RolloutRow, RolloutTarget, RpcEndpoint } from '@sosna/protocol';
import type { HubEventBus } from '../events.js';
import type { DeviceStore } from '../fleet/store.js';
import type { ReleaseRow, UpdateStore } from './store.js';
import { loadOrCreateKeyFile } from '../identity.js';
import type { DeviceLinks } from '../fleet/device-links.js';
import type { Registry } from '../fleet/registry.js';
import { requireRole } from '../auth/roles.js';
import type { OperatorMeta } from '../auth/roles.js';

export const UPDATE_KEY_FILE = 'update.key';
export const DEFAULT_HEALTH_DEADLINE_SEC = 120;

/** The hub's update key, {dataDir}/update.key (mode 0600), created on first start; separate from the owner key. */
export function loadOrCreateUpdateKey(dataDir: string, log: Logger): Wallet {
  return loadOrCreateKeyFile(dataDir, UPDATE_KEY_FILE, 'update key', log);
}

// ---- the per-device rollout state machine (pure) ----

export type RolloutEvent = 'offered' | 'reset' | DeviceUpdateReport;

const REPORTS_BEFORE_SWITCH: Partial<Record<RolloutEvent, RolloutState>> = {
  offered: 'offered', downloading: 'downloading', refused: 'refused', failed: 'failed', switched: 'switched', healthy: 'healthy', 'rolled-back': 'rolled-back',
};
/** from -> event -> to; a pair that is not here is ignored (a late or repeated report). */
export const ROLLOUT_TRANSITIONS: Record<RolloutState, Partial<Record<RolloutEvent, RolloutState>>> = {
  pending: REPORTS_BEFORE_SWITCH,
  offered: REPORTS_BEFORE_SWITCH,
  downloading: REPORTS_BEFORE_SWITCH,
  switched: { healthy: 'healthy', 'rolled-back': 'rolled-back' },
  healthy: {},
  'rolled-back': {},
  // a device's later progress outranks an earlier answer (an offer refused while it was busy with this very
  // version, from an agent that predates answering such an offer with "accepted")
  refused: { reset: 'pending', downloading: 'downloading', switched: 'switched', healthy: 'healthy', 'rolled-back': 'rolled-back' },
  failed: { reset: 'pending' },
};

export function nextRolloutState(from: RolloutState, event: RolloutEvent): RolloutState | null {
  return ROLLOUT_TRANSITIONS[from][event] ?? null;
}

/** States in which the hub (re)offers the release when the device is online. */
export const OFFERABLE: RolloutState[] = ['pending', 'offered', 'downloading'];

/** A stable number in [0, 100) per release and device: raising the percentage only ever adds devices. */
export function rolloutBucket(version: string, deviceId: string): number {
  const h = createHash('sha256').update(`${version}\n${deviceId}`).digest();
  return (h.readUInt32BE(0) / 2 ** 32) * 100;
}

/** The devices a target names, from the candidates (already filtered by tag/fleet in the store). */
export function pickTargets(candidates: { id: string }[], target: RolloutTarget, version: string): string[] {
  let ids = candidates.map((d) => d.id);
  if (target.deviceId !== undefined) ids = ids.filter((id) => id === target.deviceId);
  if (target.percent !== undefined) ids = ids.filter((id) => rolloutBucket(version, id) < target.percent!);
  return ids.sort();
}

// ---- the service ----

export interface Updates {
  consoleServices(endpoint: RpcEndpoint<OperatorMeta>): void;
  /** Offers the newest open release to a device (it just came online); resolves when the device answered. */
  offerTo(deviceId: string): Promise<void>;
  stop(): void;
}

export function startUpdates(deps: {
  dataDir: string; store: Pick<DeviceStore, 'getDevice' | 'listDevices'> & { readonly updates: UpdateStore }; links: DeviceLinks; registry: Registry; events: HubEventBus; log: Logger;
  updateKey: Wallet;
  /** The hub card as announced (it carries the update key's address, signed by the owner). */
  card: () => HubCard | null;
  deviceEndpoint: RpcEndpoint<{ deviceId: string }>;
  offerTimeoutMs?: number;
}): Updates {
  const { store, log } = deps;
  const dir = join(deps.dataDir, 'updates');
  const uploads = join(dir, 'uploads');
  mkdirSync(uploads, { recursive: true, mode: 0o700 });
  const updateKey = deps.updateKey.address;
  const uploadFile = (version: string) => join(uploads, `${version}.part`);
  let stopped = false;

  const transition = (version: string, deviceId: string, event: RolloutEvent, reason: string | null): RolloutState | null => {
    const row = store.updates.getRollout(version, deviceId);
    if (!row) return null;
    const to = nextRolloutState(row.state, event);
    if (!to) {
      log.debug('rollout event ignored', { version, deviceId, state: row.state, event });
      return row.state;
    }
    store.updates.setRollout(version, deviceId, to, reason, Date.now());
    if (to !== row.state) log.info('rollout', { version, deviceId, from: row.state, to, ...(reason ? { reason } : {}) });
    return to;
  };

  const offer = async (deviceId: string, version: string): Promise<void> => {
    transition(version, deviceId, 'offered', null);
    try {
      const [answer] = await deps.links.call(deviceId, deviceUpdateService.name, 'offer', { version }, { timeoutMs: deps.offerTimeoutMs ?? 30_000 });
      const r = deviceUpdateService.methods.offer.result.safeParse(answer);
      if (!r.success) transition(version, deviceId, 'failed', 'the device answered the offer with something unexpected');
      else if (!r.data.accepted) transition(version, deviceId, 'refused', r.data.reason ?? 'refused without a reason');
    } catch (err) {
      const e = toSosnaError(err);
      // offline, timed out, or the connection dropped: offered again when the device comes back
      if (e.code === 'E_UNAVAILABLE' || e.code === 'E_TIMEOUT' || e.code === 'E_CANCELLED') return log.info('offer not answered', { deviceId, version, reason: e.message });
      transition(version, deviceId, 'failed', `offer failed: ${e.message}`);
    }
  };

  const offerTo = async (deviceId: string) => {
    if (stopped) return;
    const open = store.updates.rolloutsOf(deviceId, OFFERABLE);
    const newest = open.filter((r) => store.updates.getRelease(r.version)).sort((a, b) => compareVersions(b.version, a.version))[0];
    if (newest) await offer(deviceId, newest.version);
  };
  const onOnline = (deviceId: string) => void offerTo(deviceId).catch((err: Error) => log.warn('offer failed', { deviceId, error: err.message }));
  deps.events.on('online', onOnline);

  const release = (version: string): ReleaseRow => {
    const r = store.updates.getRelease(version);
    if (!r) throw new SosnaError('E_NOT_FOUND', `no published release ${version}`);
    return r;
  };

  deps.deviceEndpoint.add(hubUpdatesService, {
    release: ({ version }) => {
      const r = release(version);
      const card = deps.card();
      if (!card?.updateKey) throw new SosnaError('E_UNAVAILABLE', 'the hub has not announced its update key yet');
      return { card, manifest: { version: r.version, sha256: r.sha256, size: r.size, signature: r.signature }, healthDeadlineSec: r.healthDeadlineSec };
    },
    fetch: ({ version, offset, length }) => {
      const r = release(version);
      if (offset >= r.size) throw new SosnaError('E_INVALID', `offset ${offset} is past the end of release ${version} (${r.size} bytes)`);
      const n = Math.min(length, r.size - offset);
      const data = Buffer.alloc(n);
      const fd = openSync(join(deps.dataDir, r.file), 'r');
      try {
        readSync(fd, data, 0, n, offset);
      } finally {
        closeSync(fd);
      }
      return { data };
    },
    report: ({ version, state, reason, running }, ctx) => {
      const deviceId = ctx.meta.deviceId;
      if (!store.updates.getRollout(version, deviceId)) {
        // offered some other way (an operator's direct call): record it from now on
        if (!store.updates.getRelease(version)) return { state: null };
        store.updates.addTargets(version, [deviceId], Date.now());
      }
      log.debug('update report', { deviceId, version, state, running });
      return { state: transition(version, deviceId, state, reason ?? null) };
    },
  });

  const consoleServices = (endpoint: RpcEndpoint<OperatorMeta>) => {
    endpoint.add(updatesService, {
      upload: ({ version, offset, data }, ctx) => {
        requireRole(ctx.meta, 'admin', 'uploading an agent bundle');
        const file = uploadFile(version);
        const have = offset === 0 ? 0 : existsSync(file) ? statSync(file).size : 0;
        if (offset !== have) throw new SosnaError('E_CONFLICT', `upload of ${version}: expected offset ${have}, got ${offset} (start again at 0)`);
        if (offset + data.byteLength > MAX_BUNDLE_BYTES) throw new SosnaError('E_TOO_LARGE', `upload of ${version} exceeds ${MAX_BUNDLE_BYTES} bytes`);
        const fd = openSync(file, offset === 0 ? 'w' : 'a', 0o600);
        try {
          writeSync(fd, data);
        } finally {
          closeSync(fd);
        }
        return { received: offset + data.byteLength };
      },
      publish: async ({ version, sha256, size, target, signature, healthDeadlineSec }, ctx) => {
        requireRole(ctx.meta, 'admin', 'publishing an agent update');
        let rel = store.updates.getRelease(version);
        if (rel && (rel.sha256 !== sha256 || rel.size !== size)) {
          throw new SosnaError('E_CONFLICT', `release ${version} is already published with another bundle (sha256 ${rel.sha256}); use a new version`);
        }
        if (!rel) {
          const part = uploadFile(version);
          if (!existsSync(part)) throw new SosnaError('E_NOT_FOUND', `no upload for ${version}: upload the bundle first`);
          const bytes = readFileSync(part);
          const got = createHash('sha256').update(bytes).digest('hex');
          if (bytes.length !== size || got !== sha256) {
            throw new SosnaError('E_INVALID', `upload of ${version} is ${bytes.length} bytes with sha256 ${got}; publish said ${size} bytes, ${sha256}`);
          }
          let manifestSig: string;
          let signer: string;
          if (signature) {
            // made offline: recorded as given; devices check it against the update key and refuse a wrong one
            try {
              signer = recoverSigner(releaseMessage({ version, sha256, size }), signature);
            } catch (err) {
              throw new SosnaError('E_INVALID', `signature: ${(err as Error).message}`);
            }
            if (signer.toLowerCase() !== updateKey.toLowerCase()) log.warn('release signed by another key than the update key; devices will refuse it', { version, signer, updateKey });
            manifestSig = signature;
          } else {
            manifestSig = (await signRelease({ version, sha256, size }, deps.updateKey)).signature;
            signer = updateKey;
          }
          const file = join('updates', `sosna-agent-${version}.mjs`);
          renameSync(part, join(deps.dataDir, file));
          rel = { version, sha256, size, signature: manifestSig, signer, file, healthDeadlineSec: healthDeadlineSec ?? DEFAULT_HEALTH_DEADLINE_SEC, createdAt: Date.now() };
          store.updates.putRelease(rel);
          log.info('release published', { version, size, sha256, signer, by: ctx.meta.operator });
        }
        if (target.deviceId !== undefined && !store.getDevice(target.deviceId)) throw new SosnaError('E_NOT_FOUND', `no device ${target.deviceId}`);
        const candidates = store.listDevices({ tag: target.tag, fleet: target.fleet });
        const targeted = pickTargets(candidates, target, version);
        const now = Date.now();
        const added = store.updates.addTargets(version, targeted, now);
        for (const id of targeted) transition(version, id, 'reset', null); // a failed or refused one tries again
        const online = targeted.filter((id) => deps.registry.isOnline(id));
        for (const id of online) void offer(id, version);
        log.info('rollout', { version, target, targeted: targeted.length, added, offered: online.length });
        return { release: summary(rel), targeted, added, offered: online.length };
      },
      status: ({ version }) => {
        deps.registry.flush();
        const devices: RolloutRow[] = store.updates.listRollouts(version).map((r) => {
          const d = store.getDevice(r.deviceId);
          return {
            version: r.version, deviceId: r.deviceId, name: d?.name ?? null, online: deps.registry.isOnline(r.deviceId), agentVersion: d?.agentVersion ?? null,
            state: RolloutState.parse(r.state), reason: r.reason, updatedAt: r.updatedAt,
          };
        });
        const releases = store.updates.listReleases().filter((r) => version === undefined || r.version === version).map(summary);
        return { releases, devices, updateKey };
      },
    });
  };

  return {
    consoleServices,
    offerTo,
    stop() {
      stopped = true;
      deps.events.off('online', onOnline);
    },
  };
}

function summary(r: ReleaseRow) {
  return { version: r.version, sha256: r.sha256, size: r.size, signer: r.signer, createdAt: r.createdAt, healthDeadlineSec: r.healthDeadlineSec };
}
