// X.509 for the hub's TLS: its own CA (created on first start, kept beside the owner key) and the
// certificates it signs (the hub's server certificate; client certificates for mutual TLS; test fixtures).
// Node 20 verifies certificates but cannot create them: @peculiar/x509 builds them on node's WebCrypto
// (ECDSA P-256 keys, SHA-256 signatures). Its dependency injection (tsyringe) needs the Reflect metadata
// polyfill, loaded first here; this module is imported only when TLS is on.
import 'reflect-metadata';
import { isIP } from 'node:net';
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** A certificate and its private key, both PEM (the key PKCS#8). */
export interface CertifiedKey {
  cert: string;
  key: string;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----(BEGIN|END) PRIVATE KEY-----|\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
}

/** Distinguished-name text safe for x509's parser (no commas, plus signs or quotes). Pure. */
function cn(name: string): string {
  return `CN=${name.replace(/[,+"\\<>;=]/g, ' ').slice(0, 64)}`;
}

const serial = () => randomBytes(16).toString('hex').replace(/^[89a-f]/, '1');

/** A self-signed CA certificate (path length 0: it signs leaf certificates only). */
export async function createCa(o: { name: string; notBefore?: Date; notAfter?: Date }): Promise<CertifiedKey> {
  const keys = await newKeys();
  const notBefore = o.notBefore ?? new Date(Date.now() - DAY);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: cn(o.name),
    notBefore,
    notAfter: o.notAfter ?? new Date(notBefore.getTime() + 20 * 365 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

/**
 * A leaf certificate signed by `ca`: for a server (SANs: host names and IP addresses) or for a client
 * (mutual TLS; `names[0]` is its common name).
 */
export async function issueCertificate(o: { ca: CertifiedKey; names: string[]; usage: 'server' | 'client'; notBefore?: Date; notAfter?: Date }): Promise<CertifiedKey> {
  if (!o.names.length) throw new Error('a certificate needs at least one name');
  const keys = await newKeys();
  const caCert = new x509.X509Certificate(o.ca.cert);
  const notBefore = o.notBefore ?? new Date(Date.now() - DAY);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: cn(o.names[0]!),
    issuer: caCert.subject,
    notBefore,
    notAfter: o.notAfter ?? new Date(notBefore.getTime() + 398 * DAY),
    publicKey: keys.publicKey,
    signingKey: await importKey(o.ca.key),
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([o.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      ...(o.usage === 'server' ? [new x509.SubjectAlternativeNameExtension(o.names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n })))] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await keyPem(keys.privateKey) };
}

/** Whether `certPem` is signed by `caPem`, valid for at least `marginMs` more, and names every one of `names`. */
export function certificateFits(certPem: string, caPem: string, names: string[], marginMs: number, now = Date.now()): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (Date.parse(cert.validTo) - marginMs < now || Date.parse(cert.validFrom) > now) return false;
    return names.every((n) => (isIP(n) ? cert.checkIP(n) : cert.checkHost(n, { wildcards: false })) !== undefined);
  } catch {
    return false;
  }
}

/** The DNS names and IP addresses a PEM certificate (its first, the leaf) is valid for. */
export function certificateNames(certPem: string): string[] {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  return san.split(/,\s*/).map((e) => /^(DNS|IP Address):(.+)$/.exec(e)?.[2]).filter((n): n is string => !!n);
}

/** SHA-256 fingerprint of a PEM certificate, as openssl prints it (AB:CD:...). */
export function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}
