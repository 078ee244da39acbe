import { z } from 'zod';
import { Id } from '@sosna/protocol';

/** What provisioning leaves in the state directory: the device's own identity at its hub. */
export const Credentials = z.object({
  hubId: Id,
  deviceId: Id,
  username: z.string().min(1),
  password: z.string().min(1),
  url: z.string().min(1),
  provisionedAt: z.number(),
});
export type Credentials = z.infer<typeof Credentials>;

export const ProvisionState = z.object({ nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/) });

export const CREDENTIALS_FILE = 'credentials.json';
export const PROVISION_FILE = 'provision.json';
