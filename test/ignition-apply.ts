// What Ignition's "files" stage does with the parts of a config that sosna.bu uses, onto a folder that
// becomes a machine's root: directories and files with their modes (contents from data URLs, or fetched
// over http(s) and checked against verification.hash), systemd units and drop-ins under
// /etc/systemd/system, `enabled: true` as a line of /etc/systemd/system-preset/20-ignition.preset
// (systemd applies presets at the first boot, as on Fedora CoreOS), `mask: true` as a link to /dev/null.
// A test stand-in for Ignition itself, which runs only in a CoreOS initramfs; refuses what it does not know.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { IgnitionConfig } from '../provisioning/src/coreos/butane.js';

async function contents(src: { source: string; verification?: { hash: string } }): Promise<Buffer> {
  let body: Buffer;
  const data = /^data:([^,]*),(.*)$/s.exec(src.source);
  if (data) body = data[1]!.endsWith(';base64') ? Buffer.from(data[2]!, 'base64') : Buffer.from(decodeURIComponent(data[2]!), 'utf8');
  else if (/^https?:/.test(src.source)) {
    const r = await fetch(src.source);
    if (!r.ok) throw new Error(`${src.source}: HTTP ${r.status}`);
    body = Buffer.from(await r.arrayBuffer());
  } else throw new Error(`${src.source}: this stand-in fetches data: and http(s): only`);
  if (src.verification) {
    const [algo, want] = src.verification.hash.split('-') as [string, string];
    const got = createHash(algo).update(body).digest('hex');
    if (got !== want) throw new Error(`${src.source}: ${algo} ${got}, config wants ${want}`);
  }
  return body;
}

/** Writes the config's files, directories and units under `root`; returns what it wrote. */
export async function applyIgnition(config: IgnitionConfig, root: string): Promise<string[]> {
  const known = new Set(['ignition', 'storage', 'systemd', 'passwd']);
  for (const k of Object.keys(config)) if (!known.has(k)) throw new Error(`ignition stand-in: ${k} not supported`);
  if (config.passwd?.users.length) throw new Error('ignition stand-in: passwd.users not supported');
  const wrote: string[] = [];
  const at = (p: string) => join(root, p);
  for (const d of config.storage?.directories ?? []) {
    mkdirSync(at(d.path), { recursive: true });
    chmodSync(at(d.path), d.mode ?? 0o755);
    wrote.push(d.path);
  }
  for (const f of config.storage?.files ?? []) {
    mkdirSync(dirname(at(f.path)), { recursive: true });
    writeFileSync(at(f.path), f.contents ? await contents(f.contents) : Buffer.alloc(0));
    chmodSync(at(f.path), f.mode ?? 0o644);
    wrote.push(f.path);
  }
  const presets: string[] = [];
  for (const u of config.systemd?.units ?? []) {
    const dir = at('/etc/systemd/system');
    mkdirSync(dir, { recursive: true });
    if (u.contents !== undefined) {
      writeFileSync(join(dir, u.name), u.contents);
      wrote.push(`/etc/systemd/system/${u.name}`);
    }
    for (const d of u.dropins ?? []) {
      mkdirSync(join(dir, `${u.name}.d`), { recursive: true });
      writeFileSync(join(dir, `${u.name}.d`, d.name), d.contents ?? '');
      wrote.push(`/etc/systemd/system/${u.name}.d/${d.name}`);
    }
    if (u.mask) symlinkSync('/dev/null', join(dir, u.name));
    if (u.enabled !== undefined) presets.push(`${u.enabled ? 'enable' : 'disable'} ${u.name}`);
  }
  if (presets.length) {
    mkdirSync(at('/etc/systemd/system-preset'), { recursive: true });
    writeFileSync(at('/etc/systemd/system-preset/20-ignition.preset'), `${presets.join('\n')}\n`);
    wrote.push('/etc/systemd/system-preset/20-ignition.preset');
  }
  return wrote;
}
