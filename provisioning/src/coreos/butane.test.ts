// The Fedora CoreOS recipe (os-image/coreos/sosna.bu) through our Butane-subset translator, checked by
// Ignition's own validator (Debian's ignition-validate, scripts/test-deps/ignition.sh), and the bad
// inputs: each edit that would make an invalid Ignition config stops with the field and the reason.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig, DeviceConfig } from '@sosna/protocol';
import { ButaneError, IGNITION_VERSION, butaneToIgnition, dataUrl, unitSyntax } from './butane.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BU = join(ROOT, 'os-image', 'coreos', 'sosna.bu');
const text = readFileSync(BU, 'utf8');

function ignitionValidate(config: unknown): { code: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sosna-ign-'));
  try {
    const f = join(dir, 'config.ign');
    writeFileSync(f, JSON.stringify(config));
    const r = spawnSync('ignition-validate', [f], { encoding: 'utf8' });
    if (r.error) throw new Error(`ignition-validate: ${r.error.message}: run scripts/test-deps/ignition.sh (Debian's ignition package)`);
    return { code: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function refusal(src: string, opts = {}): string {
  try {
    butaneToIgnition(src, { file: 'sosna.bu', ...opts });
  } catch (err) {
    expect(err).toBeInstanceOf(ButaneError);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

/** sosna.bu with one textual edit, which must be found exactly once. */
function edit(from: string, to: string): string {
  expect(text.split(from).length, `"${from}" once in sosna.bu`).toBe(2);
  return text.replace(from, to);
}

describe('os-image/coreos/sosna.bu -> Ignition', () => {
  const { config, warnings } = butaneToIgnition(text, { file: BU });

  it('compiles to a config that Ignition itself validates against the spec it declares', () => {
    expect(config.ignition.version).toBe(IGNITION_VERSION);
    expect(warnings).toEqual([]);
    const r = ignitionValidate(config);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
  });

  it('translates each field as Butane does (octal modes, inline as a data URL, units with dropins)', () => {
    expect(config.storage?.directories).toEqual([{ path: '/var/lib/sosna', mode: 0o700 }, { path: '/opt/sosna', mode: 0o755 }]);
    const cfg = config.storage?.files?.find((f) => f.path === '/etc/sosna/config.json');
    expect(cfg?.mode).toBe(0o600);
    const inline = decodeURIComponent(cfg!.contents!.source.replace(/^data:,/, ''));
    // the device config inside is one the agent accepts
    const parsed = parseConfig(DeviceConfig, JSON.parse(inline));
    expect(parsed.ok && parsed.config).toMatchObject({ stateDir: '/var/lib/sosna', jobs: { dockerHost: 'unix:///run/podman/podman.sock' } });
    const agent = config.storage?.files?.find((f) => f.path === '/opt/sosna/sosna-agent.mjs');
    expect(agent?.contents?.source).toBe('https://hub.example/sosna-agent.mjs');
    expect(agent?.contents?.verification?.hash).toMatch(/^sha512-/);
    const unit = config.systemd?.units.find((u) => u.name === 'sosna-agent.service');
    expect(unit?.enabled).toBe(true);
    expect(unit?.contents).toContain('Restart=always');
    expect(unit?.contents).toContain('RestartPreventExitStatus=78');
    expect(unit?.dropins?.[0]?.name).toBe('10-console.conf');
    expect(config.systemd?.units.find((u) => u.name === 'podman.socket')).toEqual({ name: 'podman.socket', enabled: true });
  });

  it('local contents come from the files folder, base64, and never from outside it', () => {
    const src = edit('source: https://hub.example/sosna-agent.mjs\n        verification:\n          hash: sha512-' + '0'.repeat(128), 'local: bin/agent.mjs');
    const read: string[] = [];
    const { config: c } = butaneToIgnition(src, { readLocal: (p) => (read.push(p), Buffer.from('#!/usr/bin/env node\n')) });
    expect(read).toEqual(['bin/agent.mjs']);
    expect(c.storage?.files?.find((f) => f.path === '/opt/sosna/sosna-agent.mjs')?.contents?.source).toBe(`data:;base64,${Buffer.from('#!/usr/bin/env node\n').toString('base64')}`);
    expect(ignitionValidate(c).code).toBe(0);
    expect(refusal(src)).toContain('storage.files.1.contents.local: "bin/agent.mjs": local contents need a files folder (--files-dir DIR)');
    expect(refusal(src.replace('local: bin/agent.mjs', 'local: ../../etc/shadow'), { readLocal: () => Buffer.alloc(0) })).toContain('must be a path inside the files folder');
  });

  it('a data URL round-trips every byte', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(Buffer.from(decodeURIComponent(dataUrl(Buffer.from('a b%\n'))).slice(6))).toEqual(Buffer.from('a b%\n'));
    expect(dataUrl(all).length).toBeGreaterThan(256);
  });
});

describe('bad input: a Butane file edited into an invalid Ignition config stops with the field and the reason', () => {
  const cases: [string, string, string, string][] = [
    ['a relative path', 'path: /var/lib/sosna', 'path: var/lib/sosna', 'sosna.bu: storage.directories.0.path: must be an absolute, clean path (starts with "/", no "..", ".", "//" or trailing "/") (got "var/lib/sosna")'],
    ['a path with ..', 'path: /etc/sosna/config.json', 'path: /etc/sosna/../config.json', 'storage.files.0.path: must be an absolute, clean path'],
    ['a mode beyond 07777', 'mode: 0600', 'mode: 0100600', 'sosna.bu: storage.files.0.mode: must be from 0 to 07777 (permission bits, setuid/setgid/sticky) (got 33152 (octal 0100600))'],
    ['a mode as text', 'mode: 0600', 'mode: "rw"', 'storage.files.0.mode: must be a number: the permission mode, written in octal with a leading 0 (e.g. 0644) (got "rw")'],
    ['a unit without a type', 'name: sosna-agent.service', 'name: sosna-agent', 'sosna.bu: systemd.units.1.name: must be a unit file name ending in .service'],
    ['a drop-in not ending in .conf', 'name: 10-console.conf', 'name: 10-console', 'systemd.units.1.dropins.0.name: must be a file name ending in .conf (got "10-console")'],
    ['a unit setting before any section', '        [Unit]\n        Description=sosna device agent', '        Description=sosna device agent\n        [Unit]', 'systemd.units.1.contents: unit line 1 "Description=sosna device agent": a setting before any [Section] header'],
    ['enabled as text', 'name: podman.socket\n      enabled: true', 'name: podman.socket\n      enabled: sometimes', 'systemd.units.0.enabled: must be true or false (got "sometimes")'],
    ['a field outside the subset', '    - path: /var/lib/sosna\n', '    - path: /var/lib/sosna\n      append: []\n', 'sosna.bu: storage.directories.0: append: not in the Butane subset sosna translates (accepted here: path, mode, overwrite, user, group'],
    ['a bad verification hash', `hash: sha512-${'0'.repeat(128)}\n    # Node`, `hash: md5-0\n    # Node`, 'storage.files.1.contents.verification.hash: must be sha512-<128 hex digits> or sha256-<64 hex digits> (got "md5-0")'],
    ['inline and source together', '        inline: |\n', '        source: https://hub.example/c.json\n        inline: |\n', 'storage.files.0.contents: give exactly one of inline, local or source'],
    ['a duplicate path', 'path: /opt/sosna\n', 'path: /var/lib/sosna\n', 'sosna.bu: storage.directories.1.path: "/var/lib/sosna" is already storage.directories.0.path; Ignition refuses duplicate paths'],
    ['a duplicate unit', 'name: podman.socket', 'name: sosna-agent.service', 'systemd.units.1.name: "sosna-agent.service" appears twice; Ignition refuses duplicate units'],
    ['version 1.5.0 (Ignition 3.4.0)', 'version: 1.4.0', 'version: 1.5.0', 'sosna.bu: version: must be "1.4.0" (fcos 1.4.0 -> Ignition 3.3.0'],
    ['another variant', 'variant: fcos', 'variant: flatcar', 'sosna.bu: variant: must be "fcos"'],
    ['a YAML syntax error', 'storage:\n  directories:', 'storage:\n directories:\n   - [', 'sosna.bu: not valid YAML'],
  ];
  for (const [what, from, to, expected] of cases) {
    it(what, () => {
      expect(refusal(edit(from, to))).toContain(expected);
    });
  }

  // The translator's checks stand for Ignition's: without them, the same edits give configs that
  // ignition-validate itself refuses. One check here is stricter than Ignition: a setting before any
  // [Section] passes ignition-validate, and systemd ignores that line ("Assignment outside of section").
  it('ignition-validate refuses what the translator refuses (the same edits, written straight into the output)', () => {
    const { config } = butaneToIgnition(text);
    const bad: [string, (c: typeof config) => void][] = [
      ['relative path', (c) => (c.storage!.directories![0]!.path = 'var/lib/sosna')],
      ['unit without type', (c) => (c.systemd!.units[1]!.name = 'sosna-agent')],
      ['dropin name', (c) => (c.systemd!.units[1]!.dropins![0]!.name = '10-console')],
      ['duplicate path', (c) => (c.storage!.directories![1]!.path = '/var/lib/sosna')],
      ['bad hash', (c) => (c.storage!.files![1]!.contents!.verification!.hash = 'md5-0')],
      ['unit syntax', (c) => (c.systemd!.units[1]!.contents = '[Unit]\njust words\n[Install]\nWantedBy=multi-user.target\n')],
      ['unit header', (c) => (c.systemd!.units[1]!.contents = '[Unit\nDescription=x\n')],
    ];
    for (const [what, mutate] of bad) {
      const c = structuredClone(config);
      mutate(c);
      const r = ignitionValidate(c);
      expect(r.code, `${what}: ${r.output}`).not.toBe(0);
    }
  });

  it('unit syntax: continuation lines and comments are fine', () => {
    expect(unitSyntax('[Service]\nExecStart=/bin/a \\\n  --b\n# c\n; d\n')).toBeNull();
    expect(unitSyntax('[Service\n')).toContain('a section header is [Name]');
    expect(unitSyntax('[Service]\njust words\n')).toContain('not Key=value in [Service]');
    for (const [bad, why] of [['[Unit]\njust words\n', 'not Key=value'], ['[Unit\nDescription=x\n', 'a section header is [Name]']]) {
      expect(refusal(edit('        [Unit]\n        Description=sosna device agent\n', bad.replace(/^/gm, '        ')))).toContain(why);
    }
  });
});
