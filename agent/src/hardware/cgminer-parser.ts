// Pure parser for replies of the cgminer RPC API (cgminer API-README; bmminer on Antminers and btminer
// on Whatsminers speak the same protocol on TCP 4028). A reply is one JSON object, ended by a NUL byte:
// {"STATUS":[{"STATUS":"S","Code":11,"Msg":"Summary","Description":"cgminer 4.9.0"}],"SUMMARY":[{...}],"id":1}
// Status letters: S success, I info, W warning, E error, F fatal. Whatsminer errors put STATUS as a
// plain string at the top level. Bodies may be slightly invalid JSON; lenient-json copes.
import { parseLenientJson } from './lenient-json.js';
import { clip } from './parse-util.js';

export interface CgminerReply {
  /** The reply parsed to an object and its status is not E/F. */
  ok: boolean;
  status?: string;
  /** STATUS Msg (e.g. "Summary", "invalid cmd"). */
  message?: string;
  /** STATUS Description (often the software name and version, e.g. "bmminer 1.0.0"). */
  description?: string;
  /** The whole reply object (sections like SUMMARY, STATS, DEVS, POOLS, VERSION, DEVDETAILS). */
  body: Record<string, unknown>;
  /** The JSON needed repairs (NUL bytes excepted). */
  repaired: boolean;
  /** Why the reply could not be read. */
  error?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseCgminerReply(text: string): CgminerReply {
  const trimmed = text.replace(/\0+/gu, '').trim();
  if (trimmed === '') return { ok: false, body: {}, repaired: false, error: 'empty reply' };
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) {
    return { ok: false, body: {}, repaired: false, error: `not JSON: ${clip(JSON.stringify(trimmed.slice(0, 60)), 80)}` };
  }
  const parsed = parseLenientJson(trimmed);
  if (!parsed.ok) return { ok: false, body: {}, repaired: false, error: `unreadable JSON: ${parsed.error}` };
  let body: Record<string, unknown> = {};
  if (isObject(parsed.value)) body = parsed.value;
  else if (Array.isArray(parsed.value)) {
    // glued top-level objects: merge their sections
    for (const part of parsed.value) if (isObject(part)) body = { ...body, ...part };
  }
  if (Object.keys(body).length === 0) return { ok: false, body: {}, repaired: parsed.repaired, error: 'reply is not an object' };

  const statusField = findKey(body, 'STATUS');
  let status: Record<string, unknown> | undefined;
  if (Array.isArray(statusField) && isObject(statusField[0])) status = statusField[0];
  else if (isObject(statusField)) status = statusField;
  else if (typeof statusField === 'string') status = body; // Whatsminer: {"STATUS":"E","Msg":"invalid cmd"}
  const letter = status ? str(status['STATUS']) : undefined;
  const message = status ? str(status['Msg']) : undefined;
  const description = status ? str(status['Description']) : undefined;
  const reply: CgminerReply = { ok: letter === undefined ? true : !/^[EF]$/iu.test(letter), body, repaired: parsed.repaired };
  if (letter) reply.status = letter;
  if (message) reply.message = clip(message, 256);
  if (description) reply.description = clip(description, 256);
  if (!reply.ok) reply.error = clip(`status ${letter}: ${message ?? 'error'}`, 256);
  return reply;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** Case-insensitive key lookup (firmwares disagree on "Stats" vs "STATS"). */
export function findKey(obj: Record<string, unknown>, key: string): unknown {
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** All objects of a section (`SUMMARY`, `STATS`, ...), flattening one level of nesting. */
export function sectionItems(reply: CgminerReply | undefined, name: string): Record<string, unknown>[] {
  if (!reply) return [];
  const v = findKey(reply.body, name);
  const list = Array.isArray(v) ? v : isObject(v) ? [v] : [];
  const out: Record<string, unknown>[] = [];
  for (const item of list) {
    if (isObject(item)) out.push(item);
    else if (Array.isArray(item)) for (const inner of item) if (isObject(inner)) out.push(inner);
  }
  return out;
}
