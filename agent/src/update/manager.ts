// Agent updates, the running agent's side: answers the hub's offers (after checking the hub card, the
// release signature by the card's update key, and that the version is newer), downloads the bundle in
// chunks, checks size and sha256, writes it beside the old one atomically, switches the pointer atomically
// and asks for a restart; once a new bundle is connected it marks itself healthy. Outcomes are reported
// to the hub on every connection until it acknowledges them.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { compareVersions, deviceUpdateService, hubUpdatesService, SosnaError, UPDATE_CHUNK_BYTES, verifyHubCard, verifyRelease } from '@sosna/protocol';
import type { CallOptions, DeviceUpdateReport, Handlers, Logger, Params, Result } from '@sosna/protocol';
import type { StateStore } from '../state.js';
import { readUpdateState, updateStore } from './loader.js';
import { BUNDLES_DIR, bundleFileName, EMPTY_STATE, planHealthy, planSwitch, TRUST_FILE, UPDATE_STATE_FILE, UpdateTrust } from './state.js';

type HubUpdates = typeof hubUpdatesService;
export interface UpdateHub {
  connected(): boolean;
  call<K extends keyof HubUpdates['methods'] & string>(spec: HubUpdates, method: K, params: Params<HubUpdates, K>, opts?: CallOptions): Promise<Result<HubUpdates, K>>;
}

export interface UpdaterDeps {
  stateDir: string;
  /** The hub this device belongs to (from its credentials). */
  hubId: () => string;
  /** The version of the code running now. */
  running: string;
  /** config.hub.owner: the only owner whose card is trusted; without it the first verified owner is pinned. */
  pinnedOwner?: string;
  /** Largest RPC payload this agent accepts (chunks stay below it). */
  maxPayloadBytes: number;
  log: Logger;
  hub: UpdateHub;
  /** Stops the agent and ends the process so that the service manager starts it again (into the new bundle). */
  restart?: (reason: string) => void;
  now?: () => number;
}

export class Updater {
  private busy: string | null = null;
  private refused: { version: string; reason: string; at: number } | null = null;
  private readonly store: StateStore;
  private readonly now: () => number;

  constructor(private readonly d: UpdaterDeps) {
    this.store = updateStore(d.stateDir);
    this.now = d.now ?? Date.now;
  }

  /** The last offer refused since this agent started, with why (the dashboard's System page shows it). */
  get lastRefused(): { version: string; reason: string; at: number } | null {
    return this.refused;
  }

  private state() {
    return readUpdateState(this.store, this.d.log) ?? EMPTY_STATE;
  }

  handlers(): Handlers<typeof deviceUpdateService> {
    return {
      offer: ({ version }) => this.offer(version),
      status: () => {
        const s = this.state();
        return { running: this.d.running, busy: this.busy, current: s.current?.version ?? null, previous: s.previous?.version ?? null, trial: s.trial, failed: s.failed };
      },
    };
  }

  private async offer(version: string): Promise<{ accepted: boolean; reason?: string }> {
    const refuse = (reason: string) => {
      this.d.log.warn('update refused', { version, reason });
      this.refused = { version, reason, at: this.now() };
      return { accepted: false, reason };
    };
    if (!this.d.restart) return refuse('this agent runs without a way to restart itself (no service manager): update it by hand');
    // the hub offers again when the device reconnects: the same version is the work already under way
    if (this.busy === version) return { accepted: true };
    if (this.busy) return refuse(`busy with the update to ${this.busy}`);
    if (compareVersions(version, this.d.running) <= 0) return refuse(`${version} is not newer than the running ${this.d.running}`);
    const failed = this.state().failed.find((f) => f.version === version);
    if (failed) return refuse(`${version} was rolled back here before: ${failed.reason}`);
    const { card, manifest, healthDeadlineSec } = await this.d.hub.call(hubUpdatesService, 'release', { version }, { timeoutMs: 15_000 });
    if (manifest.version !== version) return refuse(`the hub sent the manifest of ${manifest.version} for ${version}`);
    const trust = this.store.read(TRUST_FILE, UpdateTrust);
    const owner = this.d.pinnedOwner ?? trust?.owner;
    const check = verifyHubCard(card, owner);
    if (!check.ok) return refuse(check.reason);
    if (card.hubId !== this.d.hubId()) return refuse(`the card is of hub ${card.hubId}, this device belongs to ${this.d.hubId()}`);
    if (!card.updateKey) return refuse(`hub ${card.hubId} announces no update key`);
    const sig = verifyRelease(manifest, card.updateKey);
    if (!sig.ok) return refuse(sig.reason);
    if (!owner) this.store.write(TRUST_FILE, { owner: card.owner }); // first verified owner: pinned from now on
    this.busy = version;
    void this.install(manifest, healthDeadlineSec).finally(() => {
      if (this.busy === version) this.busy = null;
    });
    this.d.log.info('update accepted', { version, size: manifest.size, sha256: manifest.sha256 });
    return { accepted: true };
  }

