// A small HTTP listener for Prometheus' scrapes: GET /metrics answers the text exposition, anything else
// 404 (or 405 for other methods). The hub and the agent each give it their own scrape function.
import type { Server } from 'node:http';

/** Prometheus' text format (what prom-client's Registry writes). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  /** http://host:port/metrics for the metrics listener, http://host:port for listenHttp (IPv6 in brackets). */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(opts: {
  host: string;
  port: number;
  scrape: () => Promise<string>;
  /** Names the setting in errors, e.g. `--metrics-port` or `metrics.port`. */
  setting: string;
  onError?: (err: Error) => void;
}): Promise<MetricsServer> {
  const { createServer } = await import('node:http'); // loaded only where metrics are served (CLI start-up, agent memory)
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: scrape /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET /metrics\n');
    opts.scrape().then(
      (text) => res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
      (err: Error) => {
        opts.onError?.(err);
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`);
      },
    );
  });
  server.keepAliveTimeout = 65_000; // Prometheus keeps its connection between scrapes
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const l = await listenHttp(server, opts);
  return { ...l, url: `${l.url}/metrics` };
}

/**
 * Listens with `server` on host:port (0: any free port); a taken port or a foreign address fails naming
 * `setting` and the fix. Resolves to the port taken, the base URL (an IPv6 address in brackets), close().
 */
export async function listenHttp(server: Server, opts: { host: string; port: number; setting: string }): Promise<MetricsServer> {
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`${opts.setting}: port ${opts.port} on ${opts.host} is already in use; pick another (0: any free port)`)
          : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
            ? new Error(`${opts.setting}: cannot listen on ${opts.host} (${err.code}): not an address of this machine`)
            : err,
      ),
    );
    server.listen(opts.port, opts.host, () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : opts.port);
    });
  });
  const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    host: opts.host,
    port,
    url: `http://${shown}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
