// MessagePack codec for every sosna payload. bigint (token amounts in wei exceed 64 bits) travels as
// extension type 1: one sign byte (0 = non-negative, 1 = negative) followed by the big-endian magnitude.
import { Decoder, Encoder, ExtensionCodec } from '@msgpack/msgpack';
import { SosnaError } from './errors.js';

export const BIGINT_EXT = 1;
/** Default cap on one payload; brokers and receivers refuse more before decoding. */
export const DEFAULT_MAX_PAYLOAD = 256 * 1024;

function bigintToBytes(value: bigint): Uint8Array {
  const negative = value < 0n;
  let mag = negative ? -value : value;
  const bytes: number[] = [];
  while (mag > 0n) {
    bytes.unshift(Number(mag & 0xffn));
    mag >>= 8n;
  }
  return Uint8Array.from([negative ? 1 : 0, ...bytes]);
}

function bytesToBigint(data: Uint8Array): bigint {
  if (data.length === 0 || (data[0] !== 0 && data[0] !== 1)) {
    throw new SosnaError('E_DECODE', 'bigint extension: bad sign byte');
  }
  if (data.length > 65) throw new SosnaError('E_DECODE', 'bigint extension: more than 512 bits');
  let v = 0n;
  for (let i = 1; i < data.length; i++) v = (v << 8n) | BigInt(data[i]!);
  return data[0] === 1 ? -v : v;
}

export interface CodecOptions {
  maxPayload?: number;
}

export interface Codec {
  readonly maxPayload: number;
  encode(value: unknown): Uint8Array;
  /** Throws SosnaError E_TOO_LARGE or E_DECODE; never anything else. */
  decode(bytes: Uint8Array): unknown;
}

export function createCodec(opts: CodecOptions = {}): Codec {
  const maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const ext = new ExtensionCodec();
  ext.register({
    type: BIGINT_EXT,
    encode: (input: unknown) => (typeof input === 'bigint' ? bigintToBytes(input) : null),
    decode: (data: Uint8Array) => bytesToBigint(data),
  });
  const encoder = new Encoder({ extensionCodec: ext, ignoreUndefined: true });
  // Limits keep a hostile payload from allocating more than it carries.
  const decoder = new Decoder({
    extensionCodec: ext,
    maxStrLength: maxPayload,
    maxBinLength: maxPayload,
    maxArrayLength: 100_000,
    maxMapLength: 100_000,
    maxExtLength: 1024,
  });
  return {
    maxPayload,
    encode: (value) => encoder.encode(value),
    decode(bytes) {
      if (bytes.byteLength > maxPayload) {
        throw new SosnaError('E_TOO_LARGE', `payload of ${bytes.byteLength} bytes exceeds the limit of ${maxPayload}`);
      }
      try {
        return decoder.decode(bytes);
      } catch (err) {
        if (err instanceof SosnaError) throw err;
        throw new SosnaError('E_DECODE', `malformed msgpack: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  };
}

/**
 * Reads the channel id of an RPC frame ([channel, slot, args]) without decoding the rest, so that an
 * oversized or partly broken frame can still be answered with an error on its channel.
 */
export function peekChannel(bytes: Uint8Array): number | undefined {
  if (bytes.length < 2) return undefined;
  const head = bytes[0]!;
  let i: number;
  if (head >= 0x90 && head <= 0x9f) i = 1; // fixarray
  else if (head === 0xdc) i = 3; // array 16
  else if (head === 0xdd) i = 5; // array 32
  else return undefined;
  const b = bytes[i];
  if (b === undefined) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (b <= 0x7f) return b;
    if (b === 0xcc) return view.getUint8(i + 1);
    if (b === 0xcd) return view.getUint16(i + 1);
    if (b === 0xce) return view.getUint32(i + 1);
    if (b === 0xcf) {
      const v = view.getBigUint64(i + 1);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
