// The reference for the RPC overhead figure: a bare aedes broker (no auth, no ACL, no hub logic) with the
// same TCP_NODELAY setting. argv: port.
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2] ?? 0);
const broker = await Aedes.createBroker();
const server = createServer({ noDelay: true }, broker.handle);
server.listen(port, '127.0.0.1', () => process.send?.({ type: 'ready', port: (server.address() as { port: number }).port }));
process.on('message', (m: { type?: string }) => m?.type === 'stop' && process.exit(0));
