// The hub's TLS material at start: a certificate and key it is given (config tls.certFile/keyFile), or
// its own CA in {dataDir}/tls/ (created on first start, key files mode 0600) and a server certificate that
// CA signs for the names the hub serves (re-issued when a name is added or it nears expiry). Either way the
// key of the TLS session tickets is kept in {dataDir}/tls/ticket-keys, renewed daily: a fleet that
// reconnects after a restart resumes its sessions instead of a full handshake each.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { PEM_CERT, PEM_KEY } from '@sosna/protocol';
import type { Logger } from '@sosna/protocol';
import { certificateFits, certificateNames, createCa, fingerprint, issueCertificate } from './certs.js';
import type { CertifiedKey } from './certs.js';

export interface HubTlsConfig {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  names: string[];
}

export interface HubTls {
  /** The server's certificate chain (PEM: the leaf, then its CA) and key. */
  cert: string;
  key: string;
  /** The CA devices trust for this hub (its own, or caFile); null: a public CA (nothing to give devices). */
  ca: string | null;
  /** Where that CA is on disk (for profiles and provisioning); null with none. */
  caFile: string | null;
  /** SHA-256 fingerprint of the CA (or of the leaf when there is no CA). */
  fingerprint: string;
  /** The names the server certificate covers (DNS names and addresses, from its subjectAltName). */
  names: string[];
  /**
   * A client certificate of the own CA for `name` (mutual TLS: consoles, devices); `existing` is kept while it
   * is signed by this CA and valid for 30 more days. Null with a given certificate (the hub holds no CA key).
   */
  clientCertificate(name: string, existing?: CertifiedKey | null): Promise<CertifiedKey | null>;
  /** The session ticket key (48 bytes), kept across restarts. */
  ticketKeys: Buffer;
  /** Makes, keeps and returns a new ticket key (the hub rotates it daily). */
  renewTicketKeys(): Buffer;
}

/** How long one ticket key is used: tickets outlive neither it nor TLS_SESSION_SEC (a day). */
export const TICKET_KEY_MS = 86_400_000;
const TICKET_KEY_BYTES = 48;

/**
 * The ticket key in {dir}/ticket-keys: the one there while it is younger than TICKET_KEY_MS and well formed,
 * else a new one (written 0600 before use). Whoever holds it can resume a device's session as the hub, so it
 * is as secret as the server key beside it.
 */
export function ticketKeys(dir: string, log: Logger, now = Date.now(), renew = false): Buffer {
  const file = join(dir, 'ticket-keys');
  if (!renew && existsSync(file)) {
    tightenKey(file, log);
    const st = statSync(file);
    const keys = readFileSync(file);
    if (keys.length === TICKET_KEY_BYTES && now - st.mtimeMs < TICKET_KEY_MS) return keys;
  }
  const keys = randomBytes(TICKET_KEY_BYTES);
  writeFileSync(`${file}.tmp`, keys, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return keys;
}

const RENEW_MS = 30 * 86_400_000;

function writeSecret(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

function readChecked(file: string, what: string, re: RegExp, form: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${file}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!re.test(text)) throw new Error(`${what} ${file}: not ${form}`);
  return text;
}

function tightenKey(file: string, log: Logger): void {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    chmodSync(file, 0o600);
    log.warn('TLS key was readable by others; set its mode to 0600', { file, was: mode.toString(8) });
  }
}

/**
 * The names a self-issued server certificate covers: localhost, 127.0.0.1, ::1, the host name, the listen
 * address (for a wildcard: the machine's non-internal addresses, which devices on the LAN use), extras.
 */
export function serverNames(listenHost: string, extra: string[], host = hostname(), nets: ReturnType<typeof networkInterfaces> = networkInterfaces()): string[] {
  const wildcard = listenHost === '0.0.0.0' || listenHost === '::';
  const lan = wildcard ? Object.values(nets).flatMap((l) => l ?? []).filter((a) => !a.internal && (listenHost === '::' || a.family === 'IPv4')).map((a) => a.address) : [listenHost];
  const all = ['localhost', '127.0.0.1', '::1', host, ...lan, ...extra];
  return [...new Set(all.map((n) => n.replace(/^\[|\]$/g, '')).filter(Boolean))];
}

export async function loadOrCreateHubTls(o: { dataDir: string; config: HubTlsConfig; hubName: string; log: Logger }): Promise<HubTls> {
  const { config, log } = o;
  const dir = join(o.dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const sessions = { ticketKeys: ticketKeys(dir, log), renewTicketKeys: () => ticketKeys(dir, log, Date.now(), true) };
  if (config.certFile && config.keyFile) {
    const cert = readChecked(config.certFile, 'tls.certFile', PEM_CERT, 'a PEM certificate (-----BEGIN CERTIFICATE-----)');
    const key = readChecked(config.keyFile, 'tls.keyFile', PEM_KEY, 'a PEM private key (-----BEGIN PRIVATE KEY-----)');
    const ca = config.caFile ? readChecked(config.caFile, 'tls.caFile', PEM_CERT, 'a PEM CA certificate') : null;
    log.info('TLS with the given certificate', { cert: config.certFile, ca: config.caFile ?? 'public (system CAs)' });
    return { cert, key, ca, caFile: config.caFile ?? null, fingerprint: fingerprint(ca ?? cert), names: certificateNames(cert), clientCertificate: async () => null, ...sessions };
  }
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca.key');
  let ca: { cert: string; key: string };
  if (!existsSync(caFile) || !existsSync(caKeyFile)) {
    ca = await createCa({ name: `${o.hubName} CA` });
    writeSecret(caKeyFile, ca.key);
    writeFileSync(`${caFile}.tmp`, ca.cert, { mode: 0o644 });
    renameSync(`${caFile}.tmp`, caFile);
    log.info('created the hub TLS CA', { file: caFile, fingerprint: fingerprint(ca.cert) });
  } else {
    tightenKey(caKeyFile, log);
    ca = {
      cert: readChecked(caFile, 'hub CA', PEM_CERT, 'a PEM certificate; move the tls folder away to create a new CA'),
      key: readChecked(caKeyFile, 'hub CA key', PEM_KEY, 'a PEM private key; move the tls folder away to create a new CA'),
    };
  }
  const names = config.names;
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server.key');
  let leaf: { cert: string; key: string } | null = null;
  if (existsSync(certFile) && existsSync(keyFile)) {
    tightenKey(keyFile, log);
    const cert = readFileSync(certFile, 'utf8');
    if (certificateFits(cert, ca.cert, names, RENEW_MS)) leaf = { cert, key: readFileSync(keyFile, 'utf8') };
  }
  if (!leaf) {
    leaf = await issueCertificate({ ca, names, usage: 'server' });
    writeSecret(keyFile, leaf.key);
    writeFileSync(`${certFile}.tmp`, leaf.cert, { mode: 0o644 });
    renameSync(`${certFile}.tmp`, certFile);
    log.info('issued the hub TLS certificate', { file: certFile, names: names.join(',') });
  }
  const clientCertificate = async (name: string, existing?: CertifiedKey | null): Promise<CertifiedKey> => {
    if (existing && certificateFits(existing.cert, ca.cert, [], RENEW_MS)) return existing;
    return issueCertificate({ ca, names: [name], usage: 'client' });
  };
  return { cert: leaf.cert + ca.cert, key: leaf.key, ca: ca.cert, caFile, fingerprint: fingerprint(ca.cert), names, clientCertificate, ...sessions };
}
