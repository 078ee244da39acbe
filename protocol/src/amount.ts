// Token amounts as people read and write them, exact (bigint wei, no floats). One formatter for the CLI, the
// hub and the device dashboard (which imports this file directly: it has no dependencies), so a non-zero
// amount never shows as a rounded 0 anywhere. Prices per second parse from wei/s or SNM per s/min/h.

export const WEI_PER_SNM = 10n ** 18n;

function toBig(wei: bigint | string | number): bigint {
  return typeof wei === 'bigint' ? wei : BigInt(wei);
}

/** Wei as SNM with every decimal it needs: 4000n -> "0.000000000000004", 1.5e18 -> "1.5". */
export function snm(wei: bigint | string | number): string {
  const v = toBig(wei);
  const neg = v < 0n;
  const a = neg ? -v : v;
  const whole = (a / WEI_PER_SNM).toString();
  const frac = (a % WEI_PER_SNM).toString().padStart(18, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** `snm(wei) + " SNM"`. */
export function formatSnm(wei: bigint | string | number): string {
  return `${snm(wei)} SNM`;
}

/** Wei with thousands separators and the unit: 4000n -> "4,000 wei". */
export function formatWei(wei: bigint | string | number): string {
  return `${toBig(wei).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')} wei`;
}

const PER: Record<string, bigint> = { s: 1n, sec: 1n, min: 60n, m: 60n, h: 3600n, hr: 3600n, hour: 3600n };

export const PRICE_FORMS = '1000 (token wei per second), 1000wei/s, 0.36SNM/h, 0.06SNM/min or 0.0001SNM/s';

/**
 * A price per second in token wei from `1000`, `1000wei/s`, `0.5SNM/h`, `0.01 SNM/min`, or `0.0001SNM/s` (decimal
 * forms only). Exact: a value that is not a whole number of wei per second is refused (the error says
 * what it comes to). Throws Error with the accepted forms; callers prefix the flag or field.
 */
export function parsePricePerSec(text: string): bigint {
  const t = text.trim().replace(/\s+/g, '');
  if (/^\d{1,78}$/.test(t)) return BigInt(t);
  const m = /^(\d+)(?:\.(\d+))?(snm|wei)(?:\/(s|sec|min|m|h|hr|hour))?$/i.exec(t);
  if (!m) throw new Error(`use ${PRICE_FORMS}`);
  const unit = m[3]!.toLowerCase();
  const per = PER[(m[4] ?? 's').toLowerCase()]!;
  const fracText = m[2] ?? '';
  if (unit === 'wei' && fracText !== '' && /[1-9]/.test(fracText)) throw new Error(`wei is the smallest unit: give a whole number (${PRICE_FORMS})`);
  const scale = unit === 'snm' ? WEI_PER_SNM : 1n;
  if (unit === 'snm' && fracText.length > 18) throw new Error(`SNM has 18 decimals at most (${PRICE_FORMS})`);
  const frac = unit === 'snm' ? BigInt((fracText || '0').padEnd(18, '0')) : 0n;
  const total = BigInt(m[1]!) * scale + frac; // wei per `per` seconds
  if (total % per !== 0n) {
    const down = total / per;
    throw new Error(
      `is ${formatWei(total)} per ${per} s, not a whole number of wei per second: give a multiple of ${formatWei(per)} per ${per} s, ` +
        `or the wei per second itself (e.g. ${down} or ${down + 1n}); accepted forms: ${PRICE_FORMS}`,
    );
  }
  return total / per;
}