  private async report(version: string, state: DeviceUpdateReport, reason?: string): Promise<void> {
    await this.d.hub.call(hubUpdatesService, 'report', { version, state, running: this.d.running, ...(reason ? { reason } : {}) }, { timeoutMs: 10_000 });
  }

  private async install(manifest: { version: string; sha256: string; size: number }, healthDeadlineSec: number): Promise<void> {
    const { version, size } = manifest;
    const dir = this.store.path(BUNDLES_DIR);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const name = bundleFileName(version);
    const tmp = join(dir, `${name}.${process.pid}.tmp`);
    const log = this.d.log;
    try {
      await this.report(version, 'downloading').catch(() => {});
      const chunk = Math.max(1024, Math.min(UPDATE_CHUNK_BYTES, this.d.maxPayloadBytes - 4096));
      const hash = createHash('sha256');
      const fd = openSync(tmp, 'w', 0o644);
      const t0 = this.now();
      try {
        for (let offset = 0; offset < size; ) {
          const { data } = await this.d.hub.call(hubUpdatesService, 'fetch', { version, offset, length: Math.min(chunk, size - offset) }, { timeoutMs: 30_000 });
          if (data.byteLength === 0) throw new SosnaError('E_INVALID', `the hub sent an empty chunk at offset ${offset}`);
          if (offset + data.byteLength > size) throw new SosnaError('E_INVALID', `the hub sent more than the ${size} bytes the release says`);
          hash.update(data);
          writeSync(fd, data);
          offset += data.byteLength;
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      const got = hash.digest('hex');
      if (got !== manifest.sha256) throw new SosnaError('E_INVALID', `downloaded bundle has sha256 ${got}, the signed release says ${manifest.sha256}`);
      const file = join(dir, name);
      renameSync(tmp, file);
      const dfd = openSync(dir, 'r');
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
      // the pointer: one atomic write of the state file
      this.store.write(UPDATE_STATE_FILE, planSwitch(this.state(), { version, file: name, healthDeadlineSec }));
      log.info('update downloaded and switched; restarting into it', { version, bytes: size, ms: this.now() - t0 });
      await this.report(version, 'switched').catch((err: Error) => log.warn('could not report the switch', { error: err.message }));
      this.d.restart!(`update to ${version}`);
    } catch (err) {
      rmSync(tmp, { force: true });
      const reason = (err as Error).message;
      log.error('update failed', { version, reason });
      await this.report(version, 'failed', reason).catch(() => {});
    }
  }

  /** After each (re)connection and birth: a bundle on trial is healthy now; pending outcomes go to the hub. */
  async onConnected(): Promise<void> {
    const log = this.d.log;
    const s = this.state();
    const healthy = planHealthy(s, this.d.running, this.now());
    if (healthy) {
      this.store.write(UPDATE_STATE_FILE, healthy);
      log.info('update healthy', { version: this.d.running });
    }
    const outcome = (healthy ?? s).outcome;
    if (!outcome) return;
    try {
      await this.report(outcome.version, outcome.state, outcome.reason ?? undefined);
      const now = this.state();
      if (now.outcome?.at === outcome.at) this.store.write(UPDATE_STATE_FILE, { ...now, outcome: null });
    } catch (err) {
      log.warn('could not report the update outcome (again on the next connection)', { version: outcome.version, error: (err as Error).message });
    }
  }
}
