import { describe, expect, it } from 'vitest';
import { deviceRemoteService, devicesService, earningsService, hubService, jobsService, keysService, locatorService, operatorsService, payoutsService, remoteService, alertsService } from '@sosna/protocol';
import type { ServiceSpec } from '@sosna/protocol';
import { authorizeOperator, checkDeviceCall, checkRole, CONSOLE_ROLES, roleNeeded } from './roles.js';
import type { OperatorRow, Role } from './store.js';

const READ = ['devices.call', 'devices.list', 'devices.show', 'jobs.ls', 'jobs.show', 'jobs.logs', 'payouts.ls', 'earnings.list', 'hub.info', 'locator.list', 'locator.resolve', 'alerts.ls'];
const OPERATE = ['devices.set', 'devices.tag', 'jobs.submit', 'jobs.cancel', 'alerts.ack', 'alerts.test'];
const ADMIN = ['payouts.run', 'keys.create', 'keys.list', 'keys.revoke', 'operators.add', 'operators.list', 'operators.setRole', 'operators.remove'];

describe('console roles table', () => {
  it('lists every method of the console services (nothing falls to the default by accident)', () => {
    const specs: ServiceSpec[] = [devicesService, jobsService, earningsService, payoutsService, hubService, locatorService, keysService, operatorsService, remoteService, alertsService];
    const missing = specs.flatMap((s) => Object.keys(s.methods).map((m) => `${s.name}.${m}`)).filter((k) => !(k in CONSOLE_ROLES));
    expect(missing).toEqual([]);
  });

  it('lets a viewer only read, an operator also change devices and jobs, an admin everything', () => {
    const may = (role: Role, call: string) => {
      const [s, m] = call.split('.') as [string, string];
      try {
        checkRole('x', role, s, m);
        return true;
      } catch {
        return false;
      }
    };
    for (const c of READ) expect([may('viewer', c), may('operator', c), may('admin', c)], c).toEqual([true, true, true]);
    for (const c of OPERATE) expect([may('viewer', c), may('operator', c), may('admin', c)], c).toEqual([false, true, true]);
    for (const c of ADMIN) expect([may('viewer', c), may('operator', c), may('admin', c)], c).toEqual([false, false, true]);
  });

  it('lists the keys and operators methods explicitly as admin, not by the default', () => {
    const admin = [...Object.keys(keysService.methods).map((m) => `keys.${m}`), ...Object.keys(operatorsService.methods).map((m) => `operators.${m}`)];
    expect(admin).toHaveLength(7);
    for (const c of admin) expect(CONSOLE_ROLES[c], c).toBe('admin');
  });

  it('needs admin for anything it does not list (closed by default)', () => {
    expect(roleNeeded('keys', 'create')).toBe('admin');
    expect(() => checkRole('olga', 'operator', 'operators', 'add')).toThrow('operators.add needs the admin role; olga is a operator');
  });

  it('refuses with a typed error that names the role needed', () => {
    let err: unknown;
    try {
      checkRole('vic', 'viewer', 'devices', 'set');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'E_UNAUTHORIZED', message: 'devices.set needs the operator role; vic is a viewer', details: { needed: 'operator', role: 'viewer' } });
  });

  it('reads the role at call time: a promotion counts on the next call, a removed operator is refused', () => {
    const rows = new Map<string, OperatorRow>([['vic', { name: 'vic', role: 'viewer', secretHash: '', createdAt: 0 }]]);
    const authorize = authorizeOperator({ getOperator: (n) => rows.get(n) });
    const cached = { operator: 'vic', role: 'admin' as Role }; // whatever the peer cached is not trusted
    expect(() => authorize({ service: 'devices', method: 'set' }, cached)).toThrow(/needs the operator role/);
    rows.set('vic', { ...rows.get('vic')!, role: 'operator' });
    expect(authorize({ service: 'devices', method: 'set' }, cached)).toEqual({ operator: 'vic', role: 'operator' });
    rows.delete('vic');
    expect(() => authorize({ service: 'devices', method: 'list' }, cached)).toThrow('operator vic no longer exists');
  });
});

describe('calls forwarded to a device (devices.call)', () => {
  const may = (role: Role, call: string) => {
    const [s, m] = call.split('.') as [string, string];
    try {
      checkDeviceCall('x', role, s, m);
      return true;
    } catch {
      return false;
    }
  };
  it('lets a viewer read, an operator reboot and identify, an admin offer a release', () => {
    for (const c of ['system.info', 'system.ping', 'update.status', 'jobs.list']) expect([may('viewer', c), may('operator', c), may('admin', c)], c).toEqual([true, true, true]);
    for (const c of ['system.reboot', 'system.identify']) expect([may('viewer', c), may('operator', c), may('admin', c)], c).toEqual([false, true, true]);
    for (const c of ['update.offer', 'vendor.anything']) expect([may('viewer', c), may('operator', c), may('admin', c)], c).toEqual([false, false, true]);
  });
  it("never forwards the scheduler's own jobs.start / jobs.cancel, and says what to use", () => {
    for (const c of ['jobs.start', 'jobs.cancel']) expect([may('viewer', c), may('operator', c), may('admin', c)], c).toEqual([false, false, false]);
    expect(() => checkDeviceCall('alice', 'admin', 'jobs', 'start')).toThrow(/jobs\.start is the hub's own call to a device and is not forwarded; use sosna console jobs submit/);
    expect(() => checkDeviceCall('bob', 'viewer', 'system', 'reboot')).toThrow('calling system.reboot on a device needs the operator role; bob is a viewer');
  });

  it('keeps the remote shell to admins, exec and logs to operators, and never forwards the device side of it', () => {
    for (const m of ['shell', 'input', 'resize', 'sessions']) expect(roleNeeded('remote', m), m).toBe('admin');
    for (const m of ['exec', 'logs']) expect(roleNeeded('remote', m), m).toBe('operator');
    expect(() => checkRole('olga', 'operator', 'remote', 'shell')).toThrow('remote.shell needs the admin role; olga is a operator');
    // through devices.call a session would bypass the hub's record and its owner check: refused for every role
    for (const m of Object.keys(deviceRemoteService.methods)) expect(() => checkDeviceCall('root', 'admin', 'remote', m), m).toThrow(/is the hub's own call to a device and is not forwarded/);
    expect(() => checkDeviceCall('root', 'admin', 'remote', 'open')).toThrow(/use sosna console shell DEVICE/);
    expect(() => checkDeviceCall('root', 'admin', 'remote', 'logs')).toThrow(/use sosna console logs/);
  });
});
