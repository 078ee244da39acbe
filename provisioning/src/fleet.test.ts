import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceConfig, parseConfig } from '@sosna/protocol';
import { parseCsv, formatCsv } from './csv.js';
import { deviceDirNames, devicesFromCount, devicesFromCsv, FleetError, writeFleet } from './fleet.js';
import type { FleetManifest } from './fleet.js';

const OWNER = '0x' + 'ab'.repeat(20);

describe('csv', () => {
  it('reads quoted fields, doubled quotes, CRLF and a BOM, and writes them back', () => {
    const rows = parseCsv('\ufeffname,tags\r\n"rig, one","a;b"\r\n"say ""hi""",\n');
    expect(rows).toEqual([['name', 'tags'], ['rig, one', 'a;b'], ['say "hi"', '']]);
    expect(parseCsv(formatCsv(rows))).toEqual(rows);
  });
  it('names the line of an unterminated quote', () => {
    expect(() => parseCsv('name\n"open\n')).toThrow(/line 2/);
  });
});

describe('device lists', () => {
  it('--count names devices PREFIX-001 ...', () => {
    const d = devicesFromCount('rigs', 100);
    expect(d).toHaveLength(100);
    expect(d[0]!.name).toBe('rigs-001');
    expect(d[99]!.name).toBe('rigs-100');
    expect(() => devicesFromCount('rigs', 0)).toThrow(FleetError);
  });
  it('reads names, tags and owner wallets from a CSV in any column order', () => {
    const d = devicesFromCsv(`owner,name,tags\n${OWNER},rig-a,gpu;kyiv\n,rig-b,\n# comment\n`);
    expect(d).toEqual([
      { name: 'rig-a', tags: ['gpu', 'kyiv'], owner: OWNER },
      { name: 'rig-b', tags: [], owner: null },
    ]);
  });
  it('reports every bad line with its number', () => {
    try {
      devicesFromCsv('name,tags,owner\nrig-a,ok,0x12\n,x,\nrig-a,bad tag!,\n');
      expect.unreachable();
    } catch (err) {
      const p = (err as FleetError).problems.join('\n');
      // the file, line, column, value and the accepted form
      expect(p).toMatch(/devices\.csv:2: column 3 \(owner\) "0x12": must be a wallet address, 0x followed by 40 hex digits/);
      expect(p).toMatch(/devices\.csv:3: name is empty/);
      expect(p).toMatch(/devices\.csv:4: name "rig-a" repeats line 2/);
      expect(p).toMatch(/devices\.csv:4: tag "tag!"/);
    }
    expect(() => devicesFromCsv('name,colour\nx,y\n')).toThrow(/unknown column\(s\) "colour"/);
  });
  it('folder names are unique slugs', () => {
    expect(deviceDirNames([{ name: 'Rig 1', tags: [], owner: null }, { name: 'rig-1', tags: [], owner: null }, { name: '../x', tags: [], owner: null }])).toEqual(['rig-1', 'rig-1-2', 'x']);
  });
});

