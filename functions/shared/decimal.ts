/**
 * Exact decimal floor areas (m²). Areas decide votes ("at least 2/3 of the exclusive area"), so they are
 * never floating point: an `Area` is a canonical string with exactly two decimals ("89.30"), held as a
 * bigint count of hundredths for arithmetic. One canonical form means equality is string equality.
 */
import * as z from 'zod';

/** A canonical exact area in m²: digits, a dot, exactly two decimals, no leading zeros ("0.50", "89.30"). */
export type Area = string & { readonly __brand: 'Area' };

export type AreaResult = { ok: true; value: Area } | { ok: false; reason: string };

export const AREA_FORMAT_MESSAGE = 'area must be a positive decimal with at most two decimals, e.g. 89.37';

const FULL_WIDTH_START = 0xff01;
const FULL_WIDTH_END = 0xff5e;
const FULL_WIDTH_OFFSET = 0xfee0;
const FOLDABLE = /[\uff01-\uff5e\u3000\u2010-\u2015\u2212]/;
const FOLDABLE_ALL = new RegExp(FOLDABLE.source, 'g');
const foldChar = (ch: string): string => {
  const code = ch.charCodeAt(0);
  if (code >= FULL_WIDTH_START && code <= FULL_WIDTH_END)
    return String.fromCharCode(code - FULL_WIDTH_OFFSET);
  return code === 0x3000 ? ' ' : '-';
};

/**
 * Folds the full-width forms a Chinese input method produces (０-９, ．, －, Ａ-Ｚ, ＋, ；, the ideographic
 * space …) and typographic dashes/minus signs into their ASCII counterparts. Nothing else changes, so
 * Chinese text such as "3号楼" passes through untouched.
 */
export const normalizeDigits = (text: string): string =>
  FOLDABLE.test(text) ? text.replace(FOLDABLE_ALL, foldChar) : text;

const HUNDREDTHS_PER_UNIT = 100n;
const MAX_WHOLE = '100000';
const MAX_AREA = `${MAX_WHOLE}.00`;
const LEADING_ZEROS = /^0+(?=\d)/;
const DECIMAL = /^(\d+)(?:\.(\d{1,2}))?$/;
const MAX_INPUT_LENGTH = 32;

/**
 * Reads a unit's registered exclusive area: a positive decimal with at most two decimals, at most
 * 100000 m². Full-width digits and surrounding whitespace are accepted; a comma decimal separator,
 * exponents, signs and zero are rejected with a reason a clerk can act on.
 */
export const parseArea = (text: string): AreaResult => {
  const normalized = normalizeDigits(text).trim();
  const match = normalized.length <= MAX_INPUT_LENGTH ? DECIMAL.exec(normalized) : null;
  if (!match) return { ok: false, reason: whyNotDecimal(normalized) };
  // Canonical by string surgery: exact, and cheap enough for a 20000-row roster.
  const whole = match[1]!.replace(LEADING_ZEROS, '');
  const fraction = (match[2] ?? '').padEnd(2, '0');
  if (whole === '0' && fraction === '00') return { ok: false, reason: 'area must be greater than 0' };
  if (
    whole.length > MAX_WHOLE.length ||
    (whole.length === MAX_WHOLE.length && `${whole}.${fraction}` > MAX_AREA)
  )
    return { ok: false, reason: 'area must not exceed 100000 m²' };
  return { ok: true, value: `${whole}.${fraction}` as Area };
};

const whyNotDecimal = (normalized: string): string => {
  if (normalized === '') return 'area is empty';
  if (normalized.length > MAX_INPUT_LENGTH) return 'area is too long';
  if (normalized.includes(',')) return 'area uses a comma; write the decimal separator as a dot, e.g. 89.37';
  if (/[eE]/.test(normalized)) return 'area must not use exponent notation';
  if (normalized.startsWith('-')) return 'area must be greater than 0';
  if (/^\d+\.\d{3,}$/.test(normalized)) return 'area has more than two decimals';
  return AREA_FORMAT_MESSAGE;
};

