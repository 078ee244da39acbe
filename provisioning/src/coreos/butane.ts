// A strict translator from a SUBSET of Butane (variant fcos, version 1.4.0) to an Ignition 3.3.0 config,
// for os-image/coreos/sosna.bu. It is not Butane: Butane (the Go tool) cannot be installed on this build
// host (not in Debian 12, not on npm), so the fields sosna's recipe uses are translated here the way
// Butane translates them, and everything else is refused with the file, the field and the reason rather
// than passed through unchecked. The output is meant to be checked by Ignition's own validator
// (`ignition-validate`, Debian's `ignition` package) before a machine gets it.
//
// Why 1.4.0 and not 1.5.0: fcos 1.4.0 translates to Ignition spec 3.3.0, the newest spec Debian 12's
// ignition-validate (2.14) checks; 1.5.0 would give 3.4.0, which nothing here could validate. Fedora
// CoreOS accepts every 3.x spec. Pure: the file reader for `contents.local` is passed in.
import { posix } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';

export const BUTANE_VARIANT = 'fcos';
export const BUTANE_VERSION = '1.4.0';
export const IGNITION_VERSION = '3.3.0';

export class ButaneError extends Error {
  constructor(readonly issues: string[]) {
    super(issues.join('\n'));
    this.name = 'ButaneError';
  }
}

/** Options: `file` names the source in errors; `readLocal` reads `contents.local` (relative to the files dir). */
export interface ButaneOptions {
  file?: string;
  /** Reads a `contents.local` path (already checked to stay inside the files dir); absent: `local` is refused. */
  readLocal?: (relPath: string) => Buffer;
}

export interface IgnitionConfig {
  ignition: { version: string };
  passwd?: { users: { name: string; passwordHash?: string; sshAuthorizedKeys?: string[]; groups?: string[] }[] };
  storage?: {
    directories?: { path: string; mode?: number; user?: Owner; group?: Owner; overwrite?: boolean }[];
    files?: { path: string; mode?: number; user?: Owner; group?: Owner; overwrite?: boolean; contents?: { source: string; verification?: { hash: string } } }[];
  };
  systemd?: { units: { name: string; enabled?: boolean; mask?: boolean; contents?: string; dropins?: { name: string; contents?: string }[] }[] };
}
type Owner = { id?: number; name?: string };

/** Unknown keys: name them and list what this subset accepts (it is not Butane). */
function strict<S extends z.ZodRawShape>(shape: S) {
  const accepted = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `${iss.keys.join(', ')}: not in the Butane subset sosna translates (accepted here: ${accepted}; see os-image/README.md "Fedora CoreOS")`
        : undefined,
  });
}

const AbsPath = z
  .string({ error: 'must be a string (an absolute path)' })
  .refine((p) => p.startsWith('/') && (p === '/' || (posix.normalize(p) === p && !p.endsWith('/'))), 'must be an absolute, clean path (starts with "/", no "..", ".", "//" or trailing "/")');
const Mode = z
  .number({ error: 'must be a number: the permission mode, written in octal with a leading 0 (e.g. 0644)' })
  .int('must be a whole number (octal with a leading 0, e.g. 0644)')
  .min(0, 'must be from 0 to 07777')
  .max(0o7777, 'must be from 0 to 07777 (permission bits, setuid/setgid/sticky)');
const OwnerSchema = strict({ id: z.number().int().min(0).optional(), name: z.string().min(1).optional() }).refine((o) => !(o.id !== undefined && o.name !== undefined), 'give id or name, not both');
const Hash = z.string().regex(/^(sha512-[0-9a-f]{128}|sha256-[0-9a-f]{64})$/, 'must be sha512-<128 hex digits> or sha256-<64 hex digits>');
const SourceUrl = z.string().regex(/^(https?|data|tftp|s3|gs):/, 'must be an http(s), data, tftp, s3 or gs URL (what Ignition fetches)');
const Contents = strict({
  inline: z.string().optional(),
  local: z.string().min(1).optional(),
  source: SourceUrl.optional(),
  verification: strict({ hash: Hash }).optional(),
})
  .refine((c) => [c.inline, c.local, c.source].filter((x) => x !== undefined).length === 1, 'give exactly one of inline, local or source')
  .refine((c) => c.verification === undefined || c.source !== undefined, { message: 'verification applies to a fetched source only', path: ['verification'] });
