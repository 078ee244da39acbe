// Issue 13's measurement, run by hand (npm run test:manual): how long a revoke takes on Mosquitto with 1,000
// device logins, by the two routes the hub could push them: the dynamic-security plugin (what the hub does,
// hub/src/broker/mosquitto.ts) and a password file + ACL file reloaded with SIGHUP. Prints the figures; the
// only assertions are that each revoke refuses the login and closes the connected device.
// Figures on the 2-core dev box (2026-12-05, Mosquitto 2.0.11): dynsec 1,000 pushes one by one 67 s (dynsec
// rewrites its JSON file on each change: ~67 ms a device at 1,000), deleteDevice 93 ms round trip, the connected
// device closed at once, the next login refused; password file: mosquitto_passwd -U of 1,000 users 0.1 s, rewrite +
// SIGHUP to a refused login 14 ms, the connected device closed 15 ms after. The password file cannot hold sosna's
// user names (dev:{id}: its format splits at the first colon), so that route used dev-{id} here.
import { expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { connectOnce, silentLogger } from '@sosna/protocol';
import { startPrivateMosquitto } from '../mosquitto.js';
import { startExternalBroker } from '../../hub/src/broker/mosquitto.js';
import { freePort, } from '../procs.js';
import { tempDir } from '../helpers.js';

const N = 1000;
const pw = (i: number) => `pw-${i}-${'x'.repeat(28)}`;

/** Ms until a login with these credentials is refused (tried back to back). */
async function refusedAfter(url: string, clientId: string, username: string, password: string): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    try {
      (await connectOnce({ url, clientId, username, password, connectTimeoutMs: 2000 })).end(true);
    } catch {
      return performance.now() - t0;
    }
    if (performance.now() - t0 > 10_000) throw new Error('still accepted after 10 s');
  }
}

function closedWithin(c: { on(e: 'close', f: () => void): unknown }, ms: number): Promise<number | null> {
  const s = performance.now();
  return new Promise((r) => {
    c.on('close', () => r(performance.now() - s));
    setTimeout(() => r(null), ms);
  });
}

it(`revoking one of ${N} logins: dynsec vs password file + SIGHUP`, async () => {
  const tmp = tempDir();
  try {
    const m = await startPrivateMosquitto({ dir: join(tmp.dir, 'dynsec') });
    const b = await startExternalBroker({ url: m.url, ...m.admin, hubId: 'h1', log: silentLogger });
    let t = performance.now();
    for (let i = 0; i < N; i++) await b.putDevice(`d${i}`, pw(i));
    console.log(`dynsec: ${N} putDevice one by one: ${(performance.now() - t).toFixed(0)} ms`);
    const c = await connectOnce({ url: m.url, clientId: 'd500', username: 'dev:d500', password: pw(500) });
    const closed = closedWithin(c, 5000);
    t = performance.now();
    await b.deleteDevice('d500');
    console.log(`dynsec: deleteDevice round trip: ${(performance.now() - t).toFixed(1)} ms; connected device closed after ${(await closed)?.toFixed(1) ?? 'never (5 s)'} ms`);
    console.log(`dynsec: then refused after ${(await refusedAfter(m.url, 'd500', 'dev:d500', pw(500))).toFixed(1)} ms`);
    c.end(true);
    await b.close();
    await m.stop();

    const dir = join(tmp.dir, 'pwfile');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'passwd');
    const acl = join(dir, 'acl');
    writeFileSync(file, Array.from({ length: N }, (_, i) => `dev-d${i}:${pw(i)}`).join('\n') + '\n');
    t = performance.now();
    execFileSync('mosquitto_passwd', ['-U', file]);
    console.log(`pwfile: mosquitto_passwd -U of ${N} users: ${(performance.now() - t).toFixed(0)} ms`);
    writeFileSync(acl, Array.from({ length: N }, (_, i) => `user dev-d${i}\ntopic write sosna/v1/h1/dev/d${i}/state\ntopic read sosna/v1/h1/dev/d${i}/rpc/in\n`).join(''));
    const port = await freePort();
    const conf = join(dir, 'm.conf');
    writeFileSync(conf, `user ${userInfo().username}\nper_listener_settings false\nlistener ${port} 127.0.0.1\npassword_file ${file}\nacl_file ${acl}\nallow_anonymous false\n`);
    const p = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
    try {
      const url = `mqtt://127.0.0.1:${port}`;
      const c2 = await (async () => {
        for (let i = 0; ; i++) {
          try {
            return await connectOnce({ url, clientId: 'd500', username: 'dev-d500', password: pw(500) });
          } catch (err) {
            if (i > 50) throw err;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      })();
      const closed2 = closedWithin(c2, 5000);
      t = performance.now();
      writeFileSync(file, readFileSync(file, 'utf8').split('\n').filter((l) => !l.startsWith('dev-d500:')).join('\n'));
      p.kill('SIGHUP');
      console.log(`pwfile: rewrite + SIGHUP to a refused login: ${(await refusedAfter(url, 'd500', 'dev-d500', pw(500))).toFixed(1)} ms`);
      const gone = await closed2;
      console.log(`pwfile: the connected device closed after ${gone?.toFixed(1) ?? 'never (5 s)'} ms`);
      expect(gone).not.toBeNull();
      c2.end(true);
    } finally {
      p.kill('SIGTERM');
    }
  } finally {
    tmp.cleanup();
  }
}, 600_000);
