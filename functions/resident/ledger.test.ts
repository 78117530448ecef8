import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unitIdOf } from '../registry/roster.js';
import {
  formatFen,
  type LedgerEntry,
  type LedgerResult,
  MAX_ARREARS_FEN,
  MAX_LEDGER_ERRORS,
  NEGATIVE_REASON,
  parseFeeLedger,
  yuanToFen,
} from './ledger.js';

const AREA_ID = 'xiling-1';
const HEADER = 'building,room,arrears,since,months';
const ZH_HEADER = '楼号,室号,欠费金额,欠费起始,欠费月数';
const TODAY = '2025-06-15';

const BUILDINGS = ['1', '2', '10', '3号楼', 'A座'];
const ROOMS = Array.from({ length: 30 }, (_, index) => String(101 + index));
const KNOWN = new Set(
  BUILDINGS.flatMap((building) => ROOMS.map((room) => unitIdOf(AREA_ID, building, room))),
);

const csv = (lines: string[], eol = '\n'): string => lines.join(eol);

const parse = (text: string, extra: { maxRows?: number; today?: string } = {}) =>
  parseFeeLedger(text, { areaId: AREA_ID, knownUnitIds: KNOWN, today: TODAY, ...extra });

const ok = (result: LedgerResult) => {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.errors)}`);
  return result;
};

/** The errors of a refused file, checking that nothing else came back. */
const failed = (result: LedgerResult) => {
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.entries)}`);
  expect(Object.keys(result).sort()).toEqual(['errors', 'ok']);
  expect('entries' in result).toBe(false);
  return result.errors;
};

const withoutLines = (entries: LedgerEntry[]) => entries.map(({ line: _line, ...rest }) => rest);

const threeRows = [HEADER, '1,101,1234.56,2025-01-01,5', '1,102,0,,', '2,101,"1,000",2024-12,'];
const threeEntries = [
  {
    line: 2,
    unitId: unitIdOf(AREA_ID, '1', '101'),
    building: '1',
    room: '101',
    arrearsFen: 123456,
    since: '2025-01-01',
    months: 5,
  },
  { line: 3, unitId: unitIdOf(AREA_ID, '1', '102'), building: '1', room: '102', arrearsFen: 0 },
  {
    line: 4,
    unitId: unitIdOf(AREA_ID, '2', '101'),
    building: '2',
    room: '101',
    arrearsFen: 100000,
    since: '2024-12-01',
  },
];

