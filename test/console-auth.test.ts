// Wrong console credentials: the error names the operator, the hub URL, where the credentials came from
// and how to fix them; the hub still answers a wrong user and a wrong password alike on the wire.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addOperator, ConsoleClient, startHub } from '@sosna/hub';
import type { Hub } from '@sosna/hub';
import { connectOnce, silentLogger, usernames } from '@sosna/protocol';
import { tempDir } from './helpers.js';
import { cli, freePort, requireBuild } from './procs.js';

const tmp = tempDir();
let hub: Hub;
let url: string;
let password: string;
const scrypt = { N: 1024, r: 8, p: 1 };

beforeAll(async () => {
  requireBuild();
  hub = await startHub({ dataDir: join(tmp.dir, 'hub'), mqtt: { host: '127.0.0.1', port: 0, wsPort: null }, scryptN: 1024, chain: { mode: 'off' } }, { log: silentLogger });
  url = `mqtt://127.0.0.1:${hub.mqttPort}`;
  ({ password } = await addOperator(hub.store, 'alice', 'admin', scrypt));
});
afterAll(async () => {
  await hub.stop();
  tmp.cleanup();
});

const profile = (name: string, p: object) => {
  const file = join(tmp.dir, name);
  writeFileSync(file, JSON.stringify({ url, hubId: hub.hubId, ...p }));
  return file;
};

describe('console credentials refused', () => {
  it('the hub refuses a wrong user and a wrong password with the same answer', async () => {
    const wrong = (user: string, pw: string) => connectOnce({ url, clientId: `x-${user}`, username: usernames.operator(user), password: pw }).then(() => 'connected', (e: Error) => e.message);
    const [badPassword, badUser] = await Promise.all([wrong('alice', 'wrong'), wrong('mallory', password)]);
    expect(badPassword).toBe(badUser);
  });

  it('the client names the operator and the hub, and says user or password', async () => {
    await expect(ConsoleClient.connect({ url, hubId: hub.hubId, user: 'alice', password: 'wrong' })).rejects.toThrow(
      `${url} refused operator op:alice: the user name or the password is wrong (or the operator was removed)`,
    );
    const ok = await ConsoleClient.connect({ url, hubId: hub.hubId, user: 'alice', password });
    await ok.close();
  });

  it('sosna console names the profile file the credentials came from', async () => {
    const file = profile('wrong.json', { user: 'alice', password: 'wrong' });
    const r = await cli(['console', 'devices', '--profile', file]);
    expect(r.code).toBe(1);
    expect(r.output).toContain(`refused operator op:alice: the user name or the password is wrong`);
    expect(r.output).toContain(`credentials from profile ${file}: fix the user or password there, or pass --profile FILE`);
    const flags = await cli(['console', '--profile', file, '--user', 'bob', 'devices']);
    expect(flags.output).toContain(`refused operator op:bob`);
    expect(flags.output).toContain(`credentials from profile ${file}, --user:`);
  });

  it('an unreachable hub is named as such, with the profile', async () => {
    const port = await freePort();
    const file = profile('gone.json', { url: `mqtt://127.0.0.1:${port}`, user: 'alice', password });
    const r = await cli(['console', 'devices', '--profile', file]);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(new RegExp(`cannot reach mqtt://127.0.0.1:${port}: .*ECONNREFUSED.* \\(is the hub running there\\?\\)`));
    expect(r.output).toContain(`credentials from profile ${file}: fix the url there, or start the hub`);
  });
});
