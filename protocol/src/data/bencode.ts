// Bencoding (BEP 3), encode only: the torrent metadata this project makes. Dictionary keys are sorted by
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