describe('parseFeeLedger: valid files', () => {
  it.each([
    ['English', HEADER],
    ['Chinese (楼号, 室号, 欠费金额, 欠费起始, 欠费月数)', ZH_HEADER],
    ['Chinese (楼栋, 房号, 欠费, 起欠日期, 欠费月数)', '楼栋,房号,欠费,起欠日期,欠费月数'],
    ['mixed case with padding', ' BUILDING , Room,ARREARS ,Since, MONTHS'],
  ])('reads a file with a %s header', (_name, header) => {
    const result = ok(parse(csv([header, ...threeRows.slice(1)])));
    expect(result.entries).toEqual(threeEntries);
    expect(result.totalArrearsFen).toBe(223456);
    expect(result.inArrears).toBe(2);
  });

  it('reads reordered columns and a header with only the required ones', () => {
    const reordered = ok(parse(csv(['months,arrears,room,since,building', '5,1234.56,101,2025-01-01,1'])));
    expect(reordered.entries).toEqual([threeEntries[0]]);
    const required = ok(parse(csv(['欠费,房号,楼栋', '88,101,1'])));
    expect(required.entries).toEqual([
      { line: 2, unitId: unitIdOf(AREA_ID, '1', '101'), building: '1', room: '101', arrearsFen: 8800 },
    ]);
  });

  it.each([
    ['LF', csv(threeRows)],
    ['CRLF', csv(threeRows, '\r\n')],
    ['lone CR', csv(threeRows, '\r')],
    ['a UTF-8 BOM', `\uFEFF${csv(threeRows)}`],
    ['a BOM and CRLF', `\uFEFF${csv(threeRows, '\r\n')}`],
    ['trailing CRLF blank lines', `${csv(threeRows, '\r\n')}\r\n\r\n`],
    [
      'full-width digits, ￥ and quoted fields',
      csv([
        HEADER,
        '"１","１０１","￥１２３４．５６","２０２５－０１－０１","５"',
        '1,１０２,０．００,,',
        '2,101,"¥ 1,000.00",2024-12,',
      ]),
    ],
  ])('reads %s', (_name, text) => {
    expect(ok(parse(text)).entries).toEqual(threeEntries);
  });

  it('skips blank records and keeps physical line numbers after them', () => {
    const text = csv([HEADER, '1,101,10,,', ',,,,', '', '1,102,-3,,'], '\r\n');
    expect(failed(parse(text))).toEqual([{ line: 5, field: 'arrears', reason: NEGATIVE_REASON }]);
    expect(ok(parse(text.replace('-3', '3'))).entries.map((entry) => entry.line)).toEqual([2, 5]);
  });

  it('reports the line a multi-line quoted row starts on', () => {
    const text = csv([HEADER, '1,"1\n01",10,,', '1,102,abc,,']);
    expect(failed(parse(text))).toEqual([
      { line: 2, field: 'room', reason: `no such unit in area ${AREA_ID}: import the roster first` },
      {
        line: 4,
        field: 'arrears',
        reason: 'arrears must be an amount in yuan with at most two decimals, e.g. 1234.56',
      },
    ]);
  });

  it('accepts arrears 0 as a paid-up unit, counted in the entries but not in arrears', () => {
    const result = ok(parse(csv([HEADER, '1,101,0,,', '1,102,0.00,,', '1,103,0.01,,'])));
    expect(result.entries.map((entry) => entry.arrearsFen)).toEqual([0, 0, 1]);
    expect(result.inArrears).toBe(1);
    expect(result.totalArrearsFen).toBe(1);
  });

  it('sorts entries by unit id, whatever the file order', () => {
    const result = ok(
      parse(csv([HEADER, 'A座,105,1,,', '10,101,2,,', '1,130,3,,', '3号楼,101,4,,', '1,101,5,,'])),
    );
    const ids = result.entries.map((entry) => entry.unitId);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toHaveLength(5);
    expect(result.totalArrearsFen).toBe(1500);
  });

  it("accepts since on today's date, a month meaning its 1st, and any date when today is not given", () => {
    const today = ok(parse(csv([HEADER, `1,101,1,${TODAY},`, '1,102,1,2025-06,', '1,103,1,2024-02-29,'])));
    expect(today.entries.map((entry) => entry.since)).toEqual([TODAY, '2025-06-01', '2024-02-29']);
    const noToday = parseFeeLedger(csv([HEADER, '1,101,1,2099-01-01,']), {
      areaId: AREA_ID,
      knownUnitIds: KNOWN,
    });
    expect(ok(noToday).entries[0]?.since).toBe('2099-01-01');
  });

  it('reads months from 1 to 600', () => {
    const result = ok(parse(csv([HEADER, '1,101,1,,1', '1,102,1,,600', '1,103,1,,００７'])));
    expect(result.entries.map((entry) => entry.months)).toEqual([1, 600, 7]);
  });

  it('throws on a malformed today, the caller’s mistake', () => {
    expect(() => parse(csv([HEADER, '1,101,1,,']), { today: '2025-6-1' })).toThrow(RangeError);
    expect(() => parse(csv([HEADER, '1,101,1,,']), { today: '2025-02-30' })).toThrow(RangeError);
  });
});

