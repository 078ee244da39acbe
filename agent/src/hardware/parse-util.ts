// Helpers shared by the pure parsers. None of them throws, whatever the input.

/** A finite number from a number or a numeric string (`"71.5"`, `" 8 "`), else undefined. */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/u.test(trimmed)) return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : undefined;
}

/** A non-negative finite number, else undefined. */
export function toNonNegative(value: unknown): number | undefined {
  const n = toNumber(value);
  return n !== undefined && n >= 0 ? n : undefined;
}

/** A non-negative safe integer, else undefined. */
export function toCount(value: unknown): number | undefined {
  const n = toNonNegative(value);
  if (n === undefined) return undefined;
  const r = Math.round(n);
  return Number.isSafeInteger(r) ? r : undefined;
}

/** `value` times `factor` (unit conversion), undefined when either is missing or the product overflows. */
export function scaled(value: number | undefined, factor: number): number | undefined {
  if (value === undefined) return undefined;
  const n = value * factor;
  return Number.isFinite(n) ? n : undefined;
}

/** Temperatures outside what a sensor can mean (disconnected sensors read 0, -128, 255 or 65535) drop out. */
export function toCelsius(value: unknown): number | undefined {
  const n = toNumber(value);
  if (n === undefined || n <= -100 || n >= 255) return undefined;
  return n;
}

export function toPercent(value: unknown): number | undefined {
  const n = toNumber(value);
  if (n === undefined || n < 0 || n > 100) return undefined;
  return n;
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Copies `obj` without the keys whose value is undefined (optional fields stay absent on the wire). */
export function compact<T extends object>(obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out as T;
}

/**
 * PCI addresses in one form, `dddd:bb:dd.f` lower case: nvidia-smi writes `00000000:0A:00.0`,
 * sysfs `0000:0a:00.0`, some tools `0a:00.0`. Returns undefined for anything else.
 */
export function normalizePciBusId(raw: string): string | undefined {
  const m = /^(?:([0-9a-f]{1,8}):)?([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-7])$/iu.exec(raw.trim());
  if (!m) return undefined;
  const domain = (m[1] ?? '0').slice(-4).padStart(4, '0');
  const bus = m[2]!.padStart(2, '0');
  const dev = m[3]!.padStart(2, '0');
  return `${domain}:${bus}:${dev}.${m[4]!}`.toLowerCase();
}

/** `0x10DE` / `10de` -> `0x10de`; anything else -> undefined. */
export function normalizePciId(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const m = /^(?:0x)?([0-9a-f]{4})$/iu.exec(raw.trim());
  return m ? `0x${m[1]!.toLowerCase()}` : undefined;
}

/** Splits text into lines, tolerating CRLF and a missing final newline. */
export function lines(text: string): string[] {
  return text.split(/\r?\n/u);
}
