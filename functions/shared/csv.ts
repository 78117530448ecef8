/**
 * CSV (RFC 4180) as the imports read it (the registry's roster, the resident code's fee ledger): records with
 * the physical line they start on, so every bad line can be reported by its number. Header = line 1.
 */
import { normalizeDigits } from './decimal.js';

export interface CsvRecord {
  line: number;
  fields: string[];
  error?: string;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Splits RFC 4180 CSV into records in one pass: quoted fields may hold commas, doubled quotes and line
 * breaks; CRLF, LF and lone CR all end a record. A malformed record carries an error instead of
 * throwing, so every bad line can be reported.
 */
export const readCsv = (text: string): CsvRecord[] => {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < n) {
    const record: CsvRecord = { line, fields: [] };
    for (;;) {
      if (text.charCodeAt(i) === QUOTE) {
        i++;
        let value = '';
        let segment = i;
        let closed = false;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            if (text.charCodeAt(i + 1) === QUOTE) {
              value += text.slice(segment, i + 1);
              i += 2;
              segment = i;
              continue;
            }
            value += text.slice(segment, i);
            i++;
            closed = true;
            break;
          }
          if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) line++;
          i++;
        }
        if (!closed) {
          value += text.slice(segment);
          record.error ??= 'a quoted field is never closed';
        } else {
          const start = i;
          while (i < n) {
            const c = text.charCodeAt(i);
            if (c === COMMA || c === CR || c === LF) break;
            i++;
          }
          if (i > start) {
            record.error ??= 'unexpected text after a closing quote';
            value += text.slice(start, i);
          }
        }
        record.fields.push(value);
      } else {
        const start = i;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === COMMA || c === CR || c === LF) break;
          if (c === QUOTE)
            record.error ??= 'a quote inside an unquoted field; quote the whole field and double the quote';
          i++;
        }
        record.fields.push(text.slice(start, i));
      }
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        i++;
        if (i >= n) {
          record.fields.push('');
          break;
        }
        continue;
      }
      i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      break;
    }
    records.push(record);
  }
  return records;
};

/** Rows whose cells are all blank (including ",,,," left by spreadsheets) are skipped anywhere. */
export const isBlankRecord = (record: CsvRecord): boolean =>
  !record.error && record.fields.every((field) => field.trim() === '');

/** What a header may name: aliases (keys as `headerKey` folds them) to columns, which are required. */
export interface HeaderSpec<C extends string> {
  aliases: Readonly<Record<string, C>>;
  required: readonly C[];
  all: readonly C[];
  /** The Chinese column names an unknown-column error lists after the English ones. */
  chineseNames: readonly string[];
}
export type HeaderResult<C extends string> =
  | { ok: true; columns: C[] }
  | { ok: false; errors: { line: number; reason: string }[] };

/** A header cell as an alias key: full-width folded, lower case, no spaces, underscores or hyphens. */
export const headerKey = (cell: string): string =>
  normalizeDigits(cell)
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');

/**
 * The columns a header names, in order; or every problem with it at once: unknown or blank cells, a
 * column named twice, required columns missing.
 */
export const readHeader = <C extends string>(record: CsvRecord, spec: HeaderSpec<C>): HeaderResult<C> => {
  const { line } = record;
  if (record.error) return { ok: false, errors: [{ line, reason: `header: ${record.error}` }] };
  const errors: { line: number; reason: string }[] = [];
  const columns: C[] = [];
  const unknown: string[] = [];
  const seen = new Map<C, string>();
  for (const [index, cell] of record.fields.entries()) {
    const label = cell.trim();
    const column = spec.aliases[headerKey(cell)];
    if (!column) {
      unknown.push(label === '' ? `(blank, column ${index + 1})` : `"${label}"`);
      continue;
    }
    const earlier = seen.get(column);
    if (earlier !== undefined)
      errors.push({ line, reason: `columns "${earlier}" and "${label}" are both ${column}` });
    seen.set(column, label);
    columns.push(column);
  }
  if (unknown.length > 0)
    errors.push({
      line,
      reason: `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; expected ${spec.all.join(', ')} (or ${spec.chineseNames.join(', ')})`,
    });
  const missing = spec.required.filter((column) => !seen.has(column));
  if (missing.length > 0)
    errors.push({
      line,
      reason: `missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
    });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, columns };
};
