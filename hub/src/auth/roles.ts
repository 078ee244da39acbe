// Who may call what on the console: ONE table of service.method -> the least role it needs, checked in
// one place (the console endpoint's authorizer) with the operator's role read from the store at call
// time, so a role change or a removed operator takes effect on the next call. Anything not in the table
// needs admin (closed by default: a new service is refused to viewers and operators until listed here).
import { SosnaError } from '@sosna/protocol';
import type { OperatorStore, Role } from './store.js';

/** A buyer ranks below a viewer: it passes no fleet-wide check, only the calls BUYER_CALLS lists. */
export const ROLE_RANK: Record<Role, number> = { buyer: -1, viewer: 0, operator: 1, admin: 2 };

/**
 * What a buyer may call: its own jobs (the handlers scope every job to its submitter: another buyer's job
 * answers "no job X", exactly like a job that does not exist), paying for them, and the hub's identity.
 * Nothing of the fleet (devices, earnings, payouts, alerts, sessions).
 */
export const BUYER_CALLS: ReadonlySet<string> = new Set([
  'locator.resolve', 'locator.list', 'hub.info',
  'jobs.submit', 'jobs.ls', 'jobs.show', 'jobs.logs', 'jobs.cancel',
  'remote.exec',
  // escrow (hub/src/escrow): where to deposit, confirming or disputing a settlement of one's own job
  'escrow.info', 'escrow.status', 'escrow.funded',
]);

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
  // receipts: the handler lets only the job's submitter or an admin see them
  'receipts.list': 'viewer',
  'offers.list': 'viewer',
  'receipts.deviceKey': 'viewer',
  'earnings.list': 'viewer',
  'earnings.devices': 'viewer',
  'trust.records': 'viewer',
  'trust.slashes': 'viewer',
  'payouts.ls': 'viewer',
  'payouts.chain': 'viewer',
  'updates.status': 'viewer',
  'alerts.ls': 'viewer',
  'mining.rates': 'viewer',
  // changing devices and jobs
  // devices.call is checked again per forwarded method (DEVICE_CALL_ROLES): its own floor is the lowest there
  'devices.call': 'viewer',
  'devices.set': 'operator',
  'devices.tag': 'operator',
  'devices.reboot': 'operator',
  'devices.identify': 'operator',
  'jobs.submit': 'operator',
  'jobs.cancel': 'operator',
  // alerts: acknowledging one (recorded who and when), a test message through each webhook
  'alerts.ack': 'operator',
  'alerts.test': 'operator',
  // money, keys, operators, updates
  'payouts.run': 'admin',
  'credentials.issue': 'admin',
  'credentials.revoke': 'admin',
  'receipts.clearDeviceKey': 'admin',
  'escrow.info': 'viewer',
  'escrow.status': 'viewer',
  'escrow.funded': 'operator',
  'escrow.credit': 'admin',
  'keys.create': 'admin',
  'keys.list': 'admin',
  'keys.revoke': 'admin',
  'operators.add': 'admin',
  'operators.list': 'admin',
  'operators.setRole': 'admin',
  'operators.remove': 'admin',
  'updates.upload': 'admin',
  'updates.publish': 'admin',
  // rig mode's revenue rates the hub publishes to every device (retained)
  'mining.setRate': 'admin',
  'mining.unsetRate': 'admin',
  // remote access (hub/src/console/remote.ts): exec is checked again against the job's submitter, input
  // and resize against the session's owner
  'remote.shell': 'admin',
  'remote.input': 'admin',
  'remote.resize': 'admin',
  'remote.sessions': 'admin',
  'remote.exec': 'operator',
  'remote.logs': 'operator',
};

export const ROLE_DEFAULT: Role = 'admin';

export function roleNeeded(service: string, method: string): Role {
  return CONSOLE_ROLES[`${service}.${method}`] ?? ROLE_DEFAULT;
}