/** The canonical area for a non-negative count of hundredths of m² (sums may exceed a unit's limit). */
export const formatArea = (hundredths: bigint): Area => {
  if (hundredths < 0n) throw new RangeError('an area cannot be negative');
  const whole = hundredths / HUNDREDTHS_PER_UNIT;
  const fraction = hundredths % HUNDREDTHS_PER_UNIT;
  return `${whole}.${fraction.toString().padStart(2, '0')}` as Area;
};

/** Hundredths of m² in a canonical area; exact, for sums and ratios. */
export const areaToHundredths = (area: Area): bigint => {
  const dot = area.length - 3;
  return BigInt(area.slice(0, dot)) * HUNDREDTHS_PER_UNIT + BigInt(area.slice(dot + 1));
};

/** The exact sum of areas; the empty sum is "0.00". */
export const sumAreas = (areas: readonly Area[]): Area => {
  let total = 0n;
  for (const area of areas) total += areaToHundredths(area);
  return formatArea(total);
};

/** -1, 0 or 1, as `a` is smaller than, equal to or larger than `b`. */
export const compareArea = (a: Area, b: Area): -1 | 0 | 1 => {
  const x = areaToHundredths(a);
  const y = areaToHundredths(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** An exact amount: an area, or a count (bigint or safe non-negative integer) such as a number of owners. */
export type Quantity = Area | bigint | number;

const toBigInt = (value: bigint | number, what: string): bigint => {
  if (typeof value === 'bigint') {
    if (value < 0n) throw new RangeError(`${what} cannot be negative`);
    return value;
  }
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  return BigInt(value);
};

const ratioTerms = (
  part: Quantity,
  whole: Quantity,
  num: bigint | number,
  den: bigint | number,
): [bigint, bigint, bigint, bigint] => {
  const partIsArea = typeof part === 'string';
  if (partIsArea !== (typeof whole === 'string'))
    throw new TypeError('part and whole must both be areas or both be counts');
  const p = partIsArea ? areaToHundredths(part) : toBigInt(part as bigint | number, 'part');
  const w = typeof whole === 'string' ? areaToHundredths(whole) : toBigInt(whole, 'whole');
  if (w === 0n) throw new RangeError('whole must be greater than zero');
  const n = toBigInt(num, 'numerator');
  const d = toBigInt(den, 'denominator');
  if (d === 0n) throw new RangeError('denominator must be greater than zero');
  return [p, w, n, d];
};

/**
 * Whether part / whole ≥ num / den, exactly ("2/3 以上" includes 2/3 itself). Areas are compared with
 * areas and counts with counts; a zero whole throws, because the caller must decide what an empty
 * electorate means.
 */
export function fractionAtLeast(part: Area, whole: Area, num: bigint | number, den: bigint | number): boolean;
export function fractionAtLeast(
  part: bigint | number,
  whole: bigint | number,
  num: bigint | number,
  den: bigint | number,
): boolean;
export function fractionAtLeast(
  part: Quantity,
  whole: Quantity,
  num: bigint | number,
  den: bigint | number,
): boolean {
  const [p, w, n, d] = ratioTerms(part, whole, num, den);
  return p * d >= n * w;
}

/** Whether part / whole > num / den, exactly ("过半数": exactly half does not pass). */
export function fractionMoreThan(
  part: Area,
  whole: Area,
  num: bigint | number,
  den: bigint | number,
): boolean;
export function fractionMoreThan(
  part: bigint | number,
  whole: bigint | number,
  num: bigint | number,
  den: bigint | number,
): boolean;
export function fractionMoreThan(
  part: Quantity,
  whole: Quantity,
  num: bigint | number,
  den: bigint | number,
): boolean {
  const [p, w, n, d] = ratioTerms(part, whole, num, den);
  return p * d > n * w;
}

/**
 * An area in an API body: a JSON string (never a number, which would already be a float), parsed to
 * the canonical form.
 */
export const areaSchema = z.string({ error: AREA_FORMAT_MESSAGE }).transform((text, ctx): Area => {
  const parsed = parseArea(text);
  if (parsed.ok) return parsed.value;
  ctx.addIssue({
    code: 'custom',
    message:
      parsed.reason === AREA_FORMAT_MESSAGE ? parsed.reason : `${AREA_FORMAT_MESSAGE} (${parsed.reason})`,
  });
  return z.NEVER;
});
