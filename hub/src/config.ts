import { z } from 'zod';
import { Id } from '@sosna/protocol';

export const HubConfig = z
  .object({
    name: z.string().min(1).max(128).default('sosna hub'),
    /** Fixed at first start (default: hub- + the owner address' first 8 hex digits); topics carry it. */
    hubId: Id.optional(),
    dataDir: z.string().min(1).default('.sosna/hub'),
    mqtt: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(1883),
        wsPort: z.number().int().min(0).max(65535).nullable().default(8083),
        maxPayloadBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
      })
      .strict()
      .prefault({}),
    /** Endpoints announced to devices; default from the listeners. */
    publicUrls: z.array(z.string().min(1)).default([]),
    devices: z
      .object({
        telemetryFlushMs: z.number().int().min(10).max(60_000).default(1000),
        callTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
      })
      .strict()
      .prefault({}),
    /** scrypt cost (N) for new secrets; stored hashes keep their own. */
    scryptN: z.number().int().min(1024).max(1_048_576).default(16_384),
    log: z.object({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info'), json: z.boolean().default(false) }).strict().prefault({}),
  })
  .strict();
export type HubConfig = z.infer<typeof HubConfig>;
export type HubConfigInput = z.input<typeof HubConfig>;
