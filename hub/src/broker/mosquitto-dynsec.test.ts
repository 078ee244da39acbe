// The dynsec roles say what policy.ts says for devices (the embedded broker's rules), and the base roles are
// pushed only where missing (dynsec disconnects the hub whenever its own roles change).
import { describe, expect, it } from 'vitest';
import { topics } from '@sosna/protocol';
import { mayPublish, maySubscribe } from '../auth/policy.js';
import { baseCommands, deviceAcls, HUB_ROLE, putDeviceCommands } from './mosquitto-dynsec.js';

const hub = 'hub-1';
const session = { principal: { kind: 'device' as const, deviceId: 'rig-a' }, clientId: 'rig-a' };

describe('dynsec device roles', () => {
  it('grant exactly the topics policy.ts grants a device, on its own topics only', () => {
    const acls = deviceAcls(hub, 'rig-a');
    const channels = ['state', 'telemetry', 'rpc/out', 'rpc/in', 'config'] as const;
    for (const id of ['rig-a', 'rig-b']) {
      for (const c of channels) {
        const topic = topics.device(hub, id, c);
        expect(acls.some((a) => a.acltype === 'publishClientSend' && a.topic === topic), `publish ${topic}`).toBe(mayPublish(session, hub, topic));
        expect(acls.some((a) => a.acltype === 'subscribeLiteral' && a.topic === topic), `subscribe ${topic}`).toBe(maySubscribe(session, hub, topic));
      }
    }
    expect(acls.every((a) => a.allow && !/[+#%]/.test(a.topic))).toBe(true); // literal topics, no patterns
  });

  it('bind the login to its client id and replace an older login', () => {
    const cmds = putDeviceCommands(hub, 'rig-a', 'secret');
    expect(cmds.map((c) => c.command)).toEqual(['deleteClient', 'deleteRole', 'createRole', 'createClient']);
    expect(cmds[3]).toMatchObject({ username: 'dev:rig-a', clientid: 'rig-a', password: 'secret' });
  });
});

describe('dynsec base roles', () => {
  it('are all pushed on an empty broker, and nothing when present', () => {
    const empty = [{ command: 'getClient', data: { client: { username: 'hub', roles: [{ rolename: 'admin' }] } } }, { command: 'getRole', error: 'Role not found' }, { command: 'getRole', error: 'Role not found' }];
    const all = baseCommands('hub', empty);
    expect(all.filter((c) => c.command === 'createRole')).toHaveLength(2);
    expect(all.at(-1)).toEqual({ command: 'addClientRole', username: 'hub', rolename: HUB_ROLE });
    const present = [
      { command: 'getClient', data: { client: { roles: [{ rolename: 'admin' }, { rolename: HUB_ROLE }] } } },
      ...all.filter((c) => c.command === 'createRole').map((r) => ({ command: 'getRole', data: { role: { acls: all.filter((c) => c.command === 'addRoleACL' && c.rolename === r.rolename).map((c) => ({ acltype: c.acltype, topic: c.topic, allow: true })) } } })),
    ];
    expect(baseCommands('hub', present)).toEqual([]);
  });
});
