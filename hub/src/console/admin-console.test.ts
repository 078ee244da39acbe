import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, keysService, operatorsService, RpcEndpoint } from '@sosna/protocol';
import type { ServiceSpec } from '@sosna/protocol';
import { verifySecret } from '../auth/password.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { HubStore } from '../store/types.js';
import { adminServices, checkOperatorChange } from './admin-console.js';
import type { OperatorMeta } from '../auth/roles.js';

const FAST = { N: 1024, r: 8, p: 1 };

describe('checkOperatorChange (the last admin stays)', () => {
  const ops = [{ name: 'ada', role: 'admin' as const }, { name: 'vic', role: 'viewer' as const }];
  it('refuses removing or demoting the last admin, naming them', () => {
    expect(() => checkOperatorChange(ops, 'ada', null, 'ada')).toThrow('you (ada) are the last admin and cannot be removed: make another operator admin first');
    expect(() => checkOperatorChange(ops, 'ada', 'viewer', 'ada')).toThrow(/last admin and cannot be made a viewer/);
    expect(() => checkOperatorChange(ops, 'nobody', null, 'ada')).toThrow('no operator nobody');
  });
  it('allows it when another admin remains, and any change of a non-admin', () => {
    expect(checkOperatorChange([...ops, { name: 'bob', role: 'admin' }], 'ada', null, 'ada')).toEqual(ops[0]);
    expect(checkOperatorChange(ops, 'ada', 'admin', 'ada')).toEqual(ops[0]);
    expect(checkOperatorChange(ops, 'vic', 'operator', 'ada')).toEqual(ops[1]);
  });
});

describe('keys and operators services on a real store', () => {
  let dir: string;
  let store: HubStore;
  let endpoint: RpcEndpoint<OperatorMeta>;
  let t = 1_700_000_000_000;
  const call = async <S extends ServiceSpec>(spec: S, method: string, params: unknown, operator = 'ada') => {
    const map = (await endpoint.slot(0)!.handler({ name: spec.name }, ctx(operator))) as { methods: Record<string, number> };
    const entry = endpoint.slot(map.methods[method]!)!;
    return entry.handler(entry.spec.params.parse(params), ctx(operator)) as Promise<Record<string, unknown>>;
  };
  const ctx = (operator: string) => ({ peer: operator, meta: { operator, role: 'admin' as const }, signal: new AbortController().signal, emit: () => {} });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sosna-admin-'));
    store = openSqliteStore(join(dir, 'hub.db'));
    store.putOperator({ name: 'ada', role: 'admin', secretHash: 'x', createdAt: t });
    endpoint = new RpcEndpoint<OperatorMeta>();
    adminServices(endpoint, { store, log: createLogger({ level: 'error', scope: 'test' }), now: () => t, scrypt: FAST });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a key whose secret matches the stored hash, lists it without secrets, revokes it once', async () => {
    const created = keysService.methods.create.result.parse(await call(keysService, 'create', { fleet: 'lab', max: 2, expires: '7d' }));
    expect(created).toMatchObject({ fleet: 'lab', max: 2, expiresAt: t + 7 * 86_400_000 });
    const [keyId, secret] = created.key.split('.') as [string, string];
    expect(keyId).toBe(created.keyId);
    expect(await verifySecret(secret, store.getKey(keyId)!.secretHash)).toBe(true);
    const listed = await call(keysService, 'list', {});
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(listed).toEqual({ keys: [{ keyId, fleet: 'lab', max: 2, uses: 0, expiresAt: t + 7 * 86_400_000, revokedAt: null, createdAt: expect.any(Number), status: 'active' }] });
    expect(await call(keysService, 'revoke', { keyId })).toEqual({ keyId, revokedAt: expect.any(Number) });
    expect(((await call(keysService, 'list', {})).keys as { status: string }[])[0]!.status).toBe('revoked');
    await expect(call(keysService, 'revoke', { keyId })).rejects.toMatchObject({ code: 'E_CONFLICT', message: `provisioning key ${keyId} is already revoked` });
    await expect(call(keysService, 'revoke', { keyId: 'knope' })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    await expect(call(keysService, 'create', { fleet: 'lab', expires: 'soonish' })).rejects.toThrow(/--expires "soonish"/);
    t += 8 * 86_400_000;
    await call(keysService, 'create', { fleet: 'lab', expires: '1h' });
    expect(((await call(keysService, 'list', {})).keys as { status: string }[]).map((k) => k.status)).toEqual(['revoked', 'active']);
  });

  it('adds operators once, changes roles, removes them, and keeps the last admin', async () => {
    const vic = await call(operatorsService, 'add', { name: 'vic', role: 'viewer' });
    expect(vic).toMatchObject({ name: 'vic', role: 'viewer' });
    expect(await verifySecret(vic.password as string, store.getOperator('vic')!.secretHash)).toBe(true);
    await expect(call(operatorsService, 'add', { name: 'vic', role: 'admin' })).rejects.toMatchObject({ code: 'E_CONFLICT', message: expect.stringContaining('operator vic already exists') });
    expect(store.getOperator('vic')!.role).toBe('viewer'); // the refused add changed nothing
    expect(await call(operatorsService, 'setRole', { name: 'vic', role: 'operator' })).toMatchObject({ name: 'vic', role: 'operator', previous: 'viewer' });
    expect(store.getOperator('vic')).toMatchObject({ role: 'operator', secretHash: store.getOperator('vic')!.secretHash });
    await expect(call(operatorsService, 'setRole', { name: 'ada', role: 'viewer' })).rejects.toMatchObject({ code: 'E_CONFLICT', message: expect.stringContaining('you (ada) are the last admin') });
    await expect(call(operatorsService, 'remove', { name: 'ada' })).rejects.toMatchObject({ code: 'E_CONFLICT' });
    await call(operatorsService, 'setRole', { name: 'vic', role: 'admin' });
    expect(await call(operatorsService, 'remove', { name: 'ada' })).toEqual({ name: 'ada' });
    expect(await call(operatorsService, 'list', {}, 'vic')).toEqual({ operators: [{ name: 'vic', role: 'admin', createdAt: expect.any(Number) }] });
    await expect(call(operatorsService, 'remove', { name: 'ada' }, 'vic')).rejects.toMatchObject({ code: 'E_NOT_FOUND', message: 'no operator ada' });
  });
});