describe('parseFeeLedger: headers', () => {
  it.each([
    ['an unknown column, named', 'building,room,arrears,备注', 'unknown column "备注"'],
    ['several unknown columns', 'building,room,arrears,owner,phone', 'unknown columns "owner", "phone"'],
    ['a blank header cell', 'building,room,arrears,', '(blank, column 4)'],
    ['a missing column', 'building,room,since', 'missing required column arrears'],
    ['missing columns', '楼号,欠费月数', 'missing required columns room, arrears'],
    ['a column given twice', 'building,room,欠费金额,欠费', 'columns "欠费金额" and "欠费" are both arrears'],
    ['an unclosed quote', 'building,room,"arrears', 'header: a quoted field is never closed'],
  ])('reports %s on line 1, before any row', (_name, header, reason) => {
    const errors = failed(parse(csv([header, '1,101,-5,,', '9,999,1,,'])));
    expect(errors.every((error) => error.line === 1 && error.field === undefined)).toBe(true);
    expect(errors.map((error) => error.reason).join(' | ')).toContain(reason);
  });

  it('reports unknown and missing columns together', () => {
    const errors = failed(parse(csv(['building,room,amount', '1,101,5'])));
    expect(errors).toEqual([
      {
        line: 1,
        reason:
          'unknown column "amount"; expected building, room, arrears, since, months (or 楼号, 室号, 欠费金额, 欠费起始, 欠费月数)',
      },
      { line: 1, reason: 'missing required column arrears' },
    ]);
  });

  it.each([
    ['an empty file', ''],
    ['only a BOM', '\uFEFF'],
    ['only blank lines', '\n\r\n,,,\n'],
  ])('rejects %s', (_name, text) => {
    expect(failed(parse(text))).toEqual([
      { line: 1, reason: 'the fee ledger is empty; a header row is required' },
    ]);
  });

  it('rejects a header without rows', () => {
    expect(failed(parse(`${HEADER}\r\n,,,,\r\n`))).toEqual([
      { line: 1, reason: 'the fee ledger has a header but no rows' },
    ]);
  });
});

describe('parseFeeLedger: refused rows', () => {
  const unknown = `no such unit in area ${AREA_ID}: import the roster first`;
  it.each([
    ['a negative amount', '1,103,-12.50,,', 'arrears', NEGATIVE_REASON],
    ['a negative amount after ¥', '1,103,¥-1,,', 'arrears', NEGATIVE_REASON],
    ['a full-width minus', '1,103,－５,,', 'arrears', NEGATIVE_REASON],
    ['three decimals', '1,103,12.345,,', 'arrears', 'more than two decimals'],
    ['exponent notation', '1,103,1e3,,', 'arrears', 'exponent notation'],
    ['an empty amount', '1,103, ,,', 'arrears', 'arrears is empty'],
    ['an amount above the cap', '1,103,100000000.01,,', 'arrears', 'above 100,000,000.00 yuan'],
    ['NaN', '1,103,NaN,,', 'arrears', 'amount in yuan'],
    ['Infinity', '1,103,Infinity,,', 'arrears', 'amount in yuan'],
    ['misgrouped thousands', '1,103,"12,34.00",,', 'arrears', 'group three digits'],
    ['a decimal comma', '1,103,"12,5",,', 'arrears', 'decimal point is a dot'],
    ['a unit not in the roster', '1,999,1,,', 'room', unknown],
    ['a building not in the roster', '99,101,1,,', 'building', unknown],
    ['an empty building', ' ,101,1,,', 'building', 'building is empty'],
    ['a full-width blank room', '1,\u3000,1,,', 'room', 'room is empty'],
    ['a long building', `${'楼'.repeat(51)},101,1,,`, 'building', 'longer than 50'],
    ['since not a calendar date', '1,103,1,2023-02-29,', 'since', 'not a calendar date'],
    ['since in month 13', '1,103,1,2023-13,', 'since', 'no such month'],
    ['since written with slashes', '1,103,1,2023/02/01,', 'since', 'YYYY-MM-DD'],
    ['since after today', '1,103,1,2025-06-16,', 'since', 'after today (2025-06-15)'],
    ['since in a later month', '1,103,1,2025-07,', 'since', 'after today'],
    ['zero months', '1,103,1,,0', 'months', 'between 1 and 600'],
    ['601 months', '1,103,1,,601', 'months', 'between 1 and 600'],
    ['a fractional month count', '1,103,1,,1.5', 'months', 'whole number'],
    ['text months', '1,103,1,,三', 'months', 'whole number'],
  ])('refuses %s', (_name, row, field, reason) => {
    const errors = failed(parse(csv([HEADER, '1,101,1,,', row, '1,102,1,,'])));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 3, field });
    expect(errors[0]?.reason).toContain(reason);
  });

  it.each([
    ['too few fields', '1,103,1,', 'expected 5 fields, found 4'],
    ['too many fields', '1,103,1,,,', 'expected 5 fields, found 6'],
    ['an unclosed quote', '1,103,"1,,', 'a quoted field is never closed'],
    ['a bare quote', '1,103,1",,', 'a quote inside an unquoted field'],
  ])('refuses %s on its line', (_name, row, reason) => {
    const errors = failed(parse(csv([HEADER, '1,101,1,,', row])));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.line).toBe(3);
    expect(errors[0]?.field).toBeUndefined();
    expect(errors[0]?.reason).toContain(reason);
  });

  it('refuses the same unit twice on the later line, naming the first, full-width or not', () => {
    const errors = failed(parse(csv([HEADER, '1,101,1,,', '1,102,1,,', '１, １０１ ,2,,'])));
    expect(errors).toEqual([
      { line: 4, field: 'room', reason: 'building 1 room 101 already appears on line 2' },
    ]);
  });

  it('reports every bad line of a file with three, each with every failing field', () => {
    const errors = failed(
      parse(
        csv(
          [HEADER, '1,101,-1,,', '1,102,5,,', '1,103,5,2030-01-01,0', '1,104,5,,', '1,999,1.234,,'],
          '\r\n',
        ),
      ),
    );
    expect(errors.map((error) => [error.line, error.field])).toEqual([
      [2, 'arrears'],
      [4, 'since'],
      [4, 'months'],
      [6, 'room'],
      [6, 'arrears'],
    ]);
  });

  it('never echoes the amount or other cell text beyond the unit', () => {
    const errors = failed(parse(csv([HEADER, '1,101,13800138000.5,,', '1,102,110101199003071234,,'])));
    expect(errors).toHaveLength(2);
    expect(JSON.stringify(errors)).not.toContain('13800138000');
    expect(JSON.stringify(errors)).not.toContain('110101199003071234');
  });

  it(`stops at ${MAX_LEDGER_ERRORS} errors`, () => {
    const rows = ROOMS.flatMap((room) => BUILDINGS.map((building) => `${building},${room},-1,,0`));
    const errors = failed(parse(csv([HEADER, ...rows])));
    expect(errors).toHaveLength(MAX_LEDGER_ERRORS);
    expect(errors.at(-1)?.line).toBe(MAX_LEDGER_ERRORS / 2 + 1);
  });

  it('refuses more rows than allowed, naming the first row over the limit', () => {
    const rows = ROOMS.slice(0, 6).map((room) => `1,${room},1,,`);
    expect(failed(parse(csv([HEADER, ...rows]), { maxRows: 5 }))).toEqual([
      { line: 7, reason: 'the fee ledger has 6 rows; at most 5 are accepted in one file' },
    ]);
    expect(ok(parse(csv([HEADER, ...rows]), { maxRows: 6 })).entries).toHaveLength(6);
  });
});

