// Who may call what on the console: ONE table of service.method -> the least role it needs, checked in
// one place (the console endpoint's authorizer) with the operator's role read from the store at call
// time, so a role change or a removed operator takes effect on the next call. Anything not in the table
// needs admin (closed by default: a new service is refused to viewers and operators until listed here).
import { SosnaError } from '@sosna/protocol';
import type { Role } from '../store/types.js';

export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export const CONSOLE_ROLES: Readonly<Record<string, Role>> = {
  // reading
  'locator.resolve': 'viewer',
  'locator.list': 'viewer',
  'hub.info': 'viewer',
  'devices.list': 'viewer',
  'devices.show': 'viewer',
  'devices.watch': 'viewer',
  'jobs.ls': 'viewer',
  'jobs.show': 'viewer',
  'jobs.logs': 'viewer',
  'earnings.list': 'viewer',
  'earnings.devices': 'viewer',
  'payouts.ls': 'viewer',
  'payouts.chain': 'viewer',
  'updates.status': 'viewer',
  // changing devices and jobs
  'devices.call': 'operator',
  'devices.set': 'operator',
  'devices.tag': 'operator',
  'devices.reboot': 'operator',
  'devices.identify': 'operator',
  'jobs.submit': 'operator',
  'jobs.cancel': 'operator',
  // money, keys, operators, updates
  'payouts.run': 'admin',
  'keys.create': 'admin',
  'keys.list': 'admin',
  'keys.revoke': 'admin',
  'operators.add': 'admin',
  'operators.list': 'admin',
  'operators.setRole': 'admin',
  'operators.remove': 'admin',
  'updates.upload': 'admin',
  'updates.publish': 'admin',
};

export const ROLE_DEFAULT: Role = 'admin';

export function roleNeeded(service: string, method: string): Role {
  return CONSOLE_ROLES[`${service}.${method}`] ?? ROLE_DEFAULT;
}

/** Throws E_UNAUTHORIZED naming the call, the role it needs and the caller's role. Pure. */
export function checkRole(operator: string, role: Role, service: string, method: string): void {
  const needed = roleNeeded(service, method);
  if (ROLE_RANK[role] < ROLE_RANK[needed]) {
    throw new SosnaError('E_UNAUTHORIZED', `${service}.${method} needs the ${needed} role; ${operator} is a ${role}`, { needed, role });
  }
}