const File = strict({
  path: AbsPath,
  mode: Mode.optional(),
  overwrite: z.boolean({ error: 'must be true or false' }).optional(),
  user: OwnerSchema.optional(),
  group: OwnerSchema.optional(),
  contents: Contents.optional(),
});
const Directory = strict({ path: AbsPath, mode: Mode.optional(), overwrite: z.boolean({ error: 'must be true or false' }).optional(), user: OwnerSchema.optional(), group: OwnerSchema.optional() });
const UNIT_TYPES = ['service', 'socket', 'device', 'mount', 'automount', 'swap', 'target', 'path', 'timer', 'slice', 'scope'];
const UnitName = z.string().regex(new RegExp(`^[^/\\s]+\\.(${UNIT_TYPES.join('|')})$`), `must be a unit file name ending in .${UNIT_TYPES.join(', .')}`);
const UnitText = z.string().superRefine((text, ctx) => {
  const problem = unitSyntax(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const Dropin = strict({ name: z.string().regex(/^[^/\s]+\.conf$/, 'must be a file name ending in .conf'), contents: UnitText.optional() });
const Unit = strict({
  name: UnitName,
  enabled: z.boolean({ error: 'must be true or false' }).optional(),
  mask: z.boolean({ error: 'must be true or false' }).optional(),
  contents: UnitText.optional(),
  dropins: z.array(Dropin).optional(),
});
const User = strict({
  name: z.string().min(1),
  password_hash: z.string().min(1).optional(),
  ssh_authorized_keys: z.array(z.string().regex(/^(ssh-|ecdsa-|sk-)\S+ \S+/, 'must be an OpenSSH public key line (ssh-ed25519 AAAA... comment)')).optional(),
  groups: z.array(z.string().min(1)).optional(),
});
const ButaneDoc = strict({
  variant: z.literal(BUTANE_VARIANT, { error: `must be "${BUTANE_VARIANT}" (the only variant this subset translates)` }),
  version: z.literal(BUTANE_VERSION, {
    error: `must be "${BUTANE_VERSION}" (fcos ${BUTANE_VERSION} -> Ignition ${IGNITION_VERSION}, the newest spec Debian 12's ignition-validate checks; 1.5.0 -> 3.4.0 could not be validated here)`,
  }),
  storage: strict({ directories: z.array(Directory).optional(), files: z.array(File).optional() }).optional(),
  systemd: strict({ units: z.array(Unit).optional() }).optional(),
  passwd: strict({ users: z.array(User).optional() }).optional(),
});
type Butane = z.infer<typeof ButaneDoc>;

/**
 * Why systemd (and Ignition, which parses units before writing them) would reject a unit file, or null:
 * settings before any [Section], a malformed section header, a line that is neither a comment nor Key=value.
 */
export function unitSyntax(text: string): string | null {
  let section: string | null = null;
  let continued = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const n = i + 1;
    if (continued) {
      continued = line.endsWith('\\');
      continue;
    }
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      if (!/^\[[^\[\]]+\]$/.test(line)) return `unit line ${n} ${JSON.stringify(line)}: a section header is [Name]`;
      section = line;
      continue;
    }
    if (section === null) return `unit line ${n} ${JSON.stringify(line)}: a setting before any [Section] header`;
    if (!/^[A-Za-z0-9_-]+\s*=/.test(line)) return `unit line ${n} ${JSON.stringify(line)}: not Key=value in ${section}`;
    continued = line.endsWith('\\');
  }
  return null;
}

function describe(root: unknown, path: PropertyKey[]): string {
  let node: unknown = root;
  for (const k of path) {
    if (node && typeof node === 'object') node = (node as Record<PropertyKey, unknown>)[k];
    else return '';
  }
  if (node === undefined || (node && typeof node === 'object')) return '';
  const shown = typeof node === 'number' && /mode$/.test(String(path.at(-1))) ? `${node} (octal 0${node.toString(8)})` : JSON.stringify(node);
  return ` (got ${shown && shown.length > 80 ? `${shown.slice(0, 77)}...` : shown})`;
}

/** RFC 2397 data URL, percent-encoded like Butane's uncompressed inline contents. */
export function dataUrl(bytes: Buffer): string {
  let out = 'data:,';
  for (const b of bytes) out += /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** Parses Butane YAML and translates it to an Ignition config; throws ButaneError with every problem found. */
export function butaneToIgnition(text: string, opts: ButaneOptions = {}): { config: IgnitionConfig; warnings: string[] } {
  const file = opts.file ?? 'butane';
  // YAML 1.1, as Butane's parser reads it: `mode: 0644` is octal
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) throw new ButaneError(doc.errors.map((e) => `${file}: not valid YAML: ${e.message.split('\n')[0]}`));
  const raw = doc.toJS() as unknown;
  const parsed = ButaneDoc.safeParse(raw);
  if (!parsed.success) {
    throw new ButaneError(parsed.error.issues.map((iss) => `${file}: ${iss.path.map(String).join('.') || '(root)'}: ${iss.message}${iss.code === 'unrecognized_keys' ? '' : describe(raw, iss.path)}`));
  }
  const b: Butane = parsed.data;
  const issues: string[] = [];
  const warnings: string[] = [];
  const at = (field: string, msg: string) => issues.push(`${file}: ${field}: ${msg}`);

  // Ignition refuses two entries for one path (a file and a directory included) and two units of one name
  const seen = new Map<string, string>();
  const claim = (path: string, field: string) => {
    const prev = seen.get(path);
    if (prev) at(field, `${JSON.stringify(path)} is already ${prev}; Ignition refuses duplicate paths`);
    else seen.set(path, field);
  };
  b.storage?.directories?.forEach((d, i) => claim(d.path, `storage.directories.${i}.path`));
  b.storage?.files?.forEach((f, i) => claim(f.path, `storage.files.${i}.path`));

  const files = (b.storage?.files ?? []).map((f, i) => {
    let contents: { source: string; verification?: { hash: string } } | undefined;
    const c = f.contents;
    if (c?.inline !== undefined) contents = { source: dataUrl(Buffer.from(c.inline, 'utf8')) };
    else if (c?.local !== undefined) {
      const field = `storage.files.${i}.contents.local`;
      const rel = posix.normalize(c.local);
      if (!opts.readLocal) at(field, `${JSON.stringify(c.local)}: local contents need a files folder (--files-dir DIR), as Butane's -d`);
      else if (c.local.startsWith('/') || rel === '..' || rel.startsWith('../')) at(field, `${JSON.stringify(c.local)}: must be a path inside the files folder (relative, no "..")`);
      else {
        try {
          contents = { source: `data:;base64,${opts.readLocal(rel).toString('base64')}` };
        } catch (err) {
          at(field, `${JSON.stringify(c.local)}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      }
    } else if (c?.source !== undefined) contents = { source: c.source, ...(c.verification ? { verification: { hash: c.verification.hash } } : {}) };
    return { path: f.path, ...(f.mode !== undefined ? { mode: f.mode } : {}), ...(f.overwrite !== undefined ? { overwrite: f.overwrite } : {}), ...(f.user ? { user: f.user } : {}), ...(f.group ? { group: f.group } : {}), ...(contents ? { contents } : {}) };
  });

  const unitNames = new Set<string>();
  const units = (b.systemd?.units ?? []).map((u, i) => {
    if (unitNames.has(u.name)) at(`systemd.units.${i}.name`, `${JSON.stringify(u.name)} appears twice; Ignition refuses duplicate units`);
    unitNames.add(u.name);
    const dropinNames = new Set<string>();
    u.dropins?.forEach((d, j) => {
      if (dropinNames.has(d.name)) at(`systemd.units.${i}.dropins.${j}.name`, `${JSON.stringify(d.name)} appears twice in ${u.name}`);
      dropinNames.add(d.name);
    });
    if (u.enabled && u.mask) at(`systemd.units.${i}`, `${u.name}: enabled and mask together (a masked unit cannot start)`);
    if (u.enabled && u.contents !== undefined && !/^\s*\[Install\]\s*$/m.test(u.contents)) warnings.push(`${file}: systemd.units.${i}: ${u.name} is enabled but has no [Install] section; systemctl enable will not start it`);
    return {
      name: u.name,
      ...(u.enabled !== undefined ? { enabled: u.enabled } : {}),
      ...(u.mask !== undefined ? { mask: u.mask } : {}),
      ...(u.contents !== undefined ? { contents: u.contents } : {}),
      ...(u.dropins ? { dropins: u.dropins.map((d) => ({ name: d.name, ...(d.contents !== undefined ? { contents: d.contents } : {}) })) } : {}),
    };
  });

  const userNames = new Set<string>();
  const users = (b.passwd?.users ?? []).map((u, i) => {
    if (userNames.has(u.name)) at(`passwd.users.${i}.name`, `${JSON.stringify(u.name)} appears twice`);
    userNames.add(u.name);
    return { name: u.name, ...(u.password_hash ? { passwordHash: u.password_hash } : {}), ...(u.ssh_authorized_keys ? { sshAuthorizedKeys: u.ssh_authorized_keys } : {}), ...(u.groups ? { groups: u.groups } : {}) };
  });

  if (issues.length) throw new ButaneError(issues);
  const directories = (b.storage?.directories ?? []).map((d) => ({ path: d.path, ...(d.mode !== undefined ? { mode: d.mode } : {}), ...(d.overwrite !== undefined ? { overwrite: d.overwrite } : {}), ...(d.user ? { user: d.user } : {}), ...(d.group ? { group: d.group } : {}) }));
  const config: IgnitionConfig = {
    ignition: { version: IGNITION_VERSION },
    ...(users.length ? { passwd: { users } } : {}),
    ...(directories.length || files.length ? { storage: { ...(directories.length ? { directories } : {}), ...(files.length ? { files } : {}) } } : {}),
    ...(units.length ? { systemd: { units } } : {}),
  };
  return { config, warnings };
}
