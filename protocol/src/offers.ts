// What is on offer: the capacity free now on a hub's online devices, grouped by hardware class, with the
// devices' asks (see docs/architecture.md "What is on offer"). The requirements are the job spec's own
// (resources, constraints, bid), checked by the scheduler's matcher, so `offers` and `jobs submit` agree.
import { z } from 'zod';
import { JobConstraints, JobResources, Wei } from './jobs.js';
import { defineService } from './rpc/service.js';

export const OfferRequirements = z.strictObject({
  /** Without it, no resource requirement: every device with a free job slot counts. */
  resources: JobResources.optional(),
  constraints: JobConstraints.optional(),
  /** Only devices that ask at most this (wei/s). */
  bid: Wei.optional(),
});
export type OfferRequirements = z.output<typeof OfferRequirements>;

export const OfferClass = z.object({
  gpu: z.string().nullable(),
  gpuCount: z.number().int(),
  /** Memory of each GPU (the smallest in the device), bytes. */
  vramBytes: z.number().nullable(),
  cpu: z.string().nullable(),
  cores: z.number().int().nullable(),
  /** Memory the devices offer to jobs, bytes (the class holds devices of the same whole GiB). */
  memoryBytes: z.number(),
  arch: z.string().nullable(),
  /** A device tag `region=NAME` (or `region:NAME`). */
  region: z.string().nullable(),
  /** The lowest score of each benchmark among the class's devices. */
  benchmarks: z.record(z.string(), z.number()),
  /** Devices of this class free now (that could take one more run of the given requirements). */
  devices: z.number().int(),
  askMin: z.bigint(),
  askMedian: z.bigint(),
  freeCpus: z.number(),
  freeMemoryBytes: z.number(),
  freeGpus: z.number().int(),
});
export type OfferClass = z.infer<typeof OfferClass>;

export const offersService = defineService('offers', {
  list: { params: OfferRequirements, result: z.object({ classes: z.array(OfferClass), online: z.number().int(), free: z.number().int() }) },
});
