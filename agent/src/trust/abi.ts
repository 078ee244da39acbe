// Just enough of the Ethereum ABI for read-only checks: selectors, static arguments and return words.
// (The agent stays lean: no ethers in the daemon.)
import { keccak_256 } from '@noble/hashes/sha3';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The 4-byte selector of a function signature like `isListed(address)`, as 0x-hex. */
export function selector(signature: string): string {
  return `0x${hex(keccak_256(new TextEncoder().encode(signature)).subarray(0, 4))}`;
}

/** The topic of an event signature like `Paid(address,uint256,uint256)` (its keccak-256), as 0x-hex. */
export function eventTopic(signature: string): string {
  return `0x${hex(keccak_256(new TextEncoder().encode(signature)))}`;
}

function word(value: bigint): string {
  if (value < 0n || value >= 2n ** 256n) throw new RangeError(`${value} does not fit a uint256`);
  return value.toString(16).padStart(64, '0');
}

export type AbiArg = { type: 'address'; value: string } | { type: 'uint256'; value: bigint } | { type: 'bool'; value: boolean };

/** Call data for a function with static arguments only. */
export function encodeCall(signature: string, args: AbiArg[] = []): string {
  return (
    selector(signature) +
    args
      .map((a) => {
        if (a.type === 'address') {
          if (!/^0x[0-9a-fA-F]{40}$/.test(a.value)) throw new TypeError(`not an address: ${a.value}`);
          return a.value.slice(2).toLowerCase().padStart(64, '0');
        }
        if (a.type === 'bool') return word(a.value ? 1n : 0n);
        return word(a.value);
      })
      .join('')
  );
}

/** The n-th 32-byte word of return data (0x-hex) as a bigint; throws when the data is too short. */
export function returnWord(data: string, n = 0): bigint {
  const body = data.startsWith('0x') ? data.slice(2) : data;
  if (!/^[0-9a-fA-F]*$/.test(body)) throw new TypeError('return data is not hex');
  const w = body.slice(n * 64, n * 64 + 64);
  if (w.length !== 64) throw new RangeError(`return data has no word ${n} (length ${body.length / 2} bytes)`);
  return BigInt(`0x${w}`);
}

export const decode = {
  uint: (data: string, n = 0) => returnWord(data, n),
  bool: (data: string, n = 0) => returnWord(data, n) !== 0n,
  address: (data: string, n = 0) => `0x${returnWord(data, n).toString(16).padStart(40, '0')}`,
};
