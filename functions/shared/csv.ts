/**
 * CSV (RFC 4180) as the imports read it (the registry's roster, the resident code's fee ledger): records with
 * the physical line they start on, so every bad line can be reported by its number. Header = line 1.
 */
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
