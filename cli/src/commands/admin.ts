// `sosna console keys ...` and `sosna console operators ...`: provisioning keys and operator accounts
// through the hub's console (admin role), the remote counterpart of `sosna hub keys|operators`.
import type { Command } from 'commander';
import { keysService, operatorsService, OperatorRole } from '@sosna/protocol';
import type { KeySummary } from '@sosna/protocol';
import { writeProfile } from '../profile.js';
import { ago, table } from '../table.js';
import { connOptions } from './console-session.js';
import type { ConnFlags, ConsoleSession } from './console-session.js';

/** `--role` / a role argument, checked with the protocol's schema. */
export function parseRole(flag: string, text: string): OperatorRole {
  const r = OperatorRole.safeParse(text);
  if (!r.success) throw new Error(`${flag} ${JSON.stringify(text)}: use viewer, operator, admin or buyer`);
  return r.data;
}

/** `--address`: an on-chain account, 0x and 40 hex digits (a buyer's is required). */
export function parseAddress(flag: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!/^0x[0-9a-fA-F]{40}$/.test(text)) throw new Error(`${flag} ${JSON.stringify(text)}: must be a 0x-prefixed 20-byte hex address (0x and 40 hex digits)`);
  return text;
}

/** `--max`: a positive whole number of devices. */
export function parseMax(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--max ${JSON.stringify(text)}: must be a positive whole number`);
  return n;
}

export function keyRows(keys: KeySummary[], now = Date.now()): string[][] {
  return keys.map((k) => [k.keyId, k.fleet, `${k.uses}/${k.max ?? '∞'}`, k.expiresAt ? new Date(k.expiresAt).toISOString() : 'never', k.status, ago(k.createdAt, now)]);
}

const json = (value: unknown) => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

export function registerAdmin(consoleCmd: Command, session: ConsoleSession): void {
  const keys = consoleCmd.command('keys').description('fleet provisioning keys (admin)');
  connOptions(keys.command('create').description('create a key that devices of a fleet use on first boot; the key is shown only now'))
    .requiredOption('--fleet <name>', 'fleet the devices join')
    .option('--max <n>', 'how many devices may use it')
    .option('--expires <when>', 'expiry: 7d, 12h, 30m or an ISO date')
    .option('--json', 'machine-readable output')
    .action(async (o: ConnFlags & { fleet: string; max?: string; expires?: string; json?: boolean }) => {
      const max = parseMax(o.max);
      const r = await session.withConsole(o, (c) => c.call(keysService, 'create', { fleet: o.fleet, max, expires: o.expires }));
      if (o.json) return json(r);
      process.stdout.write(`${r.key}\n`);
      process.stderr.write(
        `provisioning key ${r.keyId} for fleet ${r.fleet}${r.max ? `, ${r.max} device(s)` : ''}${r.expiresAt ? `, expires ${new Date(r.expiresAt).toISOString()}` : ''}.\n` +
          'Put it in the device config as "provisioningKey"; it is shown only now.\n',
      );
    });
  connOptions(keys.command('ls').description('list provisioning keys (no secrets)'))
    .option('--json', 'machine-readable output')
    .action(async (o: ConnFlags & { json?: boolean }) => {
      const r = await session.withConsole(o, (c) => c.call(keysService, 'list', {}));
      if (o.json) return json(r.keys);
      if (r.keys.length === 0) return void process.stdout.write('no provisioning keys yet: sosna console keys create --fleet NAME\n');
      process.stdout.write(`${table(['KEY', 'FLEET', 'USES', 'EXPIRES', 'STATUS', 'CREATED'], keyRows(r.keys))}\n`);
    });
  connOptions(keys.command('revoke <keyId>').description('revoke a provisioning key (devices already provisioned keep working)'))
    .action(async (keyId: string, o: ConnFlags) => {
      await session.withConsole(o, (c) => c.call(keysService, 'revoke', { keyId }));
      process.stdout.write(`revoked ${keyId}\n`);
    });

  const ops = consoleCmd.command('operators').description('console operators and their roles: viewer, operator, admin; buyers (admin)');
  connOptions(ops.command('add <name>').description('add an operator or a buyer and print its password (shown only now)'))
    .requiredOption('--role <role>', 'viewer, operator, admin or buyer (its own jobs only)')
    .option('--address <address>', "the on-chain account (required for a buyer: its escrow deposits come from it, refunds go to it)")
    .option('--write-profile <file>', 'write a console profile for the new operator (this hub\'s URL and id) instead of printing the password')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: ConnFlags & { role: string; address?: string; writeProfile?: string; json?: boolean }) => {
      const role = parseRole('--role', o.role);
      const address = parseAddress('--address', o.address);
      if (role === 'buyer' && !address) throw new Error(`--address: buyer ${name} needs an on-chain address (0x and 40 hex digits): its escrow deposits come from it and refunds go back to it`);
      const { r, url, hubId } = await session.withConsole(o, async (c) => ({ r: await c.call(operatorsService, 'add', { name, role, address }), url: c.profile.url, hubId: c.profile.hubId }));
      if (o.writeProfile) {
        writeProfile(o.writeProfile, { url, hubId, user: r.name, password: r.password });
        return void process.stdout.write(`operator ${r.name} (${r.role}); profile written to ${o.writeProfile}\n`);
      }
      if (o.json) return json(r);
      process.stdout.write(`${r.password}\n`);
      process.stderr.write(`operator ${r.name} (${r.role}) added; the password is shown only now.\n`);
    });
  connOptions(ops.command('ls').description('list operators and their roles'))
    .option('--json', 'machine-readable output')
    .action(async (o: ConnFlags & { json?: boolean }) => {
      const r = await session.withConsole(o, (c) => c.call(operatorsService, 'list', {}));
      if (o.json) return json(r.operators);
      process.stdout.write(`${table(['NAME', 'ROLE', 'ADDRESS', 'CREATED'], r.operators.map((x) => [x.name, x.role, x.address ?? '-', ago(x.createdAt)]))}\n`);
    });
  connOptions(ops.command('role <name> <role>').description('change an operator\'s role (counts from its next call)'))
    .option('--address <address>', 'the on-chain account (needed to make someone a buyer unless stored already)')
    .action(async (name: string, roleText: string, o: ConnFlags & { address?: string }) => {
      const role = parseRole('role', roleText);
      const address = parseAddress('--address', o.address);
      const r = await session.withConsole(o, (c) => c.call(operatorsService, 'setRole', { name, role, address }));
      process.stdout.write(`${r.name}: ${r.previous} -> ${r.role}\n`);
    });
  connOptions(ops.command('rm <name>').description('remove an operator (refused for the last admin)'))
    .action(async (name: string, o: ConnFlags) => {
      await session.withConsole(o, (c) => c.call(operatorsService, 'remove', { name }));
      process.stdout.write(`removed ${name}\n`);
    });
}
