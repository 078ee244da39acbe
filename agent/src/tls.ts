// The TLS material of the device's connections: the CA of the hub at a URL (config `hub.ca` or the
// matching `hubs[].ca`) and the device's client certificate (config `tls`, for hubs that require mutual
// TLS), read from PEM text or files; and the loud warning for plain MQTT that leaves the machine.
import { isLoopbackHost, isTlsUrl, readPem, urlHost } from '@sosna/protocol';
import type { DeviceConfig, Logger, TlsMaterial } from '@sosna/protocol';

/** The configured CA for `url` (hub first, then `hubs`), with the config field it came from. Pure. */
function caFor(config: DeviceConfig, url: string): { ca: string; field: string } | null {
  if (config.hub.url === url && config.hub.ca) return { ca: config.hub.ca, field: 'hub.ca' };
  const i = config.hubs.findIndex((h) => h.url === url);
  const h = config.hubs[i];
  if (h?.ca) return { ca: h.ca, field: `hubs.${i}.ca` };
  return null;
}

/**
 * What a connection to `url` trusts and presents; reads files (errors name the config field and the file).
 * Over plain mqtt:// and ws:// there is nothing to give.
 */
export function tlsFor(config: DeviceConfig, url: string): TlsMaterial | undefined {
  if (!isTlsUrl(url)) return undefined;
  const found = caFor(config, url);
  return {
    ...(found ? { ca: readPem(found.ca, found.field, 'certificate') } : {}),
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
