// TLS material for MQTT clients (mqtts://, wss://) and the reasons a handshake failed, in words a person
// can act on. A hub with its own CA gives each device that CA (config `hub.ca`), so a self-hosted hub
// needs no public CA; a hub with a public certificate needs nothing on the device.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { PeerCertificate, DetailedPeerCertificate } from 'node:tls';

/** What a client presents and trusts: PEM text (never paths). */
export interface TlsMaterial {
  /** CA certificate(s) that must have signed the hub's certificate; absent: the system's public CAs. */
  ca?: string;
  /** Client certificate and key (mutual TLS), when the hub requires them. */
  cert?: string;
  key?: string;
  /**
   * Instead of `ca`: the SHA-256 fingerprint (AB:CD:..., as the hub prints it) of a certificate in the hub's
   * chain, normally its CA. That certificate is fetched from the hub and then trusted as the CA.
   */
  fingerprint?: string;
  /**
   * A context made once from `ca`/`cert`/`key` (tls.createSecureContext) for a client that opens many
   * connections with the same material (the simulated fleets of the benches); a device needs none.
   */
  context?: import('node:tls').SecureContext;
}

/**
 * TLS sessions a client keeps between its connections, so that a reconnect resumes the session (a ticket
 * the hub issued; no certificate is sent or verified again) instead of a full handshake: after a hub
 * restart the whole fleet reconnects at once. A session is kept per URL and trusted material, so a
 * session of one hub or CA is never offered to another. Sessions live in memory only.
 */
export interface TlsSessions {
  get(url: string, tls: TlsMaterial | undefined): Buffer | undefined;
  set(url: string, tls: TlsMaterial | undefined, session: Buffer): void;
}

export function tlsSessions(max = 8): TlsSessions {
  const kept = new Map<string, Buffer>();
  const key = (url: string, tls: TlsMaterial | undefined) =>
    createHash('sha256').update(`${url}\n${tls?.ca ?? ''}\n${tls?.fingerprint ?? ''}\n${tls?.cert ?? ''}`).digest('base64');
  return {
    get: (url, tls) => kept.get(key(url, tls)),
    set: (url, tls, session) => {
      const k = key(url, tls);
      kept.delete(k);
      kept.set(k, session);
      while (kept.size > max) kept.delete(kept.keys().next().value!);
    },
  };
}

/** A SHA-256 certificate fingerprint: 32 bytes in hex, with or without colons. */
export const FINGERPRINT = /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/;
const normal = (fp: string) => fp.replace(/:/g, '').toUpperCase();

function pemOf(raw: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${raw.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}

/**
 * The certificate of the hub's chain whose SHA-256 fingerprint is `fingerprint`, as PEM, read in a TLS
 * handshake that sends nothing else (no MQTT, no password). The connection that follows trusts it as its CA
 * and verifies chain, validity and host name as with a configured `ca`.
 */
export function fetchPinnedCa(url: string, fingerprint: string, timeoutMs = 10_000): Promise<string> {
  const u = new URL(url);
  const port = Number(u.port) || (u.protocol === 'wss:' ? 443 : 8883);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((ok, fail) => {
    const socket = tlsConnect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, rejectUnauthorized: false, timeout: timeoutMs });
    const done = (f: () => void) => {
      socket.destroy();
      f();
    };
    socket.once('timeout', () => done(() => fail(Object.assign(new Error(`no TLS handshake within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }))));
    socket.once('error', (err) => done(() => fail(err)));
    socket.once('secureConnect', () => {
      const seen: string[] = [];
      let c: DetailedPeerCertificate | PeerCertificate | undefined = socket.getPeerCertificate(true);
      for (let i = 0; c && c.raw && i < 10; i++) {
        if (normal(c.fingerprint256) === normal(fingerprint)) {
          const raw = c.raw;
          return done(() => ok(pemOf(raw)));
        }
        seen.push(`${c.subject?.CN ?? '?'} ${c.fingerprint256}`);
        const next: DetailedPeerCertificate | undefined = (c as DetailedPeerCertificate).issuerCertificate;
        c = next && next !== c ? next : undefined;
      }
      done(() => fail(Object.assign(new Error(`no certificate in its chain has the pinned fingerprint ${fingerprint} (it presented: ${seen.join('; ')})`), { code: 'ERR_TLS_FINGERPRINT_MISMATCH' })));
    });
  });
}

export const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
export const PEM_KEY = /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----[\s\S]+?-----END ([A-Z]+ )?PRIVATE KEY-----/;

/** True for a PEM text (inline in a config), false for a file path. Pure. */
export function isPem(value: string): boolean {
  return value.includes('-----BEGIN ');
}

/**
 * A config value that is either PEM text or the path of a PEM file (relative to `baseDir`); returns the PEM.
 * Errors name the field, the file and the accepted form.
 */
export function readPem(value: string, field: string, kind: 'certificate' | 'key', baseDir = process.cwd()): string {
  const want = kind === 'certificate' ? PEM_CERT : PEM_KEY;
  const form = kind === 'certificate' ? 'a PEM certificate (-----BEGIN CERTIFICATE-----) or the path of a .pem file' : 'a PEM private key (-----BEGIN PRIVATE KEY-----) or the path of a key file';
  let text = value;
  let where = 'inline';
  if (!isPem(value)) {
    const file = isAbsolute(value) ? value : resolve(baseDir, value);
    where = file;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`${field}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (must be ${form})`);
    }
  }
  if (!want.test(text)) throw new Error(`${field} (${where}): not ${kind === 'certificate' ? 'a PEM certificate' : 'a PEM private key'}; must be ${form}`);
  return text;
}

const TLS_REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not the CA this device trusts',
  SELF_SIGNED_CERT_IN_CHAIN: "its certificate chain ends in a CA this device does not trust (another hub's CA?)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is signed by a CA this device does not trust (unknown CA)',
  UNABLE_TO_GET_ISSUER_CERT: 'its certificate is signed by a CA this device does not trust (unknown CA)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is signed by a CA this device does not trust (unknown CA)',
  CERT_SIGNATURE_FAILURE: 'its certificate signature does not verify against the trusted CA',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet (check the clocks)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate does not name this host (hostname mismatch)',
  ERR_SSL_WRONG_VERSION_NUMBER: 'it does not speak TLS on this port (a plain mqtt:// port?)',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'it requires a client certificate (config tls.cert and tls.key)',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'it does not accept this client certificate (signed by a CA it does not trust)',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'it does not accept this client certificate',
  ERR_TLS_FINGERPRINT_MISMATCH: 'its certificate does not match the pinned fingerprint (hub.fingerprint)',
};

/** The reason of a TLS failure in words, with the code (e.g. CERT_HAS_EXPIRED); null when `err` is no TLS error. Pure. */
export function tlsFailure(err: unknown): string | null {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string') return null;
  const reason = TLS_REASONS[code];
  if (reason) return `${reason} [${code}]`;
  if (/^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_)/.test(code)) return `${(err as Error).message} [${code}]`;
  return null;
}

/** True for a URL whose transport is encrypted (mqtts://, wss://). Pure. */
export function isTlsUrl(url: string): boolean {
  return /^(mqtts|wss):\/\//i.test(url);
}

/** The host of a broker URL, without brackets; null when it does not parse. Pure. */
export function urlHost(url: string): string | null {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return null;
  }
}

/** True for loopback hosts (localhost, 127.0.0.0/8, ::1): plain MQTT there never leaves the machine. Pure. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1' || h === '0:0:0:0:0:0:0:1';
}
