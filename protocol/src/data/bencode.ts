// Bencoding (BEP 3), encode and a small decode: the torrent metadata this project makes. Dictionary keys are sorted by
// their raw bytes, so one info dictionary always gives one info hash.
export type Bencodable = number | string | Uint8Array | Bencodable[] | { [key: string]: Bencodable };

export function bencode(value: Bencodable): Buffer {
  const out: Buffer[] = [];
  const put = (v: Bencodable): void => {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new Error(`bencode: ${v} is not a safe integer`);
      out.push(Buffer.from(`i${v}e`));
    } else if (typeof v === 'string' || v instanceof Uint8Array) {
      const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
      out.push(Buffer.from(`${b.length}:`), b);
    } else if (Array.isArray(v)) {
      out.push(Buffer.from('l'));
      v.forEach(put);
      out.push(Buffer.from('e'));
    } else {
      out.push(Buffer.from('d'));
      for (const k of Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
        put(k);
        put(v[k]!);
      }
      out.push(Buffer.from('e'));
    }
  };
  put(value);
  return Buffer.concat(out);
}

export type Bdecoded = number | Buffer | Bdecoded[] | { [key: string]: Bdecoded };

/** Decodes one bencoded value (byte strings stay Buffers; dictionary keys are read as utf8). */
export function bdecode(buf: Buffer): Bdecoded {
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`bdecode: ${why} at byte ${at}`);
  };
  const get = (depth: number): Bdecoded => {
    if (depth > 64) fail('nested too deep');
    const c = buf[at];
    if (c === undefined) return fail('unexpected end');
    if (c === 0x69 /* i */) {
      const end = buf.indexOf(0x65, at);
      if (end < 0) fail('unterminated integer');
      const s = buf.toString('latin1', at + 1, end);
      if (!/^(0|-?[1-9][0-9]*)$/.test(s) || !Number.isSafeInteger(Number(s))) fail(`bad integer ${JSON.stringify(s)}`);
      at = end + 1;
      return Number(s);
    }
    if (c === 0x6c /* l */ || c === 0x64 /* d */) {
      at++;
      const list: Bdecoded[] = [];
      while (buf[at] !== 0x65) list.push(get(depth + 1));
      at++;
      if (c === 0x6c) return list;
      if (list.length % 2) fail('a dictionary key without a value');
      const dict: { [key: string]: Bdecoded } = {};
      for (let i = 0; i < list.length; i += 2) {
        const k = list[i];
        if (!Buffer.isBuffer(k)) return fail('a dictionary key that is not a string');
        dict[k.toString('utf8')] = list[i + 1]!;
      }
      return dict;
    }
    const colon = buf.indexOf(0x3a, at);
    const len = colon < 0 ? NaN : Number(buf.toString('latin1', at, colon));
    if (!Number.isSafeInteger(len) || len < 0 || colon + 1 + len > buf.length) fail('bad string length');
    at = colon + 1 + len;
    return buf.subarray(colon + 1, at);
  };
  const v = get(0);
  if (at !== buf.length) fail('trailing bytes');
  return v;
}