describe('yuanToFen and formatFen', () => {
  it.each([
    ['1234', 123400],
    ['1234.5', 123450],
    ['1234.56', 123456],
    ['0', 0],
    ['0.00', 0],
    ['0.01', 1],
    ['007.10', 710],
    ['1,234.56', 123456],
    ['12,345,678.9', 1234567890],
    ['¥1234.56', 123456],
    ['￥ 1234.56', 123456],
    ['１２３４．５６', 123456],
    ['１，２３４', 123400],
    ['  88.8\t', 8880],
    ['\u300088\u3000', 8800],
    ['100000000', MAX_ARREARS_FEN],
    ['100,000,000.00', MAX_ARREARS_FEN],
  ])('reads %j as %i fen', (text, fen) => {
    expect(yuanToFen(text)).toEqual({ ok: true, fen });
  });

  it.each([
    ['-1', NEGATIVE_REASON],
    ['-0.01', NEGATIVE_REASON],
    ['-¥5', NEGATIVE_REASON],
    ['1.234', 'more than two decimals'],
    ['1e5', 'exponent notation'],
    ['1.5E-3', 'exponent notation'],
    ['', 'arrears is empty'],
    ['   ', 'arrears is empty'],
    ['¥', 'no digits'],
    ['100000000.01', 'above 100,000,000.00 yuan'],
    ['1000000000', 'above 100,000,000.00 yuan'],
    ['NaN', 'amount in yuan'],
    ['Infinity', 'amount in yuan'],
    ['0x10', 'amount in yuan'],
    ['+5', 'amount in yuan'],
    ['.5', 'amount in yuan'],
    ['5.', 'amount in yuan'],
    ['1 234', 'amount in yuan'],
    ['1234元', 'amount in yuan'],
    ['1,23', 'group three digits'],
    ['1234,567', 'group three digits'],
    ['0,123', 'group three digits'],
    ['1,,234', 'group three digits'],
    ['1'.repeat(40), 'too long'],
  ])('refuses %j', (text, reason) => {
    const result = yuanToFen(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it.each([
    [123456, '1234.56'],
    [0, '0.00'],
    [5, '0.05'],
    [50, '0.50'],
    [100, '1.00'],
    [-5, '-0.05'],
    [-123456, '-1234.56'],
    [Number.MAX_SAFE_INTEGER, '90071992547409.91'],
  ])('formats %i fen as %j', (fen, text) => {
    expect(formatFen(fen)).toBe(text);
  });

  it('refuses to format anything but a safe integer', () => {
    expect(() => formatFen(1.5)).toThrow(RangeError);
    expect(() => formatFen(Number.NaN)).toThrow(RangeError);
    expect(() => formatFen(2 ** 53)).toThrow(RangeError);
  });

  it('formats exactly like BigInt arithmetic for every safe integer', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (fen) => {
        const n = BigInt(fen);
        const abs = n < 0n ? -n : n;
        const expected = `${n < 0n ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
        expect(formatFen(fen)).toBe(expected);
      }),
    );
  });

  it('yuanToFen ∘ formatFen is the identity on 0 … 100,000,000.00 yuan', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_ARREARS_FEN }), (fen) => {
        expect(yuanToFen(formatFen(fen))).toEqual({ ok: true, fen });
      }),
    );
  });

  const group = (digits: string) => digits.replace(/\B(?=(\d{3})+$)/g, ',');
  const fullWidth = (text: string) =>
    text.replace(/[0-9.,]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

  it('reads any decimal with at most two decimals as exactly its digits × 100', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^\d{1,12}$/),
        fc.stringMatching(/^\d{0,2}$/),
        fc.boolean(),
        fc.constantFrom('', '¥', '￥'),
        fc.boolean(),
        (whole, fraction, grouped, currency, wide) => {
          const digits = grouped ? whole.replace(/^0+(?=\d)/, '') : whole;
          let text = (grouped ? group(digits) : digits) + (fraction === '' ? '' : `.${fraction}`);
          if (wide) text = fullWidth(text);
          const expected = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
          const result = yuanToFen(` ${currency}${text} `);
          if (expected <= BigInt(MAX_ARREARS_FEN))
            expect(result).toEqual({ ok: true, fen: Number(expected) });
          else expect(result).toEqual({ ok: false, reason: 'arrears above 100,000,000.00 yuan' });
        },
      ),
    );
  });

  it('never reads a negative amount', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 * MAX_ARREARS_FEN }),
        fc.constantFrom('-', '－', '−', '-¥', '¥-', '￥ -', '- '),
        (fen, sign) => {
          expect(yuanToFen(`${sign}${formatFen(fen)}`)).toEqual({ ok: false, reason: NEGATIVE_REASON });
        },
      ),
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        const result = yuanToFen(text);
        if (result.ok) expect(result.fen).toBeGreaterThanOrEqual(0);
        expect(yuanToFen(`-${text}`).ok).toBe(false);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Generated ledgers

const LABELS = {
  building: ['building', '楼号', '楼栋'],
  room: ['room', '室号', '房号'],
  arrears: ['arrears', '欠费金额', '欠费'],
  since: ['since', '欠费起始', '起欠日期'],
  months: ['months', '欠费月数'],
} as const;
type Column = keyof typeof LABELS;
const COLUMNS = Object.keys(LABELS) as Column[];

const rowArb = fc.record({
  building: fc.constantFrom(...BUILDINGS),
  room: fc.constantFrom(...ROOMS),
  fen: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: MAX_ARREARS_FEN })),
  since: fc.option(
    fc.date({
      min: new Date('2000-01-01T00:00:00Z'),
      max: new Date(`${TODAY}T00:00:00Z`),
      noInvalidDate: true,
    }),
    { nil: undefined },
  ),
  months: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
});

const ledgerArb = fc.record({
  rows: fc.uniqueArray(rowArb, {
    minLength: 1,
    maxLength: 40,
    selector: (row) => `${row.building}|${row.room}`,
  }),
  order: fc.shuffledSubarray(COLUMNS, { minLength: COLUMNS.length }),
  labels: fc.record({
    building: fc.constantFrom(...LABELS.building),
    room: fc.constantFrom(...LABELS.room),
    arrears: fc.constantFrom(...LABELS.arrears),
    since: fc.constantFrom(...LABELS.since),
    months: fc.constantFrom(...LABELS.months),
  }),
  bom: fc.boolean(),
  eol: fc.constantFrom('\n', '\r\n'),
});
type GeneratedLedger = typeof ledgerArb extends fc.Arbitrary<infer T> ? T : never;
type GeneratedRow = GeneratedLedger['rows'][number];

const render = (ledger: GeneratedLedger, rows: readonly GeneratedRow[] = ledger.rows) => {
  const cells = (row: GeneratedRow): Record<Column, string> => ({
    building: row.building,
    room: row.room,
    arrears: `"${formatFen(row.fen).replace(/\B(?=(\d{3})+\.)/g, ',')}"`,
    since: row.since?.toISOString().slice(0, 10) ?? '',
    months: row.months === undefined ? '' : String(row.months),
  });
  const lines = [
    ledger.order.map((column) => ledger.labels[column]).join(','),
    ...rows.map((row) => ledger.order.map((column) => cells(row)[column]).join(',')),
  ];
  return (ledger.bom ? '\uFEFF' : '') + lines.join(ledger.eol);
};

describe('parseFeeLedger: generated ledgers', () => {
  it('reads every valid ledger: one entry per row, exact amounts and total', () => {
    fc.assert(
      fc.property(ledgerArb, (ledger) => {
        const result = ok(parse(render(ledger)));
        expect(result.entries).toHaveLength(ledger.rows.length);
        const byUnit = new Map(result.entries.map((entry) => [entry.unitId, entry]));
        for (const [index, row] of ledger.rows.entries()) {
          const entry = byUnit.get(unitIdOf(AREA_ID, row.building, row.room));
          expect(entry).toMatchObject({ line: index + 2, arrearsFen: row.fen });
          expect(entry?.months).toBe(row.months);
          expect(entry?.since).toBe(row.since?.toISOString().slice(0, 10));
        }
        expect(result.totalArrearsFen).toBe(ledger.rows.reduce((sum, row) => sum + row.fen, 0));
        expect(result.inArrears).toBe(ledger.rows.filter((row) => row.fen > 0).length);
      }),
    );
  });

  it('gives the same entries (but for their lines) for the rows in any order', () => {
    fc.assert(
      fc.property(
        ledgerArb.chain((ledger) =>
          fc.tuple(
            fc.constant(ledger),
            fc.shuffledSubarray(ledger.rows, {
              minLength: ledger.rows.length,
              maxLength: ledger.rows.length,
            }),
          ),
        ),
        ([ledger, shuffled]) => {
          const original = ok(parse(render(ledger)));
          const reordered = ok(parse(render(ledger, shuffled)));
          expect(withoutLines(reordered.entries)).toEqual(withoutLines(original.entries));
          expect(reordered.totalArrearsFen).toBe(original.totalArrearsFen);
          expect(reordered.inArrears).toBe(original.inArrears);
        },
      ),
    );
  });

  it('parses 20,000 rows, the default limit', () => {
    const known = new Set<string>();
    const rows = Array.from({ length: 20_000 }, (_, index) => {
      const building = `${1 + (index % 50)}号楼`;
      const room = String(1000 + Math.floor(index / 50));
      known.add(unitIdOf(AREA_ID, building, room));
      return `${building},${room},${index % 7 === 0 ? '0' : `${index}.${index % 100}`},2024-01,${1 + (index % 12)}`;
    });
    const result = ok(
      parseFeeLedger(`\uFEFF${csv([HEADER, ...rows], '\r\n')}`, { areaId: AREA_ID, knownUnitIds: known }),
    );
    expect(result.entries).toHaveLength(20_000);
    expect(result.inArrears).toBe(20_000 - Math.ceil(20_000 / 7));
  });
});
