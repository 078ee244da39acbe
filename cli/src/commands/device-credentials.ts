// `sosna console devices issue NAME --out FILE` and `devices revoke DEVICE` (admin): one device's own login,
// issued or revoked by the running hub, which keeps an external broker (--broker) in step. The written file
// is the agent's credentials.json (for `sosna image configure --credentials`), mode 0600.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { credentialsService } from '@sosna/protocol';
import { loadProfileFrom } from '../profile.js';
import { connOptions } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerDeviceCredentials(devicesCmd: Command, session: ConsoleSession): void {
  connOptions(devicesCmd.command('issue <name>').description("issue a new device's own login on the running hub (pushed to an external broker) and write its credentials.json"))
    .requiredOption('--out <file>', 'where to write the credentials (0600; for sosna image configure --credentials)')
    .option('--fleet <fleet>', 'the fleet the device belongs to')
    .option('--tag <tag>', 'a tag (repeatable)', collect)
    .option('--device-url <url>', "the hub URL the device connects to (default: the external broker's, else the one this console reached the hub at)")
    .action(async (name: string, o: ConnFlags & { out: string; fleet?: string; tag?: string[]; deviceUrl?: string }) => {
      const r = await session.withConsole(o, (c) => c.call(credentialsService, 'issue', { name, ...(o.fleet ? { fleet: o.fleet } : {}), tags: o.tag ?? [] }));
      // the external broker's URL, else the one this console reached the hub at (--device-url when devices reach it elsewhere)
      const url = o.deviceUrl ?? r.brokerUrl ?? loadProfileFrom(o).profile.url;
      writeFileSync(o.out, `${JSON.stringify({ hubId: r.hubId, deviceId: r.deviceId, username: r.username, password: r.password, url, provisionedAt: Date.now() }, null, 2)}\n`, { mode: 0o600 });
      process.stdout.write(`issued ${r.deviceId} (${name}); credentials in ${o.out} (keep it secret: it is the device's password)\n`);
    });
  connOptions(devicesCmd.command('revoke <device>').description("revoke a device's login: refused from now on, disconnected (admin)"))
    .option('--json', 'machine-readable output')
    .action(async (deviceId: string, o: ConnFlags & { json?: boolean }) => {
      const r = await session.withConsole(o, (c) => c.call(credentialsService, 'revoke', { deviceId }));
      if (o.json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
      process.stdout.write(r.pending
        ? `${r.deviceId} revoked on the hub; the external broker is not reachable now: the hub deletes the login there as soon as it is back (kept across hub restarts)\n`
        : `${r.deviceId} revoked: its login is refused and its connection closed\n`);
    });
}
