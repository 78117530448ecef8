/**
 * A property company's fee ledger (物业费台账) for one property area, posted as CSV: one row per unit with
 * what the unit owes. Parsed and validated all or nothing, like the roster import (same CSV reader, same
 * line numbers, same error style). Pure: no I/O; the importer stores what comes back.
 *
 * Decisions a reader should know:
 * - Line numbers are the file's physical lines, header = line 1; a row whose quoted field spans several
 *   lines is reported at the line where it starts. Rows whose cells are all blank are skipped anywhere.
 * - A bad header (unknown, missing or repeated column) is reported alone, at line 1, as the roster does:
 *   rows are only read once the columns are known.
 * - Amounts are decimal yuan in the file and integer fen here, converted digit by digit (never through a
 *   float). A row with arrears 0 is valid: it says the unit is paid up.
 * - A unit is named by `unitIdOf` (full-width digits folded, whitespace trimmed), so `１号楼` and `1号楼`
 *   are one unit; a unit the roster does not know is refused, on `building` when no unit of that building
 *   is known, else on `room`.
 * - Reasons never repeat a cell's content beyond the unit (building and room), which is not personal.
 */

import { unitIdOf } from '../registry/roster.js';
import { type CsvRecord, type HeaderSpec, isBlankRecord, readCsv, readHeader } from '../shared/csv.js';
import { normalizeDigits } from '../shared/decimal.js';

export interface LedgerEntry {
  line: number;
  unitId: string;
  building: string;
  room: string;
  arrearsFen: number;
  /** YYYY-MM-DD; a month YYYY-MM in the file means its 1st. */
  since?: string;
  months?: number;
}
export interface LedgerError {
  line: number;
  field?: string;
  reason: string;
}
export type LedgerResult =
  | { ok: true; entries: LedgerEntry[]; totalArrearsFen: number; inArrears: number }
  | { ok: false; errors: LedgerError[] };

export interface LedgerOptions {
  areaId: string;
  /** The area's unit ids (from the roster import); a row for any other unit is refused. */
  knownUnitIds: ReadonlySet<string>;
  /** Data rows accepted in one file; default 20000. */
  maxRows?: number;
  /** YYYY-MM-DD: a `since` after this day is refused. */
  today?: string;
}

export const DEFAULT_MAX_LEDGER_ROWS = 20_000;
export const MAX_LEDGER_ERRORS = 200;
/** 100,000,000.00 yuan. */
export const MAX_ARREARS_FEN = 10_000_000_000;
export const MAX_MONTHS = 600;
const MAX_PLACE_LENGTH = 50;
const MAX_AMOUNT_LENGTH = 32;

type Column = 'building' | 'room' | 'arrears' | 'since' | 'months';
const REQUIRED: readonly Column[] = ['building', 'room', 'arrears'];
const ALL_COLUMNS: readonly Column[] = [...REQUIRED, 'since', 'months'];

const HEADER_ALIASES: Record<string, Column> = {
  building: 'building',
  楼号: 'building',
  楼栋: 'building',
  room: 'room',
  室号: 'room',
  房号: 'room',
  arrears: 'arrears',
  欠费金额: 'arrears',
  欠费: 'arrears',
  since: 'since',
  欠费起始: 'since',
  起欠日期: 'since',
  months: 'months',
  欠费月数: 'months',
};

// ---------------------------------------------------------------------------------------------------
// Amounts

type Fen = { ok: true; fen: number } | { ok: false; reason: string };

export const NEGATIVE_REASON = 'a negative amount: arrears are 0 or more';
const FORMAT_REASON = 'arrears must be an amount in yuan with at most two decimals, e.g. 1234.56';

/** Digits, or digits grouped by three with commas (no leading zero before a comma); then up to two decimals. */
const AMOUNT = /^(\d+|[1-9]\d{0,2}(?:,\d{3})+)(?:\.(\d{1,2}))?$/;
const CURRENCY = /^[¥￥]\s*/;
const LEADING_ZEROS = /^0+(?=\d)/;
const MAX_WHOLE_DIGITS = 9; // 100000000 yuan

