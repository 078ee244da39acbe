// A forgiving JSON reader for miner APIs. cgminer-family firmwares send almost-JSON: a trailing NUL
// byte, objects glued together without a comma (`}{`), missing commas between members, trailing
// commas, bare words such as `nan` or `inf`, and raw control characters inside strings. This reader
// accepts all of that, never throws, and stops at a nesting depth limit instead of overflowing the stack.

export type LenientResult = { ok: true; value: unknown; repaired: boolean } | { ok: false; error: string };

const MAX_DEPTH = 64;

class Reader {
  pos = 0;
  repaired = false;
  constructor(readonly s: string) {}

  skipWs(): void {
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      // whitespace, NUL and other control bytes between tokens
      if (c <= 0x20 || c === 0xfeff) this.pos++;
      else break;
    }
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new Error('nested too deep');
    this.skipWs();
    const c = this.s[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === undefined) throw new Error('unexpected end of input');
    return this.bare();
  }

  object(depth: number): Record<string, unknown> {
    this.pos++; // {
    const out: Record<string, unknown> = {};
    for (;;) {
      this.skipWs();
      const c = this.s[this.pos];
      if (c === '}') {
        this.pos++;
        return out;
      }
      if (c === undefined) throw new Error('unterminated object');
      if (c === ',') {
        this.pos++;
        this.repaired = true; // leading or doubled comma
        continue;
      }
      const key = c === '"' ? this.string() : String(this.bare());
      this.skipWs();
      if (this.s[this.pos] === ':') this.pos++;
      else throw new Error(`expected ':' at ${this.pos}`);
      const v = this.value(depth + 1);
      if (key !== '__proto__') out[key] = v;
      this.skipWs();
      const next = this.s[this.pos];
      if (next === ',') this.pos++;
      else if (next !== '}') this.repaired = true; // missing comma
    }
  }

  array(depth: number): unknown[] {
    this.pos++; // [
    const out: unknown[] = [];
    for (;;) {
      this.skipWs();
      const c = this.s[this.pos];
      if (c === ']') {
        this.pos++;
        return out;
      }
      if (c === undefined) throw new Error('unterminated array');
      if (c === ',') {
        this.pos++;
        this.repaired = true;
        continue;
      }
      out.push(this.value(depth + 1));
      this.skipWs();
      const next = this.s[this.pos];
      if (next === ',') this.pos++;
      else if (next !== ']') this.repaired = true; // `}{` inside an array, or a missing comma
    }
  }

  string(): string {
    this.pos++; // opening quote
    let out = '';
    while (this.pos < this.s.length) {
      const c = this.s[this.pos]!;
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\\') {
        const e = this.s[this.pos + 1];
        this.pos += 2;
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'u': {
            const hex = this.s.slice(this.pos, this.pos + 4);
            if (/^[0-9a-fA-F]{4}$/u.test(hex)) {
              out += String.fromCharCode(Number.parseInt(hex, 16));
              this.pos += 4;
            } else {
              out += 'u';
              this.repaired = true;
            }
            break;
          }
          case undefined:
            break;
          default:
            out += e; // \" \\ \/ and unknown escapes keep the character
        }
        continue;
      }
      out += c;
      this.pos++;
    }
    throw new Error('unterminated string');
  }

  /** Numbers, true/false/null, and bare words (nan, inf, unquoted tokens) as strings. */
  bare(): unknown {
    const start = this.pos;
    while (this.pos < this.s.length && !/[\s,:{}[\]"]/u.test(this.s[this.pos]!)) this.pos++;
    const word = this.s.slice(start, this.pos);
    if (word === '') throw new Error(`unexpected '${this.s[this.pos] ?? ''}' at ${this.pos}`);
    if (word === 'true') return true;
    if (word === 'false') return false;
    if (word === 'null') return null;
    if (/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/u.test(word)) return Number(word);
    this.repaired = true;
    return word;
  }
}

/**
 * Parses `text`. Several top-level values glued together (`{...}{...}`) come back as an array of them.
 */
export function parseLenientJson(text: string): LenientResult {
  const clean = text.replace(/\0/gu, '');
  try {
    return { ok: true, value: JSON.parse(clean), repaired: false };
  } catch {
    // fall through to the forgiving reader
  }
  const r = new Reader(clean);
  try {
    const values: unknown[] = [];
    r.skipWs();
    while (r.pos < clean.length) {
      values.push(r.value(0));
      r.skipWs();
      if (clean[r.pos] === ',') r.pos++;
      r.skipWs();
      if (values.length > 64) throw new Error('too many top-level values');
    }
    if (values.length === 0) return { ok: false, error: 'empty input' };
    return { ok: true, value: values.length === 1 ? values[0] : values, repaired: true };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}
