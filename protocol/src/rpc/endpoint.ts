// The service side of an RPC endpoint: the dispatch table (slot -> method) and the built-in locator.
import { z } from 'zod';
import { defineService } from './service.js';
import type { Handler, Handlers, MethodSpec, ServiceSpec } from './service.js';

export const DispatchMap = z.record(z.string(), z.number().int().nonnegative());

export const locatorService = defineService('locator', {
  resolve: {
    params: z.object({ name: z.string().min(1).max(128) }),
    result: z.object({ name: z.string(), methods: DispatchMap }),
  },
  list: {
    params: z.object({}),
    result: z.object({ services: z.array(z.object({ name: z.string(), methods: z.array(z.string()) })) }),
  },
});
/** Slots of the locator are fixed, so a caller can resolve anything else from nothing. */
export const LOCATOR_SLOTS = { resolve: 0, list: 1 } as const;

export interface SlotEntry<Meta = unknown> {
  service: string;
  method: string;
  spec: MethodSpec;
  handler: Handler<unknown, unknown, Meta>;
}

/**
 * Runs before every handler of an endpoint with the caller's meta; throws to refuse the call, or returns the
 * meta the handler sees (e.g. the caller's role as it is now, not as it was when the peer was created).
 */
export type Authorizer<Meta> = (call: { service: string; method: string }, meta: Meta) => Meta | Promise<Meta>;

export class RpcEndpoint<Meta = unknown> {
  private readonly slots: SlotEntry<Meta>[] = [];
  private readonly maps = new Map<string, Record<string, number>>();
  private authorizer: Authorizer<Meta> | null = null;

  constructor() {
    this.add(locatorService, {
      resolve: ({ name }) => {
        const methods = this.maps.get(name);
        if (!methods) throw Object.assign(new Error(`no service named ${JSON.stringify(name)}`), { code: 'E_NOT_FOUND' });
        return { name, methods };
      },
      list: () => ({
        services: [...this.maps.entries()].map(([name, methods]) => ({ name, methods: Object.keys(methods) })),
      }),
    });
  }

  add<S extends ServiceSpec>(spec: S, handlers: Handlers<S, Meta>): this {
    if (this.maps.has(spec.name)) throw new Error(`service ${spec.name} registered twice`);
    const map: Record<string, number> = {};
    for (const [method, methodSpec] of Object.entries(spec.methods)) {
      const handler = (handlers as Record<string, Handler<unknown, unknown, Meta>>)[method];
      if (!handler) throw new Error(`service ${spec.name}: no handler for ${method}`);
      map[method] = this.slots.length;
      this.slots.push({ service: spec.name, method, spec: methodSpec, handler });
    }
    this.maps.set(spec.name, map);
    return this;
  }

  /** The one check of every call on this endpoint (see Authorizer). */
  authorize(fn: Authorizer<Meta>): this {
    this.authorizer = fn;
    return this;
  }

  /** The meta a call runs with: the authorizer's answer, or the peer's meta when there is no authorizer. */
  admit(entry: SlotEntry<Meta>, meta: Meta): Meta | Promise<Meta> {
    return this.authorizer ? this.authorizer({ service: entry.service, method: entry.method }, meta) : meta;
  }

  slot(n: number): SlotEntry<Meta> | undefined {
    return this.slots[n];
  }
}
