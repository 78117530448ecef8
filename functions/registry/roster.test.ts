import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { areaToHundredths, formatArea } from '../shared/decimal.js';
import {
  DEVELOPER_NAME,
  fnv1a64,
  MAX_ERRORS,
  ownerIdOf,
  parseRoster,
  type RosterResult,
  unitIdOf,
} from './roster.js';

const AREA_ID = 'xiling-1';
const HEADER = 'building,room,area,owner,idLast4,phone,developerHeld';

const csv = (lines: string[], eol = '\n'): string => lines.join(eol);

const ok = (result: RosterResult) => {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.errors)}`);
  return result;
};

const failed = (result: RosterResult) => {
  if (result.ok) throw new Error('expected errors, got ok');
  return result.errors;
};

const parse = (text: string, maxRows?: number) => parseRoster(text, { areaId: AREA_ID, maxRows });

const twoRows = [HEADER, '1,101,89.37,张伟,1234,13800138000,否', '1,102,100.63,王芳,5678,,'];

describe('parseRoster: headers', () => {
  it.each([
    ['English', 'building,room,area,owner,idLast4,phone,developerHeld'],
    [
      'Chinese (楼号, 室号, 专有面积, 业主姓名 …)',
      '楼号,室号,专有面积,业主姓名,证件号后四位,手机号,开发商持有',
    ],
    ['Chinese (楼栋, 房号, 面积, 业主, 手机)', '楼栋,房号,面积,业主,证件号后四位,手机,开发商持有'],
    ['mixed case with padding', ' BUILDING , Room,AREA ,Owner,IDLAST4,Phone,DeveloperHeld'],
    ['snake and spaced spellings', 'building,room,area,owner_name,id_last4,phone,developer held'],
    ['reordered columns', 'owner,area,room,building,phone,idLast4,developerHeld'],
  ])('reads a %s header', (_name, header) => {
    const columns = header.split(',').map((label) => label.trim().toLowerCase());
    const englishOrder = ['building', 'room', 'area', 'owner', 'idlast4', 'phone', 'developerheld'];
    const reordered = columns[0] === 'owner';
    const row = (values: string[]) =>
      reordered ? columns.map((column) => values[englishOrder.indexOf(column)]!).join(',') : values.join(',');
    const result = ok(
      parse(
        csv([
          header,
          row(['1', '101', '89.37', '张伟', '1234', '13800138000', '否']),
          row(['1', '102', '100.63', '王芳', '5678', '', '']),
        ]),
      ),
    );
    expect(result.units.map((unit) => [unit.building, unit.room, unit.area])).toEqual([
      ['1', '101', '89.37'],
      ['1', '102', '100.63'],
    ]);
    expect(result.owners.map((owner) => owner.name)).toEqual(['张伟', '王芳']);
    expect(result.totalArea).toBe('190.00');
  });

  it('accepts a header with only the required columns', () => {
    const result = ok(parse(csv(['building,room,area,owner', '1,101,89.37,张伟'])));
    expect(result.units).toHaveLength(1);
    expect(result.units[0]?.developerHeld).toBe(false);
  });

  it.each([
    ['an unknown column, named', 'building,room,area,owner,floor', 'unknown column "floor"'],
    ['several unknown columns', 'building,room,area,owner,floor,备注', 'unknown columns "floor", "备注"'],
    ['a blank header cell', 'building,room,area,owner,', '(blank, column 5)'],
    ['a missing column', 'building,area,owner', 'missing required column room'],
    ['missing columns', 'building,owner', 'missing required columns room, area'],
    ['a column given twice', 'building,室号,房号,area,owner', 'columns "室号" and "房号" are both room'],
  ])('reports %s on line 1', (_name, header, reason) => {
    const errors = failed(parse(csv([header, '1,101,89.37,张伟'])));
    expect(errors.every((error) => error.line === 1)).toBe(true);
    expect(errors.map((error) => error.reason).join(' | ')).toContain(reason);
  });

  it('reports unknown and missing columns together', () => {
    const errors = failed(parse(csv(['building,room,size,owner', '1,101,89.37,张伟'])));
    expect(errors).toHaveLength(2);
    expect(errors[0]?.reason).toContain('"size"');
    expect(errors[1]?.reason).toContain('missing required column area');
  });

  it.each([
    ['an empty file', ''],
    ['only a BOM', '\uFEFF'],
    ['only blank lines', '\n\r\n,,,\n'],
  ])('rejects %s', (_name, text) => {
    expect(failed(parse(text))).toEqual([
      { line: 1, reason: 'the roster is empty; a header row is required' },
    ]);
  });

  it('rejects a header without rows', () => {
    expect(failed(parse(`${HEADER}\n\n`))).toEqual([
      { line: 1, reason: 'the roster has a header but no units' },
    ]);
  });
});

describe('parseRoster: encoding and CSV', () => {
  const expected = [
    ['1', '101', '89.37'],
    ['1', '102', '100.63'],
  ];

  it.each([
    ['LF', csv(twoRows)],
    ['CRLF', csv(twoRows, '\r\n')],
    ['lone CR', csv(twoRows, '\r')],
    ['a UTF-8 BOM', `\uFEFF${csv(twoRows)}`],
    ['a BOM and CRLF', `\uFEFF${csv(twoRows, '\r\n')}`],
    ['trailing blank lines', `${csv(twoRows)}\n\n\n`],
    ['trailing CRLF blank lines', `${csv(twoRows, '\r\n')}\r\n\r\n`],
    ['spreadsheet rows of empty cells', `${csv(twoRows)}\n,,,,,,\n,,,,,,\n`],
    [
      'full-width digits and dots',
      csv([
        HEADER,
        '１,１０１,８９．３７,张伟,１２３４,１３８００１３８０００,否',
        '1,１０２,１００．６３,王芳,５６７８,,',
      ]),
    ],
    [
      'every field quoted',
      csv([
        HEADER,
        '"1","101","89.37","张伟","1234","13800138000","否"',
        '"1","102","100.63","王芳","5678","",""',
      ]),
    ],
    [
      'surrounding spaces',
      csv([HEADER, ' 1 , 101 , 89.37 , 张伟 , 1234 , 138 0013 8000 , 否 ', '1,102,100.63,王芳,5678,,']),
    ],
  ])('reads %s', (_name, text) => {
    const result = ok(parse(text));
    expect(result.units.map((unit) => [unit.building, unit.room, unit.area])).toEqual(expected);
    expect(result.owners.map((owner) => owner.name)).toEqual(['张伟', '王芳']);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks, and counts physical lines', () => {
    const text = csv(
      [
        HEADER,
        '1,101,89.37,"Smith, John",1234,,',
        '1,102,50,"O""Brien",5678,,',
        '1,103,60,"Li\r\nMing",0001,,',
        '1,104,0,Bad,0002,,',
      ],
      '\r\n',
    );
    const errors = failed(parse(text));
    expect(errors).toEqual([{ line: 6, field: 'area', reason: 'area must be greater than 0' }]);

    const fixed = ok(parse(text.replace('1,104,0,', '1,104,70,')));
    expect(fixed.owners.map((owner) => owner.name)).toEqual(['Smith, John', 'O"Brien', 'Li Ming', 'Bad']);
  });

  it.each([
    ['an unclosed quote', '1,102,50,"王芳,5678,,', 'a quoted field is never closed'],
    ['text after a closing quote', '1,102,50,"王芳"x,5678,,', 'unexpected text after a closing quote'],
    ['a bare quote in a field', '1,102,50,王"芳,5678,,', 'a quote inside an unquoted field'],
  ])('reports %s on its line', (_name, row, reason) => {
    const errors = failed(parse(csv([HEADER, '1,101,89.37,张伟,1234,,', row])));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.line).toBe(3);
    expect(errors[0]?.reason).toContain(reason);
  });
});

describe('parseRoster: rows', () => {
  it.each([
    ['an empty building', ' ,101,89.37,张伟,1234,,', 'building', 'building is empty'],
    ['a full-width blank room', '1,\u3000,89.37,张伟,1234,,', 'room', 'room is empty'],
    ['a long building', `${'楼'.repeat(51)},101,89.37,张伟,1234,,`, 'building', 'longer than 50'],
    ['a comma area', '1,101,"89,37",张伟,1234,,', 'area', 'comma'],
    ['a negative area', '1,101,-1,张伟,1234,,', 'area', 'greater than 0'],
    ['a zero area', '1,101,0,张伟,1234,,', 'area', 'greater than 0'],
    ['an exponent area', '1,101,1e2,张伟,1234,,', 'area', 'exponent'],
    ['a blank area', '1,101,,张伟,1234,,', 'area', 'area is empty'],
    ['three decimals', '1,101,89.375,张伟,1234,,', 'area', 'more than two decimals'],
    ['an empty owner', '1,101,89.37,,1234,,', 'owner', 'owner name is empty'],
    ['a 51-character owner', `1,101,89.37,${'王'.repeat(51)},1234,,`, 'owner', 'longer than 50'],
    ['a short idLast4', '1,101,89.37,张伟,123,,', 'idLast4', 'last four characters'],
    ['letters in idLast4', '1,101,89.37,张伟,12A4,,', 'idLast4', 'last four characters'],
    ['X not last in idLast4', '1,101,89.37,张伟,12X4,,', 'idLast4', 'X only last'],
    [
      'a full 18-character ID',
      '1,101,89.37,张伟,11010119900307123X,,',
      'idLast4',
      'store only the last four',
    ],
    ['a full 15-digit ID', '1,101,89.37,张伟,110101900307123,,', 'idLast4', 'store only the last four'],
    ['a 10-digit phone', '1,101,89.37,张伟,1234,1380013800,', 'phone', 'mainland mobile'],
    ['a landline', '1,101,89.37,张伟,1234,02161234567,', 'phone', 'mainland mobile'],
    ['a foreign prefix', '1,101,89.37,张伟,1234,+85261234567,', 'phone', 'mainland mobile'],
    ['an unknown flag', '1,101,89.37,张伟,1234,,maybe', 'developerHeld', 'true/false, 是/否 or 1/0'],
  ])('rejects %s', (_name, row, field, reason) => {
    const errors = failed(parse(csv([HEADER, '1,100,50,李娜,9999,,', row, '1,102,50,李娜,9999,,'])));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 3, field });
    expect(errors[0]?.reason).toContain(reason);
  });

  it('never repeats a full ID number in the error', () => {
    const errors = failed(parse(csv([HEADER, '1,101,89.37,张伟,110101199003071234,,'])));
    expect(JSON.stringify(errors)).not.toContain('110101199003071234');
  });

  it.each([
    ['13800138000', '13800138000'],
    ['138 0013 8000', '13800138000'],
    ['138-0013-8000', '13800138000'],
    ['+86 138-0013-8000', '13800138000'],
    ['+8613800138000', '13800138000'],
    ['１３８\u3000００１３\u3000８０００', '13800138000'],
    ['＋８６１３８００１３８０００', '13800138000'],
  ])('reads phone %j as %j', (phone, expected) => {
    const result = ok(parse(csv([HEADER, `1,101,89.37,张伟,,${phone},`])));
    expect(result.owners[0]?.phone).toBe(expected);
  });

  it.each([
    ['1234', '1234'],
    ['123x', '123X'],
    ['123Ｘ', '123X'],
    ['０００１', '0001'],
  ])('reads idLast4 %j as %j', (idLast4, expected) => {
    const result = ok(parse(csv([HEADER, `1,101,89.37,张伟,${idLast4},,`])));
    expect(result.owners[0]?.idLast4).toBe(expected);
  });

  it.each([
    ['true', true],
    ['FALSE', false],
    ['是', true],
    ['否', false],
    ['1', true],
    ['０', false],
    ['', false],
  ])('reads developerHeld %j as %s', (flag, expected) => {
    const result = ok(parse(csv([HEADER, `1,101,89.37,某置业,,,${flag}`])));
    expect(result.units[0]?.developerHeld).toBe(expected);
  });

  it('reports a wrong field count for that line only', () => {
    const errors = failed(
      parse(csv([HEADER, '1,101,89.37,张伟,1234,', '1,102,50,王芳,5678,,', '1,103,50,李娜,,,,'])),
    );
    expect(errors).toEqual([
      { line: 2, reason: 'expected 7 fields, found 6' },
      { line: 4, reason: 'expected 7 fields, found 8' },
    ]);
  });

  it('reports a repeated unit on the later line, naming the earlier one', () => {
    const errors = failed(
      parse(csv([HEADER, '1,101,89.37,张伟,1234,,', '1,102,50,王芳,5678,,', '１,１０１,60,李娜,,,'])),
    );
    expect(errors).toEqual([
      { line: 4, field: 'room', reason: 'building 1 room 101 already appears on line 2' },
    ]);
  });

  it('reports every failing field of every failing line, in line order', () => {
    const errors = failed(
      parse(csv([HEADER, '1,101,0,,1234,,', '1,102,50,王芳,5678,,', ',103,50,李娜,12,1,x'])),
    );
    expect(errors.map((error) => [error.line, error.field])).toEqual([
      [2, 'area'],
      [2, 'owner'],
      [4, 'building'],
      [4, 'developerHeld'],
      [4, 'idLast4'],
      [4, 'phone'],
    ]);
  });

  it('reports only the one bad row among many', () => {
    const rows = Array.from(
      { length: 500 },
      (_, index) => `${1 + (index % 9)},${1000 + index},88.5,业主${index},,,`,
    );
    rows[316] = '5,9999,88.5,业主,,123456,';
    const errors = failed(parse(csv([HEADER, ...rows])));
    expect(errors).toEqual([
      {
        line: 318,
        field: 'phone',
        reason: 'phone must be a mainland mobile number: 11 digits starting with 1',
      },
    ]);
  });

  it(`stops at ${MAX_ERRORS} errors`, () => {
    const rows = Array.from({ length: 300 }, (_, index) => `1,${index},0,张伟,,,`);
    const errors = failed(parse(csv([HEADER, ...rows])));
    expect(errors).toHaveLength(MAX_ERRORS);
    expect(errors.at(-1)?.line).toBe(MAX_ERRORS + 1);
  });

  it('refuses more rows than allowed, naming the first row over the limit', () => {
    const rows = Array.from({ length: 6 }, (_, index) => `1,${index + 1},50,业主${index},,,`);
    expect(failed(parse(csv([HEADER, ...rows]), 5))).toEqual([
      { line: 7, reason: 'the roster has 6 rows; at most 5 are accepted in one file' },
    ]);
    expect(ok(parse(csv([HEADER, ...rows]), 6)).units).toHaveLength(6);
  });
});

describe('parseRoster: owners', () => {
  it('recognises one owner across rows by name and idLast4', () => {
    const result = ok(
      parse(
        csv([
          HEADER,
          '2,201,80,张伟,1234,13800138000,',
          '1,101,90,张伟,１２３４,,',
          '1,102,70,张伟,5678,,',
          '1,103,60, 张伟 ,1234,13900139000,',
        ]),
      ),
    );
    const [first, second] = result.owners;
    expect(result.owners).toHaveLength(2);
    expect(first).toEqual({
      ownerId: ownerIdOf(AREA_ID, '张伟', '1234'),
      name: '张伟',
      idLast4: '1234',
      phone: '13900139000',
      unitIds: [unitIdOf(AREA_ID, '1', '101'), unitIdOf(AREA_ID, '1', '103'), unitIdOf(AREA_ID, '2', '201')],
    });
    expect(second?.unitIds).toEqual([unitIdOf(AREA_ID, '1', '102')]);
  });

  it('recognises an owner by name and phone when idLast4 is absent, and by name alone without either', () => {
    const result = ok(
      parse(
        csv([
          HEADER,
          '1,101,90,王芳,,138 0013 8000,',
          '1,102,90,王芳,,13800138000,',
          '1,103,90,王芳,,13900139000,',
          '1,104,90,李娜,,,',
          '1,105,90,李娜,,,',
        ]),
      ),
    );
    expect(result.owners.map((owner) => [owner.name, owner.phone, owner.unitIds.length])).toEqual([
      ['王芳', '13800138000', 2],
      ['王芳', '13900139000', 1],
      ['李娜', undefined, 2],
    ]);
  });

  it.each([
    ['semicolons', '张伟;王芳', '1234;5678', '13800138000;'],
    ['full-width semicolons', '张伟；王芳', '1234；5678', '13800138000；'],
    ['enumeration commas', '张伟、王芳', '1234、5678', '13800138000、'],
  ])('reads co-owners separated by %s, with per-owner idLast4 and phone', (_name, owners, ids, phones) => {
    const result = ok(parse(csv([HEADER, `1,101,90,${owners},${ids},${phones},`, '1,102,60,张伟,1234,,'])));
    const zhang = ownerIdOf(AREA_ID, '张伟', '1234');
    const wang = ownerIdOf(AREA_ID, '王芳', '5678');
    expect(result.units[0]?.ownerIds).toEqual([zhang, wang]);
    expect(result.owners).toEqual([
      {
        ownerId: zhang,
        name: '张伟',
        idLast4: '1234',
        phone: '13800138000',
        unitIds: [unitIdOf(AREA_ID, '1', '101'), unitIdOf(AREA_ID, '1', '102')],
      },
      { ownerId: wang, name: '王芳', idLast4: '5678', unitIds: [unitIdOf(AREA_ID, '1', '101')] },
    ]);
  });

  it('reads co-owners with blank idLast4 and phone cells', () => {
    const result = ok(parse(csv([HEADER, '1,101,90,张伟;王芳,,,'])));
    expect(result.owners.map((owner) => owner.name)).toEqual(['张伟', '王芳']);
  });

  it.each([
    ['too few idLast4 values', '张伟;王芳', '1234', '', 'idLast4', 'one value per owner (2 owners'],
    ['too many phones', '张伟', '', '13800138000;13900139000', 'phone', 'mainland mobile'],
    ['an empty co-owner', '张伟;', '', '', 'owner', 'co-owner 2: owner name is empty'],
    ['the same co-owner twice', '张伟;张伟', '1234;1234', '', 'owner', 'listed twice'],
    ['a full ID among co-owners', '张伟;王芳', '1234;110101199003071234', '', 'idLast4', 'store only'],
  ])('rejects %s', (_name, owners, ids, phones, field, reason) => {
    const errors = failed(parse(csv([HEADER, `1,101,90,${owners},${ids},${phones},`])));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 2, field });
    expect(errors[0]?.reason).toContain(reason);
  });

  it("counts all of the developer's units as one owner", () => {
    const result = ok(
      parse(
        csv(
          [HEADER, '1,101,90,,,,是', '1,102,90,张伟,1234,,否', '2,201,80,,,,1', '3,301,70,,,,true'],
          '\r\n',
        ),
      ),
    );
    const developer = result.owners.find((owner) => owner.ownerId === `${AREA_ID}.developer`);
    expect(developer).toEqual({
      ownerId: `${AREA_ID}.developer`,
      name: DEVELOPER_NAME,
      unitIds: [unitIdOf(AREA_ID, '1', '101'), unitIdOf(AREA_ID, '2', '201'), unitIdOf(AREA_ID, '3', '301')],
    });
    expect(result.owners).toHaveLength(2);
    expect(result.units.filter((unit) => unit.developerHeld)).toHaveLength(3);
  });

  it('names the developer after the first owner cell given on a developer-held row', () => {
    const result = ok(parse(csv([HEADER, '1,101,90,,,,是', '1,102,90,某某置业有限公司,,,是'])));
    expect(result.owners).toEqual([
      {
        ownerId: `${AREA_ID}.developer`,
        name: '某某置业有限公司',
        unitIds: [unitIdOf(AREA_ID, '1', '101'), unitIdOf(AREA_ID, '1', '102')],
      },
    ]);
  });
});

describe('parseRoster: order and identifiers', () => {
  it('sorts units by building, then room, with numbers in natural order', () => {
    const rows = [
      '10号楼,101,50,甲,,,',
      '2号楼,1001,50,乙,,,',
      '2号楼,901,50,丙,,,',
      'A座,0102,50,丁,,,',
      '2号楼,901A,50,戊,,,',
      'A座,101,50,己,,,',
      '1,2-1,50,庚,,,',
      '1,10-1,50,辛,,,',
    ];
    const result = ok(parse(csv([HEADER, ...rows])));
    expect(result.units.map((unit) => `${unit.building}/${unit.room}`)).toEqual([
      '1/2-1',
      '1/10-1',
      '2号楼/901',
      '2号楼/901A',
      '2号楼/1001',
      '10号楼/101',
      'A座/101',
      'A座/0102',
    ]);
    const reversed = ok(parse(csv([HEADER, ...rows.reverse()])));
    expect(reversed).toEqual(result);
  });

  it.each([
    ['xiling-1', '3号楼', '1201', 'xiling-1.3号楼.1201'],
    ['xiling-1', '３号楼', '１２０１', 'xiling-1.3号楼.1201'],
    ['xiling-1', 'A.1', '2/3', 'xiling-1.A%2E1.2%2F3'],
    ['a.b', 'c', 'd', 'a%2Eb.c.d'],
    ['xiling-1', 'B 座', '1-1', 'xiling-1.B%20座.1-1'],
  ])('names unit (%s, %s, %s) %s', (areaId, building, room, expected) => {
    expect(unitIdOf(areaId, building, room)).toBe(expected);
  });

  it('keeps unit ids apart when the parts differ', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (b1, r1, b2, r2) => {
        const clean = (text: string) => text.replace(/\s+/g, ' ').trim();
        fc.pre(clean(b1) !== clean(b2) || clean(r1) !== clean(r2));
        fc.pre(!/[\uff01-\uff5e\u3000\u2010-\u2015\u2212]/.test(b1 + r1 + b2 + r2));
        expect(unitIdOf('a', b1, r1)).not.toBe(unitIdOf('a', b2, r2));
      }),
    );
  });

  it('names owners deterministically and apart', () => {
    expect(ownerIdOf(AREA_ID, '张伟', '1234')).toBe(ownerIdOf(AREA_ID, ' 张伟 ', '１２３４'));
    expect(ownerIdOf(AREA_ID, '张伟', '123x')).toBe(ownerIdOf(AREA_ID, '张伟', '123X'));
    expect(ownerIdOf(AREA_ID, '张伟', undefined, '13800138000')).toBe(
      ownerIdOf(AREA_ID, '张伟', undefined, '138-0013-8000'),
    );
    const ids = new Set([
      ownerIdOf(AREA_ID, '张伟', '1234'),
      ownerIdOf(AREA_ID, '张伟', '1235'),
      ownerIdOf(AREA_ID, '张伟'),
      ownerIdOf(AREA_ID, '张伟', undefined, '13800138000'),
      ownerIdOf('other', '张伟', '1234'),
    ]);
    expect(ids.size).toBe(5);
    expect(ownerIdOf(AREA_ID, '张伟', '1234')).toMatch(/^xiling-1\.owner-[0-9a-f]{16}$/);
  });

  it.each([
    ['', 'cbf29ce484222325'],
    ['a', 'af63dc4c8601ec8c'],
    ['foobar', '85944171f73967e8'],
  ])('hashes %j with FNV-1a 64 as %s', (text, expected) => {
    expect(fnv1a64(text)).toBe(expected);
  });

  it('matches a BigInt reference FNV-1a 64 on any text', () => {
    const reference = (text: string) => {
      let hash = 0xcbf29ce484222325n;
      for (const byte of new TextEncoder().encode(text)) {
        hash ^= BigInt(byte);
        hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
      }
      return hash.toString(16).padStart(16, '0');
    };
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(fnv1a64(text)).toBe(reference(text));
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Generated rosters

type Column = 'building' | 'room' | 'area' | 'owner' | 'idLast4' | 'phone' | 'developerHeld';
const LABELS: Record<Column, string[]> = {
  building: ['building', '楼号', '楼栋', 'Building'],
  room: ['room', '室号', '房号', 'ROOM'],
  area: ['area', '专有面积', '面积'],
  owner: ['owner', '业主姓名', '业主'],
  idLast4: ['idLast4', '证件号后四位', 'IDLAST4'],
  phone: ['phone', '手机', '手机号'],
  developerHeld: ['developerHeld', '开发商持有'],
};
const COLUMNS = Object.keys(LABELS) as Column[];
const NAMES = ['张伟', '王芳', '李娜', '欧阳 娜娜', 'Smith, John', 'O"Brien', 'Li\nMing'];
const IDS = ['1234', '5678', '000X', '9999'];

interface GeneratedRow {
  building: string;
  room: string;
  hundredths: bigint;
  name: string;
  idLast4: string;
  phone: string;
  developerHeld: boolean;
  fullWidth: boolean;
  quoted: boolean;
}

const rowArb: fc.Arbitrary<GeneratedRow> = fc.record({
  building: fc.constantFrom('1', '2', '10', '3号楼', 'A座', 'B-2'),
  room: fc.integer({ min: 101, max: 3210 }).map(String),
  hundredths: fc.bigInt({ min: 1n, max: 10_000_000n }),
  name: fc.constantFrom(...NAMES),
  idLast4: fc.constantFrom(...IDS),
  phone: fc.oneof(
    fc.constant(''),
    fc.integer({ min: 0, max: 99_999_999 }).map((n) => `139${String(n).padStart(8, '0')}`),
  ),
  developerHeld: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  fullWidth: fc.boolean(),
  quoted: fc.boolean(),
});

const rosterArb = fc.record({
  rows: fc.uniqueArray(rowArb, {
    minLength: 1,
    maxLength: 40,
    selector: (row) => `${row.building}|${row.room}`,
  }),
  order: fc.shuffledSubarray(COLUMNS, { minLength: COLUMNS.length }),
  labels: fc.record(
    Object.fromEntries(COLUMNS.map((column) => [column, fc.constantFrom(...LABELS[column])])) as Record<
      Column,
      fc.Arbitrary<string>
    >,
  ),
  bom: fc.boolean(),
  eol: fc.constantFrom('\n', '\r\n'),
  trailingBlankLines: fc.nat({ max: 2 }),
});
type GeneratedRoster = typeof rosterArb extends fc.Arbitrary<infer T> ? T : never;

const toFullWidth = (text: string) =>
  text.replace(/[0-9.-]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

const cellsOf = (row: GeneratedRow): Record<Column, string> => {
  const area = formatArea(row.hundredths).replace(/\.?0+$/, '');
  return {
    building: row.fullWidth ? toFullWidth(row.building) : row.building,
    room: row.fullWidth ? toFullWidth(row.room) : row.room,
    area: row.fullWidth ? toFullWidth(area) : area,
    owner: row.name,
    idLast4: row.idLast4,
    phone: row.phone,
    developerHeld: row.developerHeld ? '是' : row.fullWidth ? '0' : '否',
  };
};

const field = (value: string, quoted: boolean) =>
  quoted || /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;

/** The CSV text and the physical line each row starts on. */
const render = (roster: GeneratedRoster, override?: { row: number; column: Column; value: string }) => {
  const header = roster.order.map((column) => roster.labels[column]).join(',');
  const lines = [header];
  const rowLines: number[] = [];
  let line = 2;
  for (const [index, row] of roster.rows.entries()) {
    const cells = cellsOf(row);
    if (override?.row === index) cells[override.column] = override.value;
    const text = roster.order.map((column) => field(cells[column], row.quoted)).join(',');
    rowLines.push(line);
    line += 1 + (text.match(/\n/g)?.length ?? 0);
    lines.push(text);
  }
  const body = lines.join(roster.eol) + roster.eol.repeat(roster.trailingBlankLines);
  return { text: (roster.bom ? '\uFEFF' : '') + body, rowLines };
};

const INVALID: Record<Column, string[]> = {
  building: ['', '  ', '\u3000'],
  room: [''],
  area: ['0', '-5', '89,37', '1e2', 'abc', '1.234', ''],
  owner: ['王'.repeat(51), '张伟;'],
  idLast4: ['12345', '110101199003071234', 'ABCD', '12X4'],
  phone: ['12345', '23800138000', 'phone'],
  developerHeld: ['maybe', '2'],
};

describe('parseRoster: generated rosters', () => {
  it('reads every valid roster: one unit per row, exact total, one owner per (name, idLast4)', () => {
    fc.assert(
      fc.property(rosterArb, (roster) => {
        const result = ok(parse(render(roster).text));
        expect(result.units).toHaveLength(roster.rows.length);
        const total = roster.rows.reduce((sum, row) => sum + row.hundredths, 0n);
        expect(areaToHundredths(result.totalArea)).toBe(total);
        const people = new Set(
          roster.rows.filter((row) => !row.developerHeld).map((row) => `${row.name}|${row.idLast4}`),
        );
        const developer = roster.rows.some((row) => row.developerHeld) ? 1 : 0;
        expect(result.owners).toHaveLength(people.size + developer);
        const ownedUnits = result.owners.reduce((sum, owner) => sum + owner.unitIds.length, 0);
        expect(ownedUnits).toBe(roster.rows.length);
      }),
    );
  });

  it('reports exactly the line of one invalid cell', () => {
    fc.assert(
      fc.property(
        rosterArb,
        fc.nat(),
        fc.constantFrom(...COLUMNS),
        fc.nat(),
        (roster, rowPick, column, valuePick) => {
          const row = rowPick % roster.rows.length;
          // A developer-held row's owner cell is one name (blank allowed), never a list of co-owners.
          const choices =
            column === 'owner' && roster.rows[row]?.developerHeld ? ['王'.repeat(51)] : INVALID[column];
          const value = choices[valuePick % choices.length]!;
          const { text, rowLines } = render(roster, { row, column, value });
          const errors = failed(parse(text));
          expect(errors.length).toBeGreaterThan(0);
          expect(errors.map((error) => error.line)).toEqual(errors.map(() => rowLines[row]));
          expect(errors.some((error) => error.field === column)).toBe(true);
        },
      ),
    );
  });

  // How fast it parses is the roster benchmark's business (npm run bench); a test never asserts time.
  it('parses 5,000 rows with a BOM and CRLF line ends into 5,000 units', () => {
    const rows = Array.from({ length: 5000 }, (_, index) => {
      const owner = index % 3700;
      return `${1 + (index % 40)}号楼,${100 + Math.floor(index / 40)},${80 + (index % 50)}.${index % 100},业主${owner},${String(owner).padStart(4, '0').slice(-4)},139${String(owner).padStart(8, '0')},${index % 97 === 0 ? '是' : '否'}`;
    });
    const text = `\uFEFF${csv([HEADER, ...rows], '\r\n')}`;
    const result = ok(parse(text));
    expect(result.units).toHaveLength(5000);
  });
});
