// `sosna provision fleet`: device configs in bulk. The CLI is the composition root: credentials come from
// the hub's database (a provisioning key, or pre-issued per-device credentials), the files from
// @sosna/provisioning.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createProvisioningKey, openSqliteStore, parseExpiry, preIssueDevice } from '@sosna/hub';
import type { HubStore } from '@sosna/hub';
import { devicesFromCount, devicesFromCsv, writeFleet } from '@sosna/provisioning';
import type { FleetAuth, FleetHub } from '@sosna/provisioning';
import { isTlsUrl, readPem } from '@sosna/protocol';
import { DEFAULT_HUB_DIR } from '../profile.js';

interface FleetFlags {
  hub: string;
  fleet: string;
  count?: string;
  csv?: string;
  out: string;
  prefix?: string;
  key?: string;
  credentials?: boolean;
  maxUses?: string;
  expires?: string;
  hubId?: string;
  hubOwner?: string;
  hubCa?: string;
  dataDir: string;
  force?: boolean;
  json?: boolean;
}

function openStore(dataDir: string): HubStore {
  const db = join(resolve(dataDir), 'hub.db');
  if (!existsSync(db)) throw new Error(`no hub database at ${db}: pass --data-dir of your hub (or --key KEY to use an existing provisioning key)`);
  return openSqliteStore(db);
}

/**
 * The CA a device config carries for the hub (PEM inline, so the file stands alone on the device): --hub-ca,
 * else for a TLS URL the hub's own CA in its data directory; none for plain URLs and public CAs.
 */
export function hubCaFor(url: string, flag: string | undefined, dataDir: string): string | undefined {
  if (flag === 'none') return undefined;
  if (flag !== undefined) {
    if (!isTlsUrl(url)) throw new Error(`--hub-ca: ${url} is plain MQTT; a CA is only used with an mqtts:// or wss:// hub URL`);
    return readPem(flag, '--hub-ca', 'certificate');
  }
  if (!isTlsUrl(url)) return undefined;
  const own = join(resolve(dataDir), 'tls', 'ca.pem');
  return existsSync(own) ? readPem(own, 'the hub CA', 'certificate') : undefined;
}

export function registerProvision(program: Command): void {
  const provision = program.command('provision').description('device identities in bulk');
  provision
    .command('fleet')
    .description('write one validated device config per device, and a fleet manifest (no secrets in it)')
    .requiredOption('--hub <url>', 'hub URL as the devices reach it, e.g. mqtt://hub.example:1883')
    .requiredOption('--fleet <name>', 'fleet the devices join')
    .option('--count <n>', 'number of devices, named FLEET-001 ... (or --prefix)')
    .option('--csv <file>', 'device list: columns name, tags (; separated), owner (wallet address)')
    .requiredOption('--out <dir>', 'output folder (devices/NAME/config.json, manifest.json, manifest.csv)')
    .option('--prefix <name>', 'device name prefix for --count (default: the fleet name)')
    .option('--key <keyId.secret>', 'use this provisioning key instead of creating one')
    .option('--credentials', 'pre-issue per-device credentials (registered in the hub database now) instead of a provisioning key')
    .option('--max-uses <n>', 'uses of the created key (default: the number of devices)')
    .option('--expires <when>', 'expiry of the created key: 7d, 12h or an ISO date')
    .option('--hub-id <id>', 'pin the hub id in the configs (default: the id in the hub database, when one is opened)')
    .option('--hub-owner <address>', "pin the hub owner's Ethereum address in the configs")
    .option('--hub-ca <file|none>', "CA of the hub's TLS certificate, written into each config as hub.ca (default for an mqtts:// or wss:// hub: the hub's own CA, {data-dir}/tls/ca.pem, when it has one; none: a public CA)")
    .option('--data-dir <dir>', 'hub data directory (its database creates the key or the credentials)', DEFAULT_HUB_DIR)
    .option('--force', 'write into a folder that is not empty')
    .option('--json', 'print the manifest as JSON')
    .action(async (o: FleetFlags) => {
      const t0 = Date.now();
      if (!o.count === !o.csv) throw new Error('give either --count N or --csv FILE');
      if (o.key && o.credentials) throw new Error('--key and --credentials exclude each other');
      const devices = o.csv ? devicesFromCsv(readFileSync(o.csv, 'utf8'), o.csv) : devicesFromCount(o.prefix ?? o.fleet, Number(o.count));
      const ca = hubCaFor(o.hub, o.hubCa, o.dataDir);
      const hub: FleetHub = { url: o.hub, ...(o.hubId ? { id: o.hubId } : {}), ...(o.hubOwner ? { owner: o.hubOwner } : {}), ...(ca ? { ca } : {}) };
      const store = o.key ? null : openStore(o.dataDir);
      try {
        let auth: FleetAuth;
        let note: string;
        const hubId = store?.getMeta('hubId');
        if (hubId && !hub.id) hub.id = hubId;
        if (o.key) {
          auth = { kind: 'provisioning-key', key: o.key };
          note = `provisioning key ${o.key.split('.')[0]}`;
        } else if (o.credentials) {
          if (!hubId) throw new Error(`the hub database in ${o.dataDir} has no hub id yet: start the hub once first`);
          auth = {
            kind: 'pre-issued', hubId,
            issue: (d) => preIssueDevice(store!, { name: d.name, fleet: o.fleet, tags: d.tags }), // a machine hash: no scrypt
          };
          note = 'pre-issued credentials (registered in the hub database)';
        } else {
          const maxUses = o.maxUses === undefined ? devices.length : Number(o.maxUses);
          if (!Number.isInteger(maxUses) || maxUses < 1) throw new Error(`--max-uses ${JSON.stringify(o.maxUses)}: must be a positive whole number`);
          const created = await createProvisioningKey(store!, { fleet: o.fleet, maxUses, expiresAt: o.expires ? parseExpiry(o.expires) : null });
          auth = { kind: 'provisioning-key', key: created.key };
          note = `new provisioning key ${created.row.id} (${maxUses} use(s)${created.row.expiresAt ? `, expires ${new Date(created.row.expiresAt).toISOString()}` : ''}; revoke with: sosna hub keys revoke ${created.row.id})`;
        }
        const { manifest, manifestPath } = await writeFleet({ outDir: o.out, fleet: o.fleet, hub, devices, auth, force: o.force ?? false });
        if (o.json) process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
        else {
          process.stdout.write(
            `${manifest.devices.length} device config(s) for fleet ${o.fleet} in ${o.out}/devices/ with ${note}\n` +
              `manifest: ${manifestPath} (and manifest.csv); every config validated; ${((Date.now() - t0) / 1000).toFixed(2)} s\n` +
              `next: sosna image configure IMAGE --config ${join(o.out, manifest.devices[0]!.config)}${manifest.devices[0]!.credentials ? ` --credentials ${join(o.out, manifest.devices[0]!.credentials)}` : ''}\n`,
          );
          const unowned = manifest.devices.filter((d) => !d.owner).length;
          if (unowned) {
            process.stdout.write(
              `note: ${unowned} device(s) name no owner wallet: what they earn waits (credited to fleet ${o.fleet}) until their config names one ` +
                `("owner": "0x..."; the owner column of --csv)\n`,
            );
          }
        }
      } finally {
        store?.close();
      }
    });
}
