// Read-only JSON-RPC to an Ethereum node (eth_call, eth_chainId) over fetch, with a time-out.
export interface EthReader {
  chainId(): Promise<number>;
  call(to: string, data: string): Promise<string>;
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
  };
}
