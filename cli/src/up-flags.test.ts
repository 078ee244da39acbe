// `sosna up`'s pure parts: the addresses the banner gives rigs for a --host, the next free dashboard port,
// and the quick start's device owner (anvil's dev account #1, a public test key).
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';
import { devOwner, freePortFrom, reachableAddresses } from './commands/up.js';

const nic = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({ address, family, internal, netmask: '', mac: '', cidr: null }) as NetworkInterfaceInfo;

describe('sosna up', () => {
  it('gives rigs the LAN IPv4 addresses for 0.0.0.0, the address itself otherwise', () => {
    const nets = { lo: [nic('127.0.0.1', 'IPv4', true)], eth0: [nic('192.168.1.20', 'IPv4'), nic('fe80::1', 'IPv6')], wlan0: [nic('10.0.0.7', 'IPv4')] };
    expect(reachableAddresses('0.0.0.0', nets)).toEqual(['192.168.1.20', '10.0.0.7']);
    expect(reachableAddresses('192.168.1.20', nets)).toEqual(['192.168.1.20']);
    expect(reachableAddresses('0.0.0.0', { lo: [nic('127.0.0.1', 'IPv4', true)] })).toEqual([]);
  });

  it('takes the next port when the wanted one is taken', async () => {
    const s = createServer();
    const port = await new Promise<number>((ok) => s.listen(0, '127.0.0.1', () => ok((s.address() as { port: number }).port)));
    try {
      const got = await freePortFrom(port, '127.0.0.1');
      expect(got).toBeGreaterThan(port);
    } finally {
      s.close();
    }
  });

  it('owns the quick-start device with anvil dev account #1 (not #0, the deployer)', () => {
    expect(devOwner()).toMatchObject({ address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', privateKey: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' });
  });
});
