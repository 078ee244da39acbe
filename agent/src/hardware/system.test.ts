import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSysfsNetInterfaces } from './net-sysfs.js';
import { detectSystem, type SystemInfoSource } from './system-detector.js';
import { parseCpuInfo } from './cpuinfo-parser.js';
import { mapCpu, mapDisks, mapNetwork, normalizeArch } from './system-mapper.js';

const RIG = fileURLToPath(new URL('./fixtures/boards/x86-mining-rig/', import.meta.url));
const SYSFS = fileURLToPath(new URL('./fixtures/sysfs/amd-intel-rig/', import.meta.url));

/** systeminformation answers as captured on a small mining rig (values trimmed to what we read). */
const rigSource = (): SystemInfoSource => ({
  cpu: async () => ({ manufacturer: 'Intel', brand: 'Celeron® G3930', cores: 2, physicalCores: 2, speed: 2.9, speedMax: 2.9, flags: 'fpu sse2 aes' }),
  mem: async () => ({ total: 8239411200, available: 7000000000 }),
  cpuTemperature: async () => ({ main: 41 }),
  diskLayout: async () => [{ device: '/dev/sda', type: 'SSD', name: 'KINGSTON SA400S3', size: 120034123776, interfaceType: 'SATA' }],
  blockDevices: async () => [
    { name: 'sda', type: 'disk', size: 120034123776, physical: 'SSD', removable: false, protocol: 'sata' },
    { name: 'sda1', type: 'part', mount: '/boot/efi', size: 536870912 },
    { name: 'sda2', type: 'part', mount: '/', size: 119497252864 },
    { name: 'sdb', type: 'disk', size: 16008609792, physical: 'SSD', removable: true, protocol: 'usb', model: 'Flash Disk' },
    { name: 'sdb1', type: 'part', mount: '/mnt/usb', size: 16008609792 },
    { name: 'loop0', type: 'loop', size: 1000 },
    { name: 'zram0', type: 'disk', size: 4000000000 },
  ],
  fsSize: async () => [
    { fs: '/dev/sda2', mount: '/', available: 80000000000 },
    { fs: '/dev/sda1', mount: '/boot/efi', available: 500000000 },
    { fs: '/dev/sdb1', mount: '/mnt/usb', available: 15000000000 },
  ],
  networkInterfaces: async () => [
    { iface: 'lo', mac: '00:00:00:00:00:00', internal: true, virtual: false, operstate: 'unknown', speed: null },
    { iface: 'enp3s0', mac: 'a8:a1:59:00:00:01', internal: false, virtual: false, operstate: 'up', speed: 1000 },
    { iface: 'docker0', mac: '02:42:00:00:00:02', internal: false, virtual: true, operstate: 'down', speed: null },
  ],
  osInfo: async () => ({ platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0-18-amd64' }),
});

const osIfaces = () => ({
  lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
  enp3s0: [
    { address: '192.168.1.20', family: 'IPv4', internal: false, mac: 'a8:a1:59:00:00:01' },
    { address: '192.168.1.21', family: 'IPv4', internal: false, mac: 'a8:a1:59:00:00:01' },
    { address: 'fe80::1', family: 'IPv6', internal: false, mac: 'a8:a1:59:00:00:01' },
  ],
  docker0: [{ address: '172.17.0.1', family: 4, internal: false }],
});

describe('detectSystem', () => {
  it('maps CPU, memory, disks, network and OS', async () => {
    const r = await detectSystem({
      source: rigSource(),
      procRoot: join(RIG, 'proc'),
      sysfsRoot: join(RIG, 'sys'),
      arch: 'x86_64',
      timeoutMs: 1000,
      osInterfaces: osIfaces,
      hostname: () => 'rig-01',
    });
    expect(r.warnings).toEqual([]);
    expect(r.cpu).toEqual({
      model: 'Intel(R) Celeron(R) CPU G3930 @ 2.90GHz',
      vendor: 'Intel',
      arch: 'x86_64',
      cores: 2,
      threads: 2,
      baseMHz: 2900,
      maxMHz: 2900,
      flags: { avx2: false, avx512f: false, sha: false, aes: true, neon: false },
      temperatureC: 41,
    });
    expect(r.memory).toEqual({ totalBytes: 8239411200, availableBytes: 7000000000 });
    expect(r.disks).toEqual([
      { name: 'sda', model: 'KINGSTON SA400S3', sizeBytes: 120034123776, type: 'ssd', freeBytes: 80500000000, removable: false },
      { name: 'sdb', model: 'Flash Disk', sizeBytes: 16008609792, type: 'usb', freeBytes: 15000000000, removable: true },
    ]);
    expect(r.network).toEqual([
      { name: 'enp3s0', mac: 'a8:a1:59:00:00:01', speedMbps: 1000, ipv4: ['192.168.1.20', '192.168.1.21'], virtual: false, up: true },
      { name: 'docker0', mac: '02:42:00:00:00:02', ipv4: ['172.17.0.1'], virtual: true, up: false },
    ]);
    expect(r.os).toEqual({ platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0-18-amd64' });
    expect(r.hostname).toBe('rig-01');
  });

  it('keeps going when calls hang or throw, within the time-out, naming each failed call', async () => {
    const broken: SystemInfoSource = {
      ...rigSource(),
      cpu: () => new Promise(() => undefined),
      networkInterfaces: async () => {
        throw new Error('ethtool exploded');
      },
      diskLayout: async () => 42 as unknown as [],
    };
    // cpu() never settles: that detectSystem returns at all (with the warning below) is the time-out at work
    const r = await detectSystem({ source: broken, procRoot: join(RIG, 'proc'), sysfsRoot: join(RIG, 'sys'), arch: 'x86_64', timeoutMs: 300, osInterfaces: osIfaces });
    expect(r.warnings.map((w) => w.source)).toEqual(expect.arrayContaining(['systeminformation:cpu', 'systeminformation:networkInterfaces']));
    // /proc/cpuinfo still names the CPU; node:os still lists addresses
    expect(r.cpu?.model).toBe('Intel(R) Celeron(R) CPU G3930 @ 2.90GHz');
    expect(r.network.map((n) => n.name)).toEqual(['enp3s0', 'docker0']);
    expect(r.disks.map((d) => d.name)).toEqual(['sda', 'sdb']);
  });

  it('warns when neither systeminformation nor /proc know the CPU', async () => {
    const none: SystemInfoSource = { ...rigSource(), cpu: async () => Promise.reject(new Error('no')), mem: async () => ({}) };
    const r = await detectSystem({ source: none, procRoot: '/nonexistent', sysfsRoot: '/nonexistent', arch: 'arm64', timeoutMs: 300, osInterfaces: () => ({}) });
    expect(r.cpu).toBeUndefined();
    expect(r.memory).toBeUndefined();
    expect(r.warnings.map((w) => w.message)).toEqual(expect.arrayContaining([expect.stringMatching(/CPU not detected/u), 'memory size not detected']));
  });
});

describe('system mapping details', () => {
  it('names ARM CPUs by their core where the kernel prints a generic model', () => {
    const jetson = parseCpuInfo(readFileSync(new URL('./fixtures/boards/jetson-orin-nano/proc/cpuinfo', import.meta.url), 'utf8'));
    expect(mapCpu({ cpuinfo: jetson, arch: 'arm64' })).toMatchObject({ model: 'Cortex-A78AE', vendor: 'ARM', cores: 6, threads: 6, flags: { aes: true, sha: true, neon: true } });
    const pi4 = parseCpuInfo(readFileSync(new URL('./fixtures/boards/raspberry-pi-4/proc/cpuinfo', import.meta.url), 'utf8'));
    expect(mapCpu({ cpuinfo: pi4, arch: 'arm64' }).model).toBe('Cortex-A72');
  });

  it('names architectures', () => {
    expect(['x64', 'arm64', 'arm', 'aarch64', 'riscv64'].map(normalizeArch)).toEqual(['x86_64', 'arm64', 'armv7', 'arm64', 'other']);
  });

  it('tells NVMe, SD and eMMC apart and falls back to diskLayout without lsblk', () => {
    const disks = mapDisks({
      blockDevices: [
        { name: 'nvme0n1', type: 'disk', size: 1e12 },
        { name: 'mmcblk0', type: 'disk', size: 3.2e10 },
        { name: 'mmcblk1', type: 'disk', size: 6.4e10 },
      ],
      mmcTypes: { mmcblk0: 'SD', mmcblk1: 'MMC' },
    });
    expect(disks.map((d) => d.type)).toEqual(['nvme', 'sd', 'emmc']);
    expect(mapDisks({ layout: [{ device: '/dev/sda', type: 'HD', size: 4e12, name: 'WDC' }] })).toEqual([{ name: 'sda', model: 'WDC', sizeBytes: 4e12, type: 'hdd' }]);
  });

  it('lists physical interfaces before a crowd of virtual ones', () => {
    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`veth${i}`, [{ address: `10.1.${i}.1`, family: 'IPv4' }]]));
    const net = mapNetwork([], { ...many, eth0: [{ address: '192.168.1.2', family: 'IPv4' }] });
    expect(net).toHaveLength(128);
    expect(net[0]!.name).toBe('eth0');
  });
});

describe('readSysfsNetInterfaces', () => {
  it('reads MAC, speed and state, and tells virtual interfaces by where their links point', async () => {
    expect(await readSysfsNetInterfaces(SYSFS, 1000)).toEqual([
      { iface: 'docker0', internal: false, mac: '02:42:ac:00:00:02', operstate: 'down', virtual: true },
      { iface: 'enp5s0', internal: false, mac: '04:7c:16:00:00:01', operstate: 'up', speed: 1000, virtual: false },
      { iface: 'lo', internal: true, mac: '00:00:00:00:00:00', operstate: 'unknown' },
    ]);
    expect(await readSysfsNetInterfaces('/nonexistent', 200)).toEqual([]);
  });
});
