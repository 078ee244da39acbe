// A connected login as the broker knows it: who (the principal its user name names) under which client id.
// The broker declares it for its auth hooks; the ACL (auth/policy.ts) and the logins (auth/authenticator.ts)
// decide on it, so auth imports the broker's type and the broker imports nothing of auth.
import type { Principal } from '@sosna/protocol';

export interface Session {
  principal: Principal;
  clientId: string;
}
