// A service is a named set of methods, each with a params schema and a result schema. The endpoint that
// implements services numbers their methods into slots; `locator.resolve(name)` returns that dispatch map.
import type { z } from 'zod';

export interface MethodSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  params: P;
  /** For a streaming method, the schema of each chunk; otherwise of the single result. */
  result: R;
  streaming?: boolean;
}

export interface ServiceSpec<M extends Record<string, MethodSpec> = Record<string, MethodSpec>> {
  name: string;
  methods: M;
}

export function defineService<const M extends Record<string, MethodSpec>>(name: string, methods: M): ServiceSpec<M> {
  return { name, methods };
}

export type Params<S extends ServiceSpec, K extends keyof S['methods']> = z.input<S['methods'][K]['params']>;
export type Result<S extends ServiceSpec, K extends keyof S['methods']> = z.output<S['methods'][K]['result']>;

export interface CallContext<Meta = unknown> {
  /** Who is on the other side of this peer (device id, operator name, provisioning session). */
  peer: string;
  meta: Meta;
  /** Aborted when the caller cancels (choke on the channel) or the peer closes. */
  signal: AbortSignal;
  /** Streams one chunk to the caller (streaming methods). */
  emit(chunk: unknown): void;
}

export type Handler<P, R, Meta> = (params: P, ctx: CallContext<Meta>) => Promise<R> | R;

export type Handlers<S extends ServiceSpec, Meta = unknown> = {
  [K in keyof S['methods']]: Handler<
    z.output<S['methods'][K]['params']>,
    S['methods'][K]['streaming'] extends true ? void : z.input<S['methods'][K]['result']>,
    Meta
  >;
};
