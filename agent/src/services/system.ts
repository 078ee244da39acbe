import { hostname, networkInterfaces } from 'node:os';
import { agentSystemService, SosnaError } from '@sosna/protocol';
import type { BasicInventory, Handlers } from '@sosna/protocol';
import { AGENT_VERSION } from '../version.js';
import { planIdentify, readLeds, startBlink } from '../identify.js';
import type { Blinking } from '../identify.js';
import { findExecutable, rebootCommand, runLater, systemdRuns } from '../reboot.js';

/** The machine's non-internal addresses, IPv4 first. */
export function localAddresses(): string[] {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []).filter((a) => !a.internal);
  return [...all.filter((a) => a.family === 'IPv4'), ...all.filter((a) => a.family !== 'IPv4')].map((a) => a.address).slice(0, 64);
}

export interface SystemDeps {
  deviceId: string;
  name: string;
  inventory: () => BasicInventory;
  /** config.system: the reboot command (argv) and where sysfs is. */
  system?: { rebootCommand?: string[]; rebootDisabled?: string; sysfsRoot: string };
  /** Ms between the answer and the reboot command (the answer must leave first). */
  rebootDelayMs?: number;
  log?: { info(msg: string, f?: Record<string, unknown>): void; warn(msg: string, f?: Record<string, unknown>): void; error(msg: string, f?: Record<string, unknown>): void };
}

export function systemHandlers(deps: SystemDeps): Handlers<typeof agentSystemService> & { stop(): void } {
  const system = deps.system ?? { sysfsRoot: '/sys' };
  let blinking: Blinking | null = null;
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
    reboot: () => {
      if (system.rebootDisabled) {
        deps.log?.warn('reboot refused: it is off in this device\'s config (system.rebootDisabled)', { reason: system.rebootDisabled });
        throw new SosnaError('E_UNAVAILABLE', system.rebootDisabled);
      }
      const argv = rebootCommand(system.rebootCommand, { systemd: systemdRuns() });
      if (!findExecutable(argv[0]!)) {
        throw new SosnaError('E_UNAVAILABLE', `reboot command ${JSON.stringify(argv[0])} not found${argv[0]!.includes('/') ? '' : ' on PATH'} (set system.rebootCommand in the device config)`);
      }
      const inMs = deps.rebootDelayMs ?? 500;
      deps.log?.warn('rebooting on the hub\'s request', { command: argv.join(' '), inMs });
      runLater(argv, inMs, (msg) => deps.log?.error('reboot command failed', { reason: msg }));
      return { command: argv, inMs };
    },
    identify: ({ seconds }) => {
      const where = `${system.sysfsRoot.replace(/\/$/, '')}/class/leds`;
      const plan = planIdentify(readLeds(system.sysfsRoot), where);
      const found = { name: deps.name, hostname: hostname(), addresses: localAddresses() };
      if (!plan.supported) return { supported: false, reason: plan.reason, led: null, seconds: 0, ...found };
      blinking?.stop(); // a second identify replaces the first (which restores its LED first)
      try {
        blinking = startBlink(plan, system.sysfsRoot, seconds, (msg) => deps.log?.warn('identify', { reason: msg }));
      } catch (err) {
        return { supported: false, reason: (err as Error).message, led: plan.led, seconds: 0, ...found };
      }
      deps.log?.info('identify: blinking', { led: plan.led, mode: plan.mode, seconds });
      return { supported: true, reason: null, led: plan.led, seconds, ...found };
    },
    stop: () => blinking?.stop(),
  };
}
