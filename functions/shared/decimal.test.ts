import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AREA_FORMAT_MESSAGE,
  type Area,
  areaSchema,
  areaToHundredths,
  compareArea,
  formatArea,
  fractionAtLeast,
  fractionMoreThan,
  normalizeDigits,
  parseArea,
  sumAreas,
} from './decimal.js';

const area = (text: string): Area => {
  const parsed = parseArea(text);
  if (!parsed.ok) throw new Error(`fixture ${text}: ${parsed.reason}`);
  return parsed.value;
};

const hundredthsArb = fc.bigInt({ min: 1n, max: 10_000_000n });
const areaArb = hundredthsArb.map(formatArea);

describe('normalizeDigits', () => {
  it.each([
    ['８９．３７', '89.37'],
    ['－１', '-1'],
    ['３号楼', '3号楼'],
    ['Ａ座１２０１', 'A座1201'],
    ['＋８６\u3000１３８', '+86 138'],
    ['1\u20132', '1-2'],
    ['plain', 'plain'],
  ])('folds %j to %j', (input, expected) => {
    expect(normalizeDigits(input)).toBe(expected);
  });
});

describe('parseArea', () => {
  it.each([
    ['89.37', '89.37'],
    ['89.3', '89.30'],
    ['89', '89.00'],
    ['089.30', '89.30'],
    ['0.01', '0.01'],
    ['0.5', '0.50'],
    ['  89.37\t', '89.37'],
    ['８９．３７', '89.37'],
    ['\u3000８９\u3000', '89.00'],
    ['100000', '100000.00'],
    ['100000.00', '100000.00'],
  ])('reads %j as %j', (input, expected) => {
    expect(parseArea(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'area is empty'],
    ['   ', 'area is empty'],
    ['89,37', 'comma'],
    ['1,234.56', 'comma'],
    ['-1', 'greater than 0'],
    ['－１', 'greater than 0'],
    ['0', 'greater than 0'],
    ['0.00', 'greater than 0'],
    ['1e2', 'exponent'],
    ['1E2', 'exponent'],
    ['89.371', 'more than two decimals'],
    ['100000.01', 'must not exceed 100000'],
    ['abc', AREA_FORMAT_MESSAGE],
    ['.5', AREA_FORMAT_MESSAGE],
    ['89.', AREA_FORMAT_MESSAGE],
    ['+89', AREA_FORMAT_MESSAGE],
    ['89 m²', AREA_FORMAT_MESSAGE],
    ['NaN', AREA_FORMAT_MESSAGE],
    ['1'.repeat(40), 'too long'],
  ])('rejects %j (%s)', (input, reason) => {
    const parsed = parseArea(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });

  it('round-trips every canonical area: parse(format(x)) = format(x)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10_000_000n }), (hundredths) => {
        const text = formatArea(hundredths);
        expect(parseArea(text)).toEqual({ ok: true, value: text });
        expect(areaToHundredths(text)).toBe(hundredths);
      }),
    );
  });

  it('makes equal quantities equal strings, whatever the input spelling', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10_000_000n }),
        fc.nat({ max: 3 }),
        fc.boolean(),
        (hundredths, zeros, fullWidth) => {
          const whole = (hundredths / 100n).toString();
          const fraction = (hundredths % 100n).toString().padStart(2, '0').replace(/0+$/, '');
          let text = `${'0'.repeat(zeros)}${whole}${fraction ? `.${fraction}` : ''}`;
          if (fullWidth) text = text.replace(/[0-9.]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
          expect(parseArea(text)).toEqual({ ok: true, value: formatArea(hundredths) });
        },
      ),
    );
  });
});

describe('formatArea', () => {
  it.each([
    [0n, '0.00'],
    [5n, '0.05'],
    [50n, '0.50'],
    [8937n, '89.37'],
    [10_000_000_000n, '100000000.00'],
  ])('formats %s hundredths as %j', (hundredths, expected) => {
    expect(formatArea(hundredths)).toBe(expected);
  });

  it('refuses a negative area', () => {
    expect(() => formatArea(-1n)).toThrow(RangeError);
  });
});

describe('sumAreas', () => {
  it('sums exactly where floating point would not', () => {
    expect(sumAreas([area('0.1'), area('0.2')])).toBe('0.30');
    expect(sumAreas([area('89.37'), area('100.63'), area('0.01')])).toBe('190.01');
    expect(sumAreas([])).toBe('0.00');
  });

  it('equals the bigint sum of hundredths', () => {
    fc.assert(
      fc.property(fc.array(areaArb, { maxLength: 50 }), (areas) => {
        const expected = areas.reduce((total, a) => total + areaToHundredths(a), 0n);
        expect(areaToHundredths(sumAreas(areas))).toBe(expected);
      }),
    );
  });

  it('is commutative', () => {
    fc.assert(
      fc.property(fc.array(areaArb, { maxLength: 30 }), fc.infiniteStream(fc.nat()), (areas, keys) => {
        const shuffled = areas
          .map((a) => ({ a, key: keys.next().value as number }))
          .sort((x, y) => x.key - y.key)
          .map(({ a }) => a);
        expect(sumAreas(shuffled)).toBe(sumAreas(areas));
      }),
    );
  });

  it('is associative', () => {
    fc.assert(
      fc.property(
        fc.array(areaArb, { maxLength: 10 }),
        fc.array(areaArb, { maxLength: 10 }),
        fc.array(areaArb, { maxLength: 10 }),
        (a, b, c) => {
          const left = sumAreas([sumAreas([...a, ...b]), ...c]);
          const right = sumAreas([...a, sumAreas([...b, ...c])]);
          expect(left).toBe(right);
          expect(left).toBe(sumAreas([...a, ...b, ...c]));
        },
      ),
    );
  });
});

