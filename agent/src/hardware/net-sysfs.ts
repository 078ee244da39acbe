// Network interfaces from /sys/class/net (kernel ABI: Documentation/ABI/testing/sysfs-class-net):
// address (MAC), speed (Mbit/s; reading it fails while the link is down), operstate. Interfaces under
// /sys/devices/virtual/net are virtual (bridges, veths, tunnels).
//
// This replaces systeminformation's networkInterfaces(), which spawns several processes per interface
// (0.3-0.6 s on a two-core board) for fields we do not use; the output has the same shape.
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { withDeadline } from './deadline.js';
import { listDir, readFiles } from './fs-read.js';
import type { SiNetworkInterface } from './system-mapper.js';
import { toNonNegative } from './parse-util.js';

export async function readSysfsNetInterfaces(sysfsRoot: string, timeoutMs: number): Promise<SiNetworkInterface[]> {
  const base = join(sysfsRoot, 'class', 'net');
  const names = await listDir(base, timeoutMs);
  return Promise.all(
    names.map(async (name) => {
      const files = await readFiles(join(base, name), ['address', 'speed', 'operstate'], timeoutMs);
      let virtual: boolean | undefined;
      try {
        virtual = (await withDeadline(realpath(join(base, name)), timeoutMs, name)).includes('/devices/virtual/');
      } catch {
        virtual = undefined;
      }
      const speed = toNonNegative(files['speed']);
      const iface: SiNetworkInterface = { iface: name, internal: name === 'lo' };
      if (files['address']) iface.mac = files['address'];
      if (files['operstate']) iface.operstate = files['operstate'];
      if (speed !== undefined && speed > 0) iface.speed = speed;
      if (virtual !== undefined && !name.startsWith('lo')) iface.virtual = virtual;
      return iface;
    }),
  );
}
