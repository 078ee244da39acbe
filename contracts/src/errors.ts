// Turns a failed call or transaction into the name of the contract's custom error.
import { ErrorFragment, Interface, type Result } from 'ethers';
import { artifacts } from './generated/artifacts.js';

export interface DecodedRevert {
  name: string;
  args: Result;
}

/** Every custom error of every sosna contract (and the OpenZeppelin code they use), in one Interface. */
export const errorsInterface: Interface = (() => {
  const seen = new Map<string, ErrorFragment>();
  for (const artifact of Object.values(artifacts)) {
    for (const item of artifact.abi) {
      if (item.type !== 'error') continue;
      const fragment = ErrorFragment.from(item);
      seen.set(fragment.format('sighash'), fragment);
    }
  }
  return new Interface([...seen.values()]);
})();

/** The revert data carried by an ethers error, however deeply it is nested. */
export function revertData(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): string | undefined => {
    if (value === null || typeof value !== 'object' || seen.has(value) || depth > 6) return undefined;
    seen.add(value);
    const record = value as Record<string, unknown>;
    const data = record['data'];
    if (typeof data === 'string' && /^0x[0-9a-fA-F]{8}/.test(data)) return data;
    for (const key of ['info', 'error', 'cause', 'data', 'receipt']) {
      const found = visit(record[key], depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(err, 0);
}

/** The custom error a call reverted with, decoded with `iface` (all sosna errors by default). */
export function decodeRevert(err: unknown, iface: Interface = errorsInterface): DecodedRevert | undefined {
  const data = revertData(err);
  if (data === undefined) return undefined;
  try {
    const parsed = iface.parseError(data);
    return parsed === null ? undefined : { name: parsed.name, args: parsed.args };
  } catch {
    return undefined;
  }
}

/** The name of the custom error a call reverted with, or undefined when it was not one. */
export function revertName(err: unknown, iface?: Interface): string | undefined {
  return decodeRevert(err, iface)?.name;
}