describe('compareArea', () => {
  it.each([
    ['89.37', '89.37', 0],
    ['89.3', '89.30', 0],
    ['9', '10', -1],
    ['100.01', '100', 1],
  ])('compares %j with %j as %i', (a, b, expected) => {
    expect(compareArea(area(a), area(b))).toBe(expected);
  });

  it('agrees with the bigint order', () => {
    fc.assert(
      fc.property(hundredthsArb, hundredthsArb, (x, y) => {
        expect(compareArea(formatArea(x), formatArea(y))).toBe(x < y ? -1 : x > y ? 1 : 0);
      }),
    );
  });
});

describe('fractionAtLeast / fractionMoreThan', () => {
  it.each([
    // part, whole, num, den, at least, more than
    [2, 3, 2, 3, true, false],
    [1, 2, 1, 2, true, false],
    [3, 4, 3, 4, true, false],
    [1999, 3000, 2, 3, false, false],
    [2000, 3000, 2, 3, true, false],
    [2001, 3000, 2, 3, true, true],
    [50, 100, 1, 2, true, false],
    [51, 100, 1, 2, true, true],
    [0, 5, 0, 1, true, false],
    [5, 5, 1, 1, true, false],
  ])('%i/%i against %i/%i: at least %s, more than %s', (part, whole, num, den, atLeast, moreThan) => {
    expect(fractionAtLeast(part, whole, num, den)).toBe(atLeast);
    expect(fractionMoreThan(part, whole, num, den)).toBe(moreThan);
    expect(fractionAtLeast(BigInt(part), BigInt(whole), BigInt(num), BigInt(den))).toBe(atLeast);
  });

  it('treats an area of exactly two thirds as enough and exactly half as not a majority', () => {
    expect(fractionAtLeast(area('200'), area('300'), 2, 3)).toBe(true);
    expect(fractionAtLeast(area('199.99'), area('300'), 2, 3)).toBe(false);
    expect(fractionMoreThan(area('150'), area('300'), 1, 2)).toBe(false);
    expect(fractionMoreThan(area('150.01'), area('300'), 1, 2)).toBe(true);
  });

  it('matches bigint cross-multiplication, including exact boundaries', () => {
    const fractionArb = fc
      .tuple(fc.bigInt({ min: 1n, max: 12n }), fc.bigInt({ min: 1n, max: 12n }))
      .map(([a, b]): [bigint, bigint] => (a <= b ? [a, b] : [b, a]));
    fc.assert(
      fc.property(
        hundredthsArb,
        fractionArb,
        fc.bigInt({ min: -2n, max: 2n }),
        (whole, [num, den], nudge) => {
          // whole * den is divisible by den, so part lands on, just below or just above num/den.
          const scaledWhole = whole * den;
          const part = (scaledWhole * num) / den + nudge;
          if (part < 0n || part > scaledWhole) return;
          const p = formatArea(part);
          const w = formatArea(scaledWhole);
          expect(fractionAtLeast(p, w, num, den)).toBe(part * den >= num * scaledWhole);
          expect(fractionMoreThan(p, w, num, den)).toBe(part * den > num * scaledWhole);
          if (nudge === 0n) {
            expect(fractionAtLeast(p, w, num, den)).toBe(true);
            expect(fractionMoreThan(p, w, num, den)).toBe(false);
          }
        },
      ),
    );
  });

  it('matches cross-multiplication on counts', () => {
    fc.assert(
      fc.property(fc.nat({ max: 5000 }), fc.integer({ min: 1, max: 5000 }), (part, whole) => {
        expect(fractionAtLeast(part, whole, 2, 3)).toBe(part * 3 >= 2 * whole);
        expect(fractionMoreThan(part, whole, 1, 2)).toBe(part * 2 > whole);
      }),
    );
  });

  it.each([
    ['a zero whole', () => fractionAtLeast(0, 0, 1, 2), RangeError],
    ['a zero denominator', () => fractionMoreThan(1, 2, 1, 0), RangeError],
    ['a fractional count', () => fractionAtLeast(1.5, 3, 1, 2), RangeError],
    ['a negative count', () => fractionAtLeast(-1, 3, 1, 2), RangeError],
    ['an area against a count', () => fractionAtLeast(area('1') as unknown as number, 3, 1, 2), TypeError],
  ])('throws on %s', (_name, call, error) => {
    expect(call).toThrow(error);
  });
});

describe('areaSchema', () => {
  it('parses a string area to the canonical form', () => {
    expect(areaSchema.parse(' ８９．３ ')).toBe('89.30');
  });

  it.each(['89,37', '-1', '0', '1e2', ''])('rejects %j with a clear message', (input) => {
    const result = areaSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain(AREA_FORMAT_MESSAGE);
  });

  it('rejects a JSON number, which would already be floating point', () => {
    const result = areaSchema.safeParse(89.37);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe(AREA_FORMAT_MESSAGE);
  });
});
