import { systemService } from '@sosna/protocol';
import type { BasicInventory, Handlers } from '@sosna/protocol';
import { AGENT_VERSION } from '../version.js';

export function systemHandlers(deps: { deviceId: string; name: string; inventory: () => BasicInventory }): Handlers<typeof systemService> {
  return {
    info: () => ({
      deviceId: deps.deviceId,
      name: deps.name,
      agentVersion: AGENT_VERSION,
      uptimeSec: Math.round(process.uptime()),
      node: process.version,
      inventory: deps.inventory(),
    }),
    ping: ({ echo }) => ({ echo, at: Date.now() }),
  };
}