const fail = (reason: string): Fen => ({ ok: false, reason });

const whyNotAmount = (text: string): string => {
  if (/^[\d,]*\.?\d*e[+-]?\d+$/i.test(text) && /\d/.test(text))
    return 'arrears must not use exponent notation';
  if (/^[\d,]*\.\d{3,}$/.test(text)) return 'arrears has more than two decimals: write yuan to the fen';
  if (/^[\d,]+(?:\.\d+)?$/.test(text) && text.includes(','))
    return 'thousands separators must group three digits (e.g. 1,234.56); the decimal point is a dot';
  return FORMAT_REASON;
};

/**
 * Reads an amount of arrears in yuan as exact integer fen: `1234`, `1234.5`, `1,234.56`, `¥1234.56`,
 * full-width digits and surrounding spaces are accepted; a negative amount, more than two decimals,
 * exponents, misgrouped commas, empty text and anything above 100,000,000.00 yuan are refused.
 */
export const yuanToFen = (text: string): Fen => {
  let rest = normalizeDigits(text).trim();
  if (rest === '') return fail('arrears is empty');
  if (rest.length > MAX_AMOUNT_LENGTH) return fail('arrears is too long to be an amount');
  let negative = false;
  if (rest.startsWith('-')) {
    negative = true;
    rest = rest.slice(1).trimStart();
  }
  rest = rest.replace(CURRENCY, '');
  if (rest.startsWith('-')) {
    negative = true;
    rest = rest.slice(1).trimStart();
  }
  if (negative && /^[\d.]/.test(rest)) return fail(NEGATIVE_REASON);
  const match = AMOUNT.exec(rest);
  if (!match) return fail(rest === '' ? 'arrears has no digits' : whyNotAmount(rest));
  const whole = match[1]!.replaceAll(',', '').replace(LEADING_ZEROS, '');
  if (whole.length > MAX_WHOLE_DIGITS) return fail('arrears above 100,000,000.00 yuan');
  // At most 11 digits: an exact integer, read from its digits.
  const fen = Number(whole + (match[2] ?? '').padEnd(2, '0'));
  if (fen > MAX_ARREARS_FEN) return fail('arrears above 100,000,000.00 yuan');
  return { ok: true, fen };
};

/** An integer number of fen as yuan with two decimals, no grouping: 123456 → '1234.56', -5 → '-0.05'. */
export const formatFen = (fen: number): string => {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`fen must be a safe integer, got ${fen}`);
  const abs = Math.abs(fen);
  const cents = abs % 100;
  const yuan = (abs - cents) / 100; // exact: abs - cents is a multiple of 100
  return `${fen < 0 ? '-' : ''}${yuan}.${cents < 10 ? '0' : ''}${cents}`;
};

// ---------------------------------------------------------------------------------------------------
// Cells

type Cell<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Full-width folded, runs of whitespace collapsed, trimmed: as the roster cleans building and room. */
const cleanText = (text: string): string => {
  const folded = normalizeDigits(text).trim();
  return INNER_SPACE.test(folded) ? folded.replace(/\s+/g, ' ') : folded;
};
const INNER_SPACE = /\s\s|[^\S ]/;

const readPlace = (raw: string, what: 'building' | 'room'): Cell<string> => {
  const value = cleanText(raw);
  if (value === '') return { ok: false, reason: `${what} is empty` };
  if (value.length > MAX_PLACE_LENGTH && [...value].length > MAX_PLACE_LENGTH)
    return { ok: false, reason: `${what} is longer than ${MAX_PLACE_LENGTH} characters` };
  if (/\p{Cc}/u.test(value)) return { ok: false, reason: `${what} contains control characters` };
  return { ok: true, value };
};

const DATE = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/;
const DATE_REASON = 'since must be a date YYYY-MM-DD or a month YYYY-MM, e.g. 2024-03-01';

