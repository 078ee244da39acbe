// One request on the cgminer RPC API: connect over TCP, send {"command":"..."}, read until the
// NUL byte that ends a reply (or until the miner closes the socket), with a hard time-out.
import { createConnection } from 'node:net';

export type CgminerQueryResult =
  | { ok: true; text: string }
  | { ok: false; kind: 'refused' | 'timeout' | 'error' | 'too-large'; message: string };

const MAX_REPLY_BYTES = 1024 * 1024;

export function queryCgminer(host: string, port: number, command: string, timeoutMs: number): Promise<CgminerQueryResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const socket = createConnection({ host, port });
    const finish = (result: CgminerQueryResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, kind: 'timeout', message: `${host}:${port} ${command}: no reply within ${timeoutMs} ms` }),
      Math.max(1, timeoutMs),
    );
    socket.setNoDelay(true);
    socket.on('connect', () => {
      socket.write(JSON.stringify({ command }));
    });
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REPLY_BYTES) {
        finish({ ok: false, kind: 'too-large', message: `${host}:${port} ${command}: reply over ${MAX_REPLY_BYTES} bytes` });
        return;
      }
      const nul = chunk.indexOf(0);
      if (nul >= 0) {
        chunks.push(chunk.subarray(0, nul));
        finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') });
        return;
      }
      chunks.push(chunk);
    });
    socket.on('end', () => finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    socket.on('close', () => finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      const kind = e.code === 'ECONNREFUSED' ? 'refused' : 'error';
      finish({ ok: false, kind, message: `${host}:${port} ${command}: ${e.code ?? e.message}` });
    });
  });
}
