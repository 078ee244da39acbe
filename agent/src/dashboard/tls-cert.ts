// The dashboard's self-signed TLS certificate (config `dashboard.https`): made on the device on first use,
// kept in the state directory (so it survives reboots and updates), and identified by its SHA-256
// fingerprint, which the agent prints on its console and reports to the hub: an owner compares it with
// what the browser shows before trusting the certificate.
//
// Node 20 signs but cannot build an X.509 certificate, so the few DER structures of one are written here
// (an ECDSA P-256 key, a v3 certificate with subjectAltName, serverAuth and no CA rights), about 60 lines
// instead of an ASN.1 library in the agent bundle. Node's own X509Certificate then parses and checks what
// was built, and the tests read it with openssl and curl.
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';

// ---- DER (ITU-T X.690), only what a certificate needs ----
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  if (n > 0xffff) throw new Error('DER value too long');
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
const seq = (...c: Buffer[]) => der(0x30, ...c);
const set = (...c: Buffer[]) => der(0x31, ...c);
const explicit = (n: number, ...c: Buffer[]) => der(0xa0 + n, ...c);
const octets = (b: Buffer) => der(0x04, b);
const bits = (b: Buffer) => der(0x03, Buffer.from([0]), b);
const utf8 = (s: string) => der(0x0c, Buffer.from(s, 'utf8'));
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const v of rest) {
    const groups = [v & 0x7f];
    for (let x = v >>> 7; x > 0; x >>>= 7) groups.unshift((x & 0x7f) | 0x80);
    out.push(...groups);
  }
  return der(0x06, Buffer.from(out));
}
/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // 2026-12-05T07:04:38.123Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  const year = d.getUTCFullYear();
  return year >= 1950 && year < 2050 ? der(0x17, Buffer.from(digits.slice(2), 'ascii')) : der(0x18, Buffer.from(digits, 'ascii'));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), octets(value));
}

/** The subjectAltName entries: DNS names as [2] IA5String, addresses as [7] their bytes. */
function altNames(names: string[]): Buffer {
  const entries = names.map((n) => {
    if (isIPv4(n)) return der(0x87, Buffer.from(n.split('.').map(Number)));
    if (isIPv6(n)) return der(0x87, ipv6Bytes(n));
    return der(0x82, Buffer.from(n, 'ascii'));
  });
  return seq(...entries);
}

function ipv6Bytes(addr: string): Buffer {
  const [head, tail = ''] = addr.split('::') as [string, string?];
  const parse = (s: string) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const h = parse(head);
  const t = addr.includes('::') ? parse(tail) : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

/** Names a certificate may carry: plain host names (letters, digits, dots, dashes) and IP addresses. */
export function certificateNames(candidates: string[]): string[] {
  const ok = (n: string) => isIPv4(n) || (isIPv6(n) && !n.includes('.') && !n.includes('%')) || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(n);
  return [...new Set(candidates.filter(ok))].slice(0, 32);
}

export interface DashboardCertificate {
  /** PKCS#8 PEM. */
  key: string;
  /** X.509 PEM. */
  cert: string;
}

/** The SHA-256 fingerprint of a PEM certificate as browsers show it: 32 hex bytes, uppercase, colon-separated. */
export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** The earliest start of validity: a board without a real-time clock may make its certificate before NTP set the clock (1970). */
const EARLIEST = Date.UTC(2025, 0, 1);

/**
 * A new self-signed certificate for `names` (the first is the subject's common name), valid from a day
 * before `now` (never before 2025) for `years`: a browser checks the dates with its own clock, and a
 * certificate made by a board whose clock was not set yet must not look expired to it.
 */
export function createSelfSigned(o: { names: string[]; now?: Date; years?: number }): DashboardCertificate {
  const names = certificateNames(o.names);
  if (names.length === 0) throw new Error('a certificate needs at least one host name or address');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = o.now ?? new Date();
  const notBefore = new Date(Math.max(now.getTime() - 86_400_000, EARLIEST));
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + (o.years ?? 20));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive, no leading zero byte
  const name = seq(set(seq(oid('2.5.4.3'), utf8(`sosna dashboard ${names[0]}`.slice(0, 64)))));
  const tbs = seq(
    explicit(0, der(0x02, Buffer.from([2]))), // v3
    der(0x02, serial),
    ECDSA_SHA256,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(
      extension('2.5.29.19', true, seq()), // basicConstraints: not a CA
      extension('2.5.29.15', true, der(0x03, Buffer.from([7, 0x80]))), // keyUsage: digitalSignature
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
      extension('2.5.29.17', false, altNames(names)),
    )),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const certDer = seq(tbs, ECDSA_SHA256, bits(signature));
  const b64 = certDer.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  const cert = `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  // what was built must parse, be self-signed and belong to the key
  const x = new X509Certificate(cert);
  if (!x.verify(publicKey) || !x.checkPrivateKey(privateKey)) throw new Error('the new dashboard certificate does not verify');
  return { key, cert };
}

export const CERT_FILE = 'dashboard-tls.json';
const Stored = z.object({ v: z.literal(1), key: z.string().min(1), cert: z.string().min(1), createdAt: z.number() });

/** Where the certificate is kept: the agent's state directory (atomic writes, mode 0600). */
export interface CertStore {
  path(name: string): string;
  read<T extends z.ZodType>(name: string, schema: T, onCorrupt?: (why: string) => void): z.output<T> | undefined;
  write(name: string, value: unknown, mode?: number): void;
}

/**
 * The kept certificate, or a new one (saved) when there is none or it is unusable (the reason goes to
 * `warn`). A certificate is kept for good: its fingerprint is what the owner learned to trust.
 */
export function loadOrCreateCertificate(store: CertStore, o: { names: () => string[]; warn: (msg: string, why: string) => void; now?: () => Date }): DashboardCertificate & { created: boolean } {
  const saved = store.read(CERT_FILE, Stored, (why) => o.warn('the kept dashboard certificate is unreadable; making a new one', why));
  if (saved) {
    try {
      if (new X509Certificate(saved.cert).checkPrivateKey(createPrivateKey(saved.key))) return { key: saved.key, cert: saved.cert, created: false };
      o.warn('the kept dashboard certificate does not match its key; making a new one', store.path(CERT_FILE));
    } catch (err) {
      o.warn('the kept dashboard certificate is unusable; making a new one', `${store.path(CERT_FILE)}: ${(err as Error).message}`);
    }
  }
  const now = o.now?.() ?? new Date();
  const made = createSelfSigned({ names: o.names(), now });
  store.write(CERT_FILE, { v: 1, ...made, createdAt: now.getTime() });
  return { ...made, created: true };
}
