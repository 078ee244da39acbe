// The TLS material of the device's connections: the CA of the hub at a URL (config `hub.ca` or the
// matching `hubs[].ca`) and the device's client certificate (config `tls`, for hubs that require mutual
// TLS), read from PEM text or files; and the loud warning for plain MQTT that leaves the machine.
import { isLoopbackHost, isTlsUrl, readPem, urlHost } from '@sosna/protocol';
import type { DeviceConfig, Logger, TlsMaterial } from '@sosna/protocol';

/** The configured CA (or its fingerprint) for `url` (hub first, then `hubs`), with the config field. Pure. */
function caFor(config: DeviceConfig, url: string): { ca?: string; fingerprint?: string; field: string } | null {
  const pick = (h: { ca?: string; fingerprint?: string }, at: string) =>
    h.ca ? { ca: h.ca, field: `${at}.ca` } : h.fingerprint ? { fingerprint: h.fingerprint, field: `${at}.fingerprint` } : null;
  if (config.hub.url === url) return pick(config.hub, 'hub');
  const i = config.hubs.findIndex((h) => h.url === url);
  return i >= 0 ? pick(config.hubs[i]!, `hubs.${i}`) : null;
}

/**
 * What a connection to `url` trusts and presents; reads files (errors name the config field and the file).
 * Over plain mqtt:// and ws:// there is nothing to give.
 */
export function tlsFor(config: DeviceConfig, url: string): TlsMaterial | undefined {
  if (!isTlsUrl(url)) return undefined;
  const found = caFor(config, url);
  return {
    ...(found?.ca ? { ca: readPem(found.ca, found.field, 'certificate') } : {}),
    ...(found?.fingerprint ? { fingerprint: found.fingerprint } : {}),
    ...(config.tls.cert && config.tls.key ? { cert: readPem(config.tls.cert, 'tls.cert', 'certificate'), key: readPem(config.tls.key, 'tls.key', 'key') } : {}),
  };
}

/** Checks every configured hub's TLS material once at start (a missing CA file fails now, not on each reconnect). */
export function checkTlsConfig(config: DeviceConfig, log: Logger): void {
  for (const url of [config.hub.url, ...config.hubs.map((h) => h.url)]) {
    tlsFor(config, url);
    const host = urlHost(url);
    if (!isTlsUrl(url) && host && !isLoopbackHost(host)) {
      log.warn(`PLAIN MQTT to ${url}: the device password and every message cross the network unencrypted; use mqtts:// (the hub's --tls) with the hub's CA in hub.ca`, { url });
    }
  }
}