const daysIn = (year: number, month: number): number =>
  month === 2
    ? (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;

/** A calendar date as YYYY-MM-DD (YYYY-MM meaning the 1st), or why not. */
const readDate = (text: string): Cell<string> => {
  const match = DATE.exec(text);
  if (!match) return { ok: false, reason: DATE_REASON };
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = match[3] === undefined ? 1 : Number(match[3]);
  if (month < 1 || month > 12) return { ok: false, reason: 'since has no such month' };
  if (day < 1 || day > daysIn(year, month)) return { ok: false, reason: 'since is not a calendar date' };
  return { ok: true, value: `${match[1]}-${match[2]}-${match[3] ?? '01'}` };
};

const readSince = (raw: string, today: string | undefined): Cell<string | undefined> => {
  const text = normalizeDigits(raw).trim();
  if (text === '') return { ok: true, value: undefined };
  const date = readDate(text);
  if (!date.ok) return date;
  if (today !== undefined && date.value > today)
    return { ok: false, reason: `since is after today (${today}): arrears cannot start in the future` };
  return date;
};

const readMonths = (raw: string): Cell<number | undefined> => {
  const text = normalizeDigits(raw).trim();
  if (text === '') return { ok: true, value: undefined };
  if (!/^\d+$/.test(text)) return { ok: false, reason: 'months must be a whole number of months' };
  const digits = text.replace(LEADING_ZEROS, '');
  const months = digits.length > 3 ? Number.POSITIVE_INFINITY : Number(digits);
  if (months < 1 || months > MAX_MONTHS)
    return { ok: false, reason: `months must be between 1 and ${MAX_MONTHS}` };
  return { ok: true, value: months };
};

// ---------------------------------------------------------------------------------------------------
// The ledger

const HEADER: HeaderSpec<Column> = {
  aliases: HEADER_ALIASES,
  required: REQUIRED,
  all: ALL_COLUMNS,
  chineseNames: ['楼号', '室号', '欠费金额', '欠费起始', '欠费月数'],
};

interface RowContext {
  areaId: string;
  knownUnitIds: ReadonlySet<string>;
  /** `<area>.<building>.` of every known unit, made on the first unknown unit. */
  knownBuildings?: Set<string>;
  today?: string;
  width: number;
  at: Record<Column, number>;
  errors: LedgerError[];
  /** unitId → the line it first appears on. */
  seenUnits: Map<string, number>;
}

const cellAt = (fields: string[], index: number): string => (index < 0 ? '' : (fields[index] ?? ''));

const buildingKnown = (context: RowContext, building: string): boolean => {
  if (!context.knownBuildings) {
    // A unit id is `<area>.<building>.<room>` with dots in each part percent-encoded.
    context.knownBuildings = new Set();
    for (const id of context.knownUnitIds) context.knownBuildings.add(id.slice(0, id.lastIndexOf('.') + 1));
  }
  return context.knownBuildings.has(unitIdOf(context.areaId, building, ''));
};

/** Validates one data record; pushes its errors and returns the entry only when it has none. */
const readRow = (record: CsvRecord, context: RowContext): LedgerEntry | undefined => {
  const { line, fields } = record;
  const { at, errors } = context;
  const before = errors.length;
  if (record.error) {
    errors.push({ line, reason: record.error });
    return undefined;
  }
  if (fields.length !== context.width) {
    errors.push({ line, reason: `expected ${context.width} fields, found ${fields.length}` });
    return undefined;
  }
  const building = readPlace(cellAt(fields, at.building), 'building');
  if (!building.ok) errors.push({ line, field: 'building', reason: building.reason });
  const room = readPlace(cellAt(fields, at.room), 'room');
  if (!room.ok) errors.push({ line, field: 'room', reason: room.reason });
  let unitId: string | undefined;
  if (building.ok && room.ok) {
    unitId = unitIdOf(context.areaId, building.value, room.value);
    const earlier = context.seenUnits.get(unitId);
    if (earlier !== undefined)
      errors.push({
        line,
        field: 'room',
        reason: `building ${building.value} room ${room.value} already appears on line ${earlier}`,
      });
    else {
      context.seenUnits.set(unitId, line);
      if (!context.knownUnitIds.has(unitId))
        errors.push({
          line,
          field: buildingKnown(context, building.value) ? 'room' : 'building',
          reason: `no such unit in area ${context.areaId}: import the roster first`,
        });
    }
  }
  const arrears = yuanToFen(cellAt(fields, at.arrears));
  if (!arrears.ok) errors.push({ line, field: 'arrears', reason: arrears.reason });
  const since = readSince(cellAt(fields, at.since), context.today);
  if (!since.ok) errors.push({ line, field: 'since', reason: since.reason });
  const months = readMonths(cellAt(fields, at.months));
  if (!months.ok) errors.push({ line, field: 'months', reason: months.reason });

  if (errors.length > before || !unitId || !building.ok || !room.ok || !arrears.ok || !since.ok || !months.ok)
    return undefined;
  const entry: LedgerEntry = {
    line,
    unitId,
    building: building.value,
    room: room.value,
    arrearsFen: arrears.fen,
  };
  if (since.value !== undefined) entry.since = since.value;
  if (months.value !== undefined) entry.months = months.value;
  return entry;
};

/**
 * Parses and validates an area's fee ledger. Either every row is good and the entries come back sorted
 * by unit id with their exact total, or nothing does and every failing line is reported (at most 200
 * errors). Throws only on a malformed `opts.today`, which is the caller's mistake, not the file's.
 */
export const parseFeeLedger = (csv: string, opts: LedgerOptions): LedgerResult => {
  if (opts.today !== undefined && (opts.today.length !== 10 || !readDate(opts.today).ok))
    throw new RangeError(`today must be a date YYYY-MM-DD, got ${JSON.stringify(opts.today)}`);
  const maxRows = opts.maxRows ?? DEFAULT_MAX_LEDGER_ROWS;
  const records = readCsv(csv).filter((record) => !isBlankRecord(record));
  const [header, ...data] = records;
  if (!header)
    return { ok: false, errors: [{ line: 1, reason: 'the fee ledger is empty; a header row is required' }] };
  const head = readHeader(header, HEADER);
  if (!head.ok) return head;
  if (data.length === 0)
    return { ok: false, errors: [{ line: header.line, reason: 'the fee ledger has a header but no rows' }] };
  if (data.length > maxRows)
    return {
      ok: false,
      errors: [
        {
          line: data[maxRows]!.line,
          reason: `the fee ledger has ${data.length} rows; at most ${maxRows} are accepted in one file`,
        },
      ],
    };

  const at = Object.fromEntries(
    ALL_COLUMNS.map((column) => [column, head.columns.indexOf(column)]),
  ) as Record<Column, number>;
  const context: RowContext = {
    areaId: opts.areaId,
    knownUnitIds: opts.knownUnitIds,
    today: opts.today,
    width: head.columns.length,
    at,
    errors: [],
    seenUnits: new Map(),
  };
  const entries: LedgerEntry[] = [];
  for (const record of data) {
    const entry = readRow(record, context);
    if (entry) entries.push(entry);
    if (context.errors.length >= MAX_LEDGER_ERRORS) break;
  }
  if (context.errors.length > 0) return { ok: false, errors: context.errors.slice(0, MAX_LEDGER_ERRORS) };

  entries.sort((a, b) => (a.unitId < b.unitId ? -1 : a.unitId > b.unitId ? 1 : 0));
  let totalArrearsFen = 0;
  let inArrears = 0;
  for (const entry of entries) {
    totalArrearsFen += entry.arrearsFen;
    if (entry.arrearsFen > 0) inArrears++;
  }
  return { ok: true, entries, totalArrearsFen, inArrears };
};
