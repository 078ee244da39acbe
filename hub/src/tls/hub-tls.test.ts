import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkInterfaceInfo } from 'node:os';
import { silentLogger } from '@sosna/protocol';
import { certificateFits, certificateNames, createCa, issueCertificate } from './certs.js';
import { loadOrCreateHubTls, serverNames, TICKET_KEY_MS, ticketKeys } from './hub-tls.js';

const nic = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({ address, family, internal, netmask: '', mac: '', cidr: null }) as NetworkInterfaceInfo;

describe('the hub TLS material', () => {
  it('names localhost, loopback, the host name, the listen address (LAN addresses for 0.0.0.0) and extras', () => {
    const nets = { lo: [nic('127.0.0.1', 'IPv4', true)], eth0: [nic('192.168.1.20', 'IPv4'), nic('fe80::1', 'IPv6')] };
    expect(serverNames('0.0.0.0', ['hub.example'], 'box', nets)).toEqual(['localhost', '127.0.0.1', '::1', 'box', '192.168.1.20', 'hub.example']);
    expect(serverNames('10.0.0.5', [], 'box', nets)).toEqual(['localhost', '127.0.0.1', '::1', 'box', '10.0.0.5']);
  });

  it('creates its CA once (keys 0600) and re-issues the server certificate when a name is added', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sosna-hubtls-'));
    const first = await loadOrCreateHubTls({ dataDir, hubName: 'h', log: silentLogger, config: { names: ['localhost', '127.0.0.1'] } });
    expect(statSync(join(dataDir, 'tls', 'ca.key')).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateHubTls({ dataDir, hubName: 'h', log: silentLogger, config: { names: ['localhost', '127.0.0.1'] } });
    expect(again.ca).toBe(first.ca);
    expect(again.cert).toBe(first.cert); // still fits: kept
    const more = await loadOrCreateHubTls({ dataDir, hubName: 'h', log: silentLogger, config: { names: ['localhost', '127.0.0.1', 'hub.lan'] } });
    expect(more.ca).toBe(first.ca);
    expect(more.cert).not.toBe(first.cert);
    expect(certificateFits(readFileSync(join(dataDir, 'tls', 'server.pem'), 'utf8'), first.ca!, ['hub.lan', '127.0.0.1'], 0)).toBe(true);
    expect(certificateFits(readFileSync(join(dataDir, 'tls', 'server.pem'), 'utf8'), first.ca!, ['other.lan'], 0)).toBe(false);
  });

  it('reads the names of a given certificate', async () => {
    const leaf = await issueCertificate({ ca: await createCa({ name: 'x' }), names: ['hub.example.org', '203.0.113.7'], usage: 'server' });
    expect(certificateNames(leaf.cert)).toEqual(['hub.example.org', '203.0.113.7']);
  });

  it('keeps the session ticket key (48 bytes, 0600) for a day, then makes a new one; a malformed one is replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sosna-tickets-'));
    const file = join(dir, 'ticket-keys');
    const now = Date.now();
    const first = ticketKeys(dir, silentLogger, now);
    expect(first.length).toBe(48);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(ticketKeys(dir, silentLogger, now + TICKET_KEY_MS - 60_000).equals(first)).toBe(true);
    const next = ticketKeys(dir, silentLogger, now + TICKET_KEY_MS + 60_000);
    expect(next.equals(first)).toBe(false);
    expect(readFileSync(file).equals(next)).toBe(true);
    writeFileSync(file, 'short');
    expect(ticketKeys(dir, silentLogger).length).toBe(48);
    expect(ticketKeys(dir, silentLogger, Date.now(), true).equals(readFileSync(file))).toBe(true);
  });
});