describe('writeFleet', () => {
  const out = () => mkdtempSync(join(tmpdir(), 'sosna-fleet-'));

  it('writes one valid config per device with the key, and a manifest without secrets', async () => {
    const dir = out();
    try {
      const key = 'kabc.SECRETSECRETSECRET';
      const { manifest } = await writeFleet({ outDir: dir, fleet: 'rigs', hub: { url: 'mqtt://hub.example:1883', id: 'hub-1' }, devices: devicesFromCount('rigs', 5), auth: { kind: 'provisioning-key', key } });
      expect(manifest.devices).toHaveLength(5);
      for (const d of manifest.devices) {
        const file = join(dir, d.config);
        const cfg = JSON.parse(readFileSync(file, 'utf8'));
        expect(parseConfig(DeviceConfig, cfg).ok).toBe(true);
        expect(cfg).toMatchObject({ hub: { url: 'mqtt://hub.example:1883', id: 'hub-1' }, provisioningKey: key, name: d.name });
        expect(statSync(file).mode & 0o777).toBe(0o600);
      }
      for (const f of ['manifest.json', 'manifest.csv']) expect(readFileSync(join(dir, f), 'utf8')).not.toContain('SECRET');
      expect(JSON.parse(readFileSync(join(dir, manifest.devices[0]!.config), 'utf8')).owner).toBeUndefined();
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as FleetManifest;
      expect(m.auth).toBe('provisioning-key');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pre-issued: credentials beside each config, issued with bounded parallelism, never in the manifest', async () => {
    const dir = out();
    let inFlight = 0;
    let peak = 0;
    try {
      const { manifest } = await writeFleet({
        outDir: dir, fleet: 'rigs', hub: { url: 'mqtt://hub:1883' }, devices: devicesFromCsv(`name,tags,owner\na,x,${OWNER}\nb,,\nc,,\n`),
        auth: {
          kind: 'pre-issued', hubId: 'hub-1', concurrency: 2,
          issue: async (d) => {
            peak = Math.max(peak, ++inFlight);
            await new Promise((r) => setTimeout(r, 5));
            inFlight--;
            return { deviceId: `${d.name}-id`, username: `dev:${d.name}-id`, password: `PW-${d.name}` };
          },
        },
      });
      expect(peak).toBe(2);
      expect(manifest.devices[0]).toMatchObject({ name: 'a', deviceId: 'a-id', tags: ['x'], owner: OWNER, credentials: 'devices/a/credentials.json' });
      const creds = JSON.parse(readFileSync(join(dir, 'devices/a/credentials.json'), 'utf8'));
      expect(creds).toMatchObject({ hubId: 'hub-1', deviceId: 'a-id', username: 'dev:a-id', password: 'PW-a', url: 'mqtt://hub:1883' });
      const cfg = JSON.parse(readFileSync(join(dir, 'devices/a/config.json'), 'utf8'));
      expect(cfg.provisioningKey).toBeUndefined();
      expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).not.toContain('PW-');
      expect(readFileSync(join(dir, 'manifest.csv'), 'utf8')).toContain('a,x,' + OWNER + ',a-id,devices/a/config.json,devices/a/credentials.json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the CSV's owner wallet and tags reach every device's config, with a key or pre-issued", async () => {
    const dir = out();
    try {
      const devices = devicesFromCsv(`name,tags,owner\nrig-a,gpu;kyiv,${OWNER}\nrig-b,cpu,\n`);
      await writeFleet({ outDir: join(dir, 'k'), fleet: 'rigs', hub: { url: 'mqtt://hub:1883' }, devices, auth: { kind: 'provisioning-key', key: 'k.s' } });
      await writeFleet({
        outDir: join(dir, 'p'), fleet: 'rigs', hub: { url: 'mqtt://hub:1883' }, devices,
        auth: { kind: 'pre-issued', hubId: 'hub-1', issue: async (d) => ({ deviceId: `${d.name}-id`, username: `dev:${d.name}-id`, password: 'pw' }) },
      });
      for (const mode of ['k', 'p']) {
        const a = JSON.parse(readFileSync(join(dir, mode, 'devices/rig-a/config.json'), 'utf8'));
        const b = JSON.parse(readFileSync(join(dir, mode, 'devices/rig-b/config.json'), 'utf8'));
        expect(a).toMatchObject({ owner: OWNER, tags: ['gpu', 'kyiv'] });
        expect(b).toMatchObject({ tags: ['cpu'] });
        expect(b.owner).toBeUndefined();
        const parsed = parseConfig(DeviceConfig, a);
        expect(parsed.ok && parsed.config.owner).toBe(OWNER);
        expect(parsed.ok && parsed.config.tags).toEqual(['gpu', 'kyiv']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('validates before anything is issued or written, and refuses a folder with files', async () => {
    const dir = out();
    try {
      let issued = 0;
      await expect(
        writeFleet({ outDir: join(dir, 'x'), fleet: 'rigs', hub: { url: 'http://nope' }, devices: devicesFromCount('r', 2), auth: { kind: 'pre-issued', hubId: 'h', issue: async () => (issued++, { deviceId: 'd', username: 'u', password: 'p' }) } }),
      ).rejects.toThrow(/hub\.url: must be an mqtt/);
      expect(issued).toBe(0);
      await writeFleet({ outDir: dir, fleet: 'rigs', hub: { url: 'mqtt://h:1' }, devices: devicesFromCount('r', 1), auth: { kind: 'provisioning-key', key: 'k.s' } });
      await expect(writeFleet({ outDir: dir, fleet: 'rigs', hub: { url: 'mqtt://h:1' }, devices: devicesFromCount('r', 1), auth: { kind: 'provisioning-key', key: 'k.s' } })).rejects.toThrow(/not empty/);
      await expect(writeFleet({ outDir: join(dir, 'y'), fleet: 'bad fleet', hub: { url: 'mqtt://h:1' }, devices: devicesFromCount('r', 1), auth: { kind: 'provisioning-key', key: 'k.s' } })).rejects.toThrow(/fleet "bad fleet"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
