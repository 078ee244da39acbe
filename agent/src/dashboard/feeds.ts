// What feeds the dashboard's Jobs and Earnings pages, built from the agent's parts (app.ts wires it):
// the job manager's events into a JobsFeed, earnings.mine over the hub link, claimable from the chain.
import type { DeviceConfig, DeviceEarnings, Logger } from '@sosna/protocol';
import type { StateStore } from '../state.js';
import { claimableAt } from '../trust/check.js';
import { jsonRpcReader } from '../trust/rpc.js';
import { createEarningsSource } from './earnings.js';
import { JobsFeed } from './jobs-feed.js';
import type { DashboardSources } from './sources.js';

export interface DashboardFeeds {
  jobs: JobsFeed;
  sources: DashboardSources;
}

export function dashboardFeeds(d: {
  config: DeviceConfig;
  state: StateStore;
  log: Logger;
  hubId: () => string;
  connected: () => boolean;
  mine: () => Promise<DeviceEarnings>;
}): DashboardFeeds {
  const jobs = new JobsFeed();
  const { rpcUrl, whitelist } = d.config.chain;
  const reader = rpcUrl && whitelist ? jsonRpcReader(rpcUrl) : null;
  const earnings = createEarningsSource({
    hubId: d.hubId, owner: d.config.owner ?? null, connected: d.connected, mine: d.mine, state: d.state, log: d.log,
    claimable: reader && whitelist ? (wallet, owner) => claimableAt(reader, whitelist, wallet, owner) : null,
  });
  return { jobs, sources: { jobs: () => jobs.list(), earnings } };
}
