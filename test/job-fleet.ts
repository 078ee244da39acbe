// A fleet for end-to-end job tests with real processes: a private Docker Engine, a hub started from the CLI
// with the given config, and agents run from the single-file bundle, each registered by a provisioning key of
// its owner's fleet. Tests that need a device to come and go start, stop and restart agents by number.
import { expect } from 'vitest';
import { join } from 'node:path';
import { CLI, cli, freePort, installBundle, requireBuild, start, writeJson } from './procs.js';
import type { Proc } from './procs.js';
import { tempDir, waitFor } from './helpers.js';
import { startPrivateDocker } from './docker.js';
import type { PrivateDocker } from './docker.js';

export interface FleetDevice { id: string; name: string; online: boolean; inventory: { jobs?: { engine: unknown } } | null }

export class JobFleet {
  readonly tmp: { dir: string; cleanup(): void };
  readonly hubDir: string;
  engine!: PrivateDocker;
  hub!: Proc;
  port = 0;
  /** The agent processes by number (`rig-N`). */
  readonly agents: Proc[] = [];
  private bundle = '';
  private readonly configs: string[] = [];

  private constructor(prefix: string) {
    this.tmp = tempDir(prefix);
    this.hubDir = join(this.tmp.dir, 'hub');
  }

  /** Starts the engine and the hub (`hubConfig` as its --config file) and installs the agent bundle. */
  static async start(prefix: string, hubConfig: object): Promise<JobFleet> {
    requireBuild();
    const f = new JobFleet(prefix);
    f.engine = await startPrivateDocker();
    f.port = await freePort();
    f.bundle = installBundle(join(f.tmp.dir, 'device-bin'));
    const config = writeJson(join(f.tmp.dir, 'hub.json'), hubConfig);
    f.hub = start([CLI, 'hub', '--data-dir', f.hubDir, '--port', String(f.port), '--ws-port', 'off', '--host', '127.0.0.1', '--config', config]);
    await f.hub.waitFor(/hub \S+ ready/);
    return f;
  }

  /** The hub owner's console profile, as the environment of a CLI call. */
  profile(): Record<string, string> {
    return { SOSNA_PROFILE: join(this.hubDir, 'console.json') };
  }

  console(args: string[], timeoutMs = 30_000) {
    return cli(['console', ...args], { env: this.profile(), timeoutMs });
  }

  async devices(): Promise<FleetDevice[]> {
    return JSON.parse((await this.console(['devices', '--json'])).stdout) as FleetDevice[];
  }

  /** A job as `jobs show --json` prints it. */
  async job<J extends { state: string }>(jobId: string): Promise<J> {
    return JSON.parse((await this.console(['jobs', 'show', jobId, '--json'])).stdout) as J;
  }

  /** Waits until the job has ended (succeeded, failed or cancelled) and returns it. */
  finished<J extends { state: string }>(jobId: string, timeoutMs = 240_000): Promise<J> {
    return waitFor(`job ${jobId} ends`, async () => {
      const j = await this.job<J>(jobId);
      return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : null;
    }, timeoutMs, 1000);
  }

  /** Where agent `i` keeps its state. */
  stateDir(i: number): string {
    return join(this.tmp.dir, `agent${i}`, 'state');
  }

  /**
   * Starts agent `i` (`rig-i`, registered the first time with a key of `owner`'s fleet) and waits until it
   * is online with a container engine; its device id.
   */
  async startAgent(i: number, owner: string): Promise<string> {
    if (!this.configs[i]) {
      const key = await cli(['hub', 'keys', 'create', '--fleet', owner, '--max', '1', '--data-dir', this.hubDir]);
      expect(key.code, key.output).toBe(0);
      this.configs[i] = writeJson(join(this.tmp.dir, `agent${i}`, 'config.json'), {
        hub: { url: `mqtt://127.0.0.1:${this.port}` },
        provisioningKey: key.stdout.trim(),
        name: `rig-${i}`,
        stateDir: this.stateDir(i),
        telemetry: { intervalSec: 2 },
        jobs: { dockerHost: this.engine.host, askPerSec: '0', publicHost: '127.0.0.1', bindAddress: '127.0.0.1', maxJobs: 2 },
      });
    }
    this.agents[i] = start([this.bundle, '--config', this.configs[i]!], { cwd: join(this.tmp.dir, 'device-bin') });
    const d = await waitFor(`rig-${i} online with a container engine`, async () => (await this.devices()).find((x) => x.name === `rig-${i}` && x.online && x.inventory?.jobs?.engine) ?? null, 90_000, 500);
    return d.id;
  }

  /** Kills the given agents and waits until the hub shows their devices offline. */
  async stopAgents(which: number[], ids: string[]): Promise<void> {
    for (const i of which) await this.agents[i]!.stop('SIGKILL');
    await waitFor(`devices ${ids.join(', ')} offline`, async () => (await this.devices()).filter((x) => ids.includes(x.id) && !x.online).length === ids.length || null, 60_000, 500);
  }

  async stop(): Promise<void> {
    for (const p of this.agents) await p?.stop('SIGKILL');
    await this.hub?.stop();
    await this.engine?.stop();
    this.tmp.cleanup();
  }
}
