// One port for the dashboard over HTTPS: a connection that starts with a TLS handshake goes to the HTTPS
// server; anything else (a browser that typed http://) gets a plain redirect to the same address over
// https:// and nothing of the dashboard: with HTTPS on, no page, API answer or cookie is served in clear.
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Server as HttpsServer } from 'node:https';

const TLS_HANDSHAKE = 0x16;
const MAX_HEAD = 8 * 1024;

/** The plain-HTTP answer to a request head: 308 to https://HOST/PATH, or 400 without a usable Host. */
export function httpsRedirect(head: string): string {
  const [requestLine = '', ...headers] = head.split('\r\n');
  const target = requestLine.split(' ')[1] ?? '/';
  const path = /^\/[\x21-\x7e]*$/.test(target) ? target : '/';
  const host = headers.find((h) => /^host:/i.test(h))?.slice(5).trim() ?? '';
  const hostOk = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(:\d{1,5})?$/.test(host);
  const body = hostOk ? `This dashboard is served over HTTPS: https://${host}${path}\n` : 'This dashboard is served over HTTPS: open it with https://\n';
  return [
    hostOk ? 'HTTP/1.1 308 Permanent Redirect' : 'HTTP/1.1 400 Bad Request',
    ...(hostOk ? [`Location: https://${host}${path}`] : []),
    'Content-Type: text/plain; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, 'Cache-Control: no-store', 'Connection: close', '', body,
  ].join('\r\n');
}

/** A listening socket that hands TLS connections to `https` and redirects plain HTTP ones. */
export function httpsPort(https: HttpsServer): Server & { destroyAll(): void } {
  const sockets = new Set<Socket>();
  const plain = (socket: Socket, first: Buffer) => {
    let head = first;
    const answer = () => {
      socket.removeAllListeners('data');
      socket.end(httpsRedirect(head.toString('latin1').split('\r\n\r\n')[0]!));
    };
    if (head.includes('\r\n\r\n') || head.length >= MAX_HEAD) return answer();
    socket.on('data', (more: Buffer) => {
      head = Buffer.concat([head, more]);
      if (head.includes('\r\n\r\n') || head.length >= MAX_HEAD) answer();
    });
  };
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(10_000, () => socket.destroy()); // a first byte (or a whole plain request head) in 10 s
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (first[0] === TLS_HANDSHAKE) {
        socket.setTimeout(0);
        socket.removeAllListeners('timeout');
        socket.unshift(first); // the TLS socket takes what is buffered before its first read
        https.emit('connection', socket);
      } else {
        plain(socket, first);
        socket.resume();
      }
    });
    socket.resume();
  }) as Server & { destroyAll(): void };
  server.destroyAll = () => {
    for (const s of sockets) s.destroy();
  };
  return server;
}