/** Throws E_UNAUTHORIZED naming the call, the role it needs and the caller's role. Pure. */
export function checkRole(operator: string, role: Role, service: string, method: string): void {
  if (role === 'buyer') {
    if (BUYER_CALLS.has(`${service}.${method}`)) return;
    throw new SosnaError('E_UNAUTHORIZED', `${service}.${method} is not for buyers; ${operator} is a buyer (buyers submit, follow, cancel and pay for their own jobs)`, { needed: roleNeeded(service, method), role });
  }
  const needed = roleNeeded(service, method);
  if (ROLE_RANK[role] < ROLE_RANK[needed]) {
    throw new SosnaError('E_UNAUTHORIZED', `${service}.${method} needs the ${needed} role; ${operator} is a ${role}`, { needed, role });
  }
}

/**
 * What `devices.call` may forward to a device, and the least role for each: reading for viewers, the same
 * actions as devices.reboot / devices.identify for operators, offering a signed release (the device checks
 * it) for admins. A device's `jobs.start` / `jobs.cancel` are the scheduler's own protocol: forwarded, they
 * would run unbilled work or stop paid work behind the scheduler's back, so no role may forward them (jobs
 * go through jobs.submit / jobs.cancel). Anything not listed needs admin.
 */
export const DEVICE_CALL_ROLES: Readonly<Record<string, Role | 'never'>> = {
  'system.info': 'viewer',
  'system.ping': 'viewer',
  'locator.list': 'viewer',
  'update.status': 'viewer',
  'jobs.list': 'viewer',
  'jobs.logs': 'viewer',
  'rig.earnings': 'viewer',
  'system.reboot': 'operator',
  'system.identify': 'operator',
  'update.offer': 'admin',
  'jobs.start': 'never',
  'jobs.cancel': 'never',
  // the remote service goes through the console's remote.* only, which records every session
  'remote.open': 'never',
  'remote.input': 'never',
  'remote.resize': 'never',
  'remote.exec': 'never',
  'remote.logs': 'never',
};

const INSTEAD: Record<string, string> = {
  'jobs.start': 'sosna console jobs submit',
  'jobs.cancel': 'sosna console jobs cancel',
  'remote.exec': 'sosna console jobs exec',
  'remote.logs': 'sosna console logs',
};

/** Throws E_UNAUTHORIZED when `operator` (with `role`) may not forward service.method to a device. Pure. */
export function checkDeviceCall(operator: string, role: Role, service: string, method: string): void {
  const needed = DEVICE_CALL_ROLES[`${service}.${method}`] ?? 'admin';
  if (needed === 'never') {
    const instead = INSTEAD[`${service}.${method}`] ?? 'sosna console shell DEVICE';
    throw new SosnaError('E_UNAUTHORIZED', `${service}.${method} is the hub's own call to a device and is not forwarded; use ${instead}`, { needed, role });
  }
  if (ROLE_RANK[role] < ROLE_RANK[needed]) {
    throw new SosnaError('E_UNAUTHORIZED', `calling ${service}.${method} on a device needs the ${needed} role; ${operator} is a ${role}`, { needed, role });
  }
}

/** Who calls a console service: the operator's name and role (read from the store at call time). */
export interface OperatorMeta {
  operator: string;
  role: Role;
}

/** `buyerToo`: a buyer may do this too (to its own jobs: the handler scopes them). */
export function requireRole(meta: OperatorMeta, needed: Role, what: string, buyerToo = false): void {
  if (buyerToo && meta.role === 'buyer') return;
  if (ROLE_RANK[meta.role] < ROLE_RANK[needed]) throw new SosnaError('E_UNAUTHORIZED', `${what} needs the ${needed} role; ${meta.operator} is a ${meta.role}`);
}

/** Whether `meta` may see a job submitted by `submittedBy`: everyone but a buyer sees all jobs. Pure. */
export function maySeeJob(meta: OperatorMeta, submittedBy: string): boolean {
  return meta.role !== 'buyer' || submittedBy === meta.operator;
}

/**
 * The console endpoint's one check of every call: the operator's role as the store has it NOW (a removed
 * operator is refused, a changed role counts from the next call) against the roles table.
 */
export function authorizeOperator(store: Pick<OperatorStore, 'getOperator'>) {
  return (call: { service: string; method: string }, meta: OperatorMeta): OperatorMeta => {
    const row = store.getOperator(meta.operator);
    if (!row) throw new SosnaError('E_UNAUTHORIZED', `operator ${meta.operator} no longer exists`);
    checkRole(row.name, row.role, call.service, call.method);
    return { operator: row.name, role: row.role };
  };
}
