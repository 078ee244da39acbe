// What the hub pushes to Mosquitto's dynamic-security plugin (pure: command lists, no I/O). The ACLs are
// policy.ts's rules written as dynsec roles, so that the broker enforces what the embedded broker's hooks do:
//   sosna-hub            the hub's own login: publish and subscribe anywhere under sosna/v1/ (dynsec init's
//                        admin role only administers the plugin)
//   sosna-announce       everyone: read the hubs' announcements and mining rates (retained, public figures)
//   sosna-dev-{id}       one device: publish its own state/telemetry/rpc/out, subscribe its own rpc/in and config
// Dynsec clients bind a device login to its client id (`clientid`), as mayConnect does. Roles are literal
// topics per device (no %c patterns: one small role per device is explicit and needs nothing version-specific).
import { ROOT, topics, usernames } from '@sosna/protocol';

export type DynsecCommand = { command: string } & Record<string, unknown>;

export const HUB_ROLE = 'sosna-hub';
export const ANNOUNCE_ROLE = 'sosna-announce';
export const deviceRole = (deviceId: string) => `sosna-dev-${deviceId}`;

interface Acl { acltype: string; topic: string; allow: boolean; priority?: number }

function allow(acltype: string, topic: string): Acl {
  return { acltype, topic, allow: true };
}

const BASE_ROLES: { rolename: string; textdescription: string; acls: Acl[] }[] = [
  { rolename: HUB_ROLE, textdescription: 'the sosna hub: all of sosna/v1/', acls: [allow('publishClientSend', `${ROOT}/#`), allow('subscribePattern', `${ROOT}/#`)] },
  { rolename: ANNOUNCE_ROLE, textdescription: 'sosna: read hub announcements', acls: [allow('subscribePattern', topics.announceAll()), allow('subscribePattern', `${ROOT}/+/mining/rates`)] },
];

/** Reads what baseCommands would change: the hub's login and the base roles. */
export function baseQuery(hubUser: string): DynsecCommand[] {
  return [{ command: 'getClient', username: hubUser }, ...BASE_ROLES.map((r) => ({ command: 'getRole', rolename: r.rolename }))];
}

interface Answer { command: string; error?: string; data?: unknown }

/**
 * What is missing of the roles every hub needs, from the answers to baseQuery: only that is pushed, because
 * dynsec disconnects a client whose roles change (the hub itself, when it gets its own role).
 */
export function baseCommands(hubUser: string, answers: Answer[]): DynsecCommand[] {
  const out: DynsecCommand[] = [];
  BASE_ROLES.forEach((r, i) => {
    const a = answers[i + 1];
    const have = (a?.data as { role?: { acls?: Acl[] } } | undefined)?.role?.acls;
    if (!have) out.push({ command: 'createRole', rolename: r.rolename, textdescription: r.textdescription });
    for (const acl of r.acls) {
      if (!have?.some((h) => h.acltype === acl.acltype && h.topic === acl.topic && h.allow)) out.push({ command: 'addRoleACL', rolename: r.rolename, ...acl });
    }
  });
  const roles = (answers[0]?.data as { client?: { roles?: { rolename: string }[] } } | undefined)?.client?.roles ?? [];
  if (!roles.some((r) => r.rolename === HUB_ROLE)) out.push({ command: 'addClientRole', username: hubUser, rolename: HUB_ROLE });
  return out;
}

export function deviceAcls(hubId: string, deviceId: string): Acl[] {
  return [
    ...(['state', 'telemetry', 'rpc/out'] as const).map((c) => allow('publishClientSend', topics.device(hubId, deviceId, c))),
    ...(['rpc/in', 'config'] as const).map((c) => allow('subscribeLiteral', topics.device(hubId, deviceId, c))),
  ];
}

/** A device's login as the hub just issued it (replacing any older one: a connected device is disconnected). */
export function putDeviceCommands(hubId: string, deviceId: string, password: string): DynsecCommand[] {
  const username = usernames.device(deviceId);
  return [
    { command: 'deleteClient', username },
    { command: 'deleteRole', rolename: deviceRole(deviceId) },
    { command: 'createRole', rolename: deviceRole(deviceId), acls: deviceAcls(hubId, deviceId) },
    { command: 'createClient', username, password, clientid: deviceId, roles: [{ rolename: deviceRole(deviceId) }, { rolename: ANNOUNCE_ROLE }] },
  ];
}

/** Removes a device's login (the broker disconnects it) and its role. */
export function deleteDeviceCommands(deviceId: string): DynsecCommand[] {
  return [{ command: 'deleteClient', username: usernames.device(deviceId) }, { command: 'deleteRole', rolename: deviceRole(deviceId) }];
}

/** Answers that mean the state is already what the command wanted. */
export function isHarmless(command: string, error: string): boolean {
  if (/already exists|already has|ACL with this topic already exists/i.test(error)) return true;
  if ((command === 'deleteClient' || command === 'deleteRole') && /not found/i.test(error)) return true;
  return false;
}

/** The device ids of the sosna device logins among a listClients answer. */
export function deviceIdsOf(usernamesListed: string[]): string[] {
  return usernamesListed.filter((u) => u.startsWith('dev:')).map((u) => u.slice(4));
}
