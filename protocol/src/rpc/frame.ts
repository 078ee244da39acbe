// The whitepaper's Slave protocol framing: every frame is a msgpack tuple [channelId, messageId, args].
// On an opening frame messageId is a slot of the endpoint's dispatch map; afterwards it is one of the
// streaming slots below.
import type { Codec } from '../codec.js';
import { peekChannel } from '../codec.js';
import { SosnaError } from '../errors.js';

export const Slot = { chunk: 0, error: 1, choke: 2 } as const;
export type Frame = [channel: number, slot: number, args: unknown[]];

export type DecodedFrame = { ok: true; frame: Frame } | { ok: false; error: SosnaError; channel: number | undefined };

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function encodeFrame(codec: Codec, frame: Frame): Uint8Array {
  return codec.encode(frame);
}

/** Never throws: failures come back with the channel id when one could be read. */
export function decodeFrame(codec: Codec, bytes: Uint8Array): DecodedFrame {
  let value: unknown;
  try {
    value = codec.decode(bytes);
  } catch (err) {
    const error = err instanceof SosnaError ? err : new SosnaError('E_DECODE', String(err));
    return { ok: false, error, channel: peekChannel(bytes) };
  }
  if (!Array.isArray(value) || value.length !== 3) {
    const channel = Array.isArray(value) && isUint(value[0]) ? value[0] : undefined;
    return { ok: false, error: new SosnaError('E_BAD_FRAME', 'frame must be a [channel, slot, args] tuple'), channel };
  }
  const [channel, slot, args] = value as unknown[];
  if (!isUint(channel)) return { ok: false, error: new SosnaError('E_BAD_FRAME', 'channel must be a non-negative integer'), channel: undefined };
  if (!isUint(slot)) return { ok: false, error: new SosnaError('E_BAD_FRAME', 'slot must be a non-negative integer'), channel };
  if (!Array.isArray(args)) return { ok: false, error: new SosnaError('E_BAD_FRAME', 'args must be an array'), channel };
  return { ok: true, frame: [channel, slot, args] };
}
