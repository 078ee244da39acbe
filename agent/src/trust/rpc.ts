// Read-only JSON-RPC to an Ethereum node (eth_call, eth_chainId, eth_getLogs, eth_getBlockByNumber) over
// fetch, with a time-out. Logs are checked at this boundary (a node's answer is input like any other).
import { z } from 'zod';

const Quantity = z.string().regex(/^0x[0-9a-fA-F]{1,64}$/, 'a hex quantity like 0x1a');
const HexData = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'hex bytes like 0x00ff');
const EthLogSchema = z.object({
  address: z.string(),
  topics: z.array(z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte hex topic')),
  data: HexData,
  blockNumber: Quantity,
  blockTimestamp: Quantity.optional(),
});

/** One log entry as the node returns it (hex strings). */
export interface EthLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  /** Some nodes (geth 1.14+, anvil) include the block's time; otherwise read the block. */
  blockTimestamp?: string;
}

export interface EthReader {
  chainId(): Promise<number>;
  call(to: string, data: string): Promise<string>;
  /** Logs of `address` whose first topic is one of `topic0s`, from block 0 to the latest. */
  logs(address: string, topic0s: readonly string[]): Promise<EthLog[]>;
  /** The time (unix seconds) of block `number`, or of the latest block. */
  blockTime(number: bigint | 'latest'): Promise<number>;
}

export function jsonRpcReader(url: string, timeoutMs = 5000, fetchImpl: typeof fetch = fetch): EthReader {
  let id = 0;
  const request = async (method: string, params: unknown[]): Promise<unknown> => {
    const res = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
    if (body.error) throw new Error(`${url}: ${method}: ${body.error.message ?? 'error'}`);
    return body.result;
  };
  return {
    chainId: async () => Number(BigInt(String(await request('eth_chainId', [])))),
    call: async (to, data) => String(await request('eth_call', [{ to, data }, 'latest'])),
    logs: async (address, topic0s) => {
      const result = await request('eth_getLogs', [{ address, fromBlock: '0x0', toBlock: 'latest', topics: [[...topic0s]] }]);
      if (!Array.isArray(result)) throw new Error(`${url}: eth_getLogs for ${address}: result ${JSON.stringify(result)?.slice(0, 40)} is not a list of logs`);
      const parsed = z.array(EthLogSchema).safeParse(result);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new Error(`${url}: eth_getLogs for ${address}: result${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${issue.message}`);
      }
      return parsed.data;
    },
    blockTime: async (number) => {
      const block = (await request('eth_getBlockByNumber', [number === 'latest' ? 'latest' : `0x${number.toString(16)}`, false])) as { timestamp?: unknown } | null;
      if (!block) throw new Error(`${url}: no block ${number}`);
      const ts = Quantity.safeParse(block.timestamp);
      if (!ts.success) throw new Error(`${url}: block ${number}: timestamp ${JSON.stringify(block.timestamp)} is not a hex quantity like 0x1a`);
      return Number(BigInt(ts.data));
    },
  };
}
