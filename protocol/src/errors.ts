// Typed errors that cross the wire in RPC `error` frames as [code, message].

export const ErrorCodes = [
  'E_DECODE',        // bytes are not valid msgpack
  'E_BAD_FRAME',     // not a [channel, slot, args] tuple
  'E_TOO_LARGE',     // payload above the configured limit
  'E_UNKNOWN_SLOT',  // opening frame names no method of this endpoint
  'E_NOT_FOUND',     // service, device or record does not exist
  'E_INVALID',       // arguments or message failed schema validation
  'E_UNAUTHORIZED',  // caller may not do this
  'E_UNAVAILABLE',   // peer offline or not reachable now
  'E_TIMEOUT',       // no answer in time
  'E_CANCELLED',     // caller cancelled the call
  'E_CONFLICT',      // state does not allow the operation
  'E_INTERNAL',      // handler failed unexpectedly
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

export class SosnaError extends Error {
  override readonly name = 'SosnaError';
  constructor(readonly code: ErrorCode, message: string, readonly details?: unknown) {
    super(message);
  }
  toWire(): [ErrorCode, string] {
    return [this.code, this.message];
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ErrorCodes as readonly string[]).includes(value);
}

/** Any thrown value as a SosnaError; unknown errors become E_INTERNAL with their message. */
export function toSosnaError(err: unknown): SosnaError {
  if (err instanceof SosnaError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SosnaError('E_INTERNAL', message);
}
