import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aggregate,
  COMPUTED_METRICS,
  type ComputedInputs,
  checkSheet,
  compareYears,
  computeMetric,
  conflictOf,
  DEFAULT_INDICATOR_SYSTEM,
  FUND_CAPS_FEN_DEFAULT,
  FUND_WEIGHTS_DEFAULT,
  fractionOf,
  fundBudgetSchema,
  GRADE_BANDS_DEFAULT,
  GRADES,
  type Grade,
  gapsOf,
  gradeBandsSchema,
  gradeOf,
  type IndicatorSystem,
  indicatorSystemSchema,
  indicatorsOf,
  scoreSheetSchema,
  sheetFractions,
  splitFund,
  unscoredOf,
  windowsOf,
} from './domain.js';

const DAY = 86_400_000;

/** A small system: a 0–10 scale (40), a yes/no (30), a computed one (20), a yes/no veto (10). */
const T: IndicatorSystem = indicatorSystemSchema.parse({
  systemId: 'test-system',
  version: 1,
  title: 'Test',
  dimensions: [
    {
      dimensionId: 'd1',
      title: 'One',
      indicators: [
        { indicatorId: 'scale', title: 'Scale', weight: 40, rule: { kind: 'scale', max: 10 } },
        { indicatorId: 'yes', title: 'Yes', weight: 30, rule: { kind: 'yes-no' }, followUpDays: 10 },
      ],
    },
    {
      dimensionId: 'd2',
      title: 'Two',
      indicators: [
        {
          indicatorId: 'meet',
          title: 'Meetings',
          weight: 20,
          rule: { kind: 'computed', metric: 'meetings-every-two-months' },
          gapAdvice: 'Meet more',
        },
        { indicatorId: 'veto', title: 'Veto', weight: 10, rule: { kind: 'yes-no' }, veto: true },
      ],
    },
  ],
});

const sheet = (evaluatorId: string, scores: Record<string, number>) => ({
  evaluatorId,
  scores: new Map(Object.entries(scores)),
});
const row = (result: ReturnType<typeof aggregate>, id: string) =>
  result.perIndicator.find((entry) => entry.indicatorId === id)!;
const FULL_COMPUTED = new Map([['meet', 1]]);

/** The default system with its first indicator's weight changed by `delta`. */
const reweighted = (delta: number) => {
  const copy = structuredClone(DEFAULT_INDICATOR_SYSTEM);
  copy.dimensions[0]!.indicators[0]!.weight += delta;
  return copy;
};

describe('the indicator system', () => {
  it('the default parses, weights sum to 100, every computed metric is used, two veto items', () => {
    const parsed = indicatorSystemSchema.safeParse(DEFAULT_INDICATOR_SYSTEM);
    expect(parsed.success).toBe(true);
    // The literal is what the schema makes of it: no default the schema would add is missing.
    expect(parsed.data).toStrictEqual(DEFAULT_INDICATOR_SYSTEM);
    const indicators = indicatorsOf(DEFAULT_INDICATOR_SYSTEM);
    expect(indicators.reduce((sum, indicator) => sum + indicator.weight, 0)).toBe(100);
    const metrics = indicators.flatMap((i) => (i.rule.kind === 'computed' ? [i.rule.metric] : []));
    expect(metrics.sort()).toEqual([...COMPUTED_METRICS].sort());
    expect(indicators.filter((i) => i.veto).map((i) => i.indicatorId)).toEqual([
      'no-member-fee-arrears',
      'inactive-re-election',
    ]);
    expect(indicators.some((i) => i.rule.kind === 'scale')).toBe(true);
    expect(indicators.every((i) => i.gapAdvice !== undefined && i.followUpDays >= 1)).toBe(true);
  });

  it.each([
    [-1, 99],
    [1, 101],
  ])('weights summing to %s off 100 fail at /dimensions naming the sum %i', (delta, sum) => {
    const parsed = indicatorSystemSchema.safeParse(reweighted(delta));
    expect(parsed.success).toBe(false);
    const issue = parsed.error!.issues.find((i) => i.path.length === 1 && i.path[0] === 'dimensions');
    expect(issue?.message).toContain(`sum to ${sum}`);
  });

  it('an indicator id used twice across dimensions fails at its place', () => {
    const copy = structuredClone(DEFAULT_INDICATOR_SYSTEM);
    copy.dimensions[1]!.indicators[0]!.indicatorId = 'meetings-every-two-months';
    const parsed = indicatorSystemSchema.safeParse(copy);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('/'))).toContain(
      'dimensions/1/indicators/0/indicatorId',
    );
  });

  it('followUpDays defaults to 60; weights and scales are bounded; rules are strict', () => {
    expect(indicatorsOf(T).find((i) => i.indicatorId === 'scale')?.followUpDays).toBe(60);
    const bad = structuredClone(T) as unknown as { dimensions: { indicators: Record<string, unknown>[] }[] };
    bad.dimensions[0]!.indicators[0]!.rule = { kind: 'scale', max: 11 };
    expect(indicatorSystemSchema.safeParse(bad).success).toBe(false);
    bad.dimensions[0]!.indicators[0]!.rule = { kind: 'computed', metric: 'typed-by-hand' };
    expect(indicatorSystemSchema.safeParse(bad).success).toBe(false);
  });

  it('grade bands: the default parses; out of order or not starting fail at 0 is refused', () => {
    expect(gradeBandsSchema.safeParse(GRADE_BANDS_DEFAULT).success).toBe(true);
    const swapped = GRADE_BANDS_DEFAULT.map((band) => ({ ...band }));
    swapped[1]!.min = 95;
    expect(gradeBandsSchema.safeParse(swapped).success).toBe(false);
    const noZero = GRADE_BANDS_DEFAULT.map((band) => ({ ...band, min: band.min === 0 ? 10 : band.min }));
    expect(gradeBandsSchema.safeParse(noZero).success).toBe(false);
    expect(
      indicatorSystemSchema.safeParse({
        ...T,
        grades: GRADE_BANDS_DEFAULT.map((b) => ({ ...b, min: b.min === 90 ? 85.5 : b.min })),
      }).success,
    ).toBe(true);
  });
});

describe('score sheets', () => {
  const evidence = ['minutes-2030-03'];

  it('the body schema is strict and asks evidence for every score', () => {
    expect(scoreSheetSchema.safeParse({ scores: [{ indicatorId: 'yes', score: 1, evidence }] }).success).toBe(
      true,
    );
    expect(
      scoreSheetSchema.safeParse({ scores: [{ indicatorId: 'yes', score: 1, evidence: [] }] }).success,
    ).toBe(false);
    expect(
      scoreSheetSchema.safeParse({ scores: [{ indicatorId: 'yes', score: 0.5, evidence }] }).success,
    ).toBe(false);
    expect(
      scoreSheetSchema.safeParse({ scores: [{ indicatorId: 'yes', score: 1, evidence, extra: 1 }] }).success,
    ).toBe(false);
    expect(scoreSheetSchema.safeParse({ scores: [], other: 1 }).success).toBe(false);
    expect(
      scoreSheetSchema.safeParse({
        scores: [{ indicatorId: 'yes', score: 1, evidence: ['x'.repeat(501)] }],
      }).success,
    ).toBe(false);
  });

  it('checkSheet points at each bad score', () => {
    const parsed = scoreSheetSchema.parse({
      scores: [
        { indicatorId: 'scale', score: 7, evidence },
        { indicatorId: 'nope', score: 1, evidence },
        { indicatorId: 'scale', score: 3, evidence },
        { indicatorId: 'yes', score: 2, evidence },
        { indicatorId: 'meet', score: 1, evidence },
        { indicatorId: 'veto', score: 1, evidence },
      ],
    });
    const checked = checkSheet(T, parsed);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.errors.map((error) => error.pointer)).toEqual([
      '/body/scores/1/indicatorId',
      '/body/scores/2/indicatorId',
      '/body/scores/3/score',
      '/body/scores/4/indicatorId',
    ]);
    expect(checked.errors[0]!.detail).toContain('no indicator nope');
    expect(checked.errors[1]!.detail).toContain('twice');
    expect(checked.errors[2]!.detail).toContain('0 or 1');
    expect(checked.errors[3]!.detail).toContain('computed');
  });

  it('a scale score above its max is refused, max itself accepted', () => {
    const over = checkSheet(
      T,
      scoreSheetSchema.parse({ scores: [{ indicatorId: 'scale', score: 11, evidence }] }),
    );
    expect(over).toEqual({
      ok: false,
      errors: [{ pointer: '/body/scores/0/score', detail: 'scale is scored 0 to 10' }],
    });
    const good = scoreSheetSchema.parse({
      scores: [
        { indicatorId: 'scale', score: 10, evidence },
        { indicatorId: 'yes', score: 0, evidence },
      ],
    });
    expect(checkSheet(T, good)).toEqual({ ok: true });
    expect(sheetFractions(T, good)).toEqual(
      new Map([
        ['scale', 1],
        ['yes', 0],
      ]),
    );
    expect(unscoredOf(T, sheetFractions(T, good).keys())).toEqual(['veto']);
    expect(fractionOf({ kind: 'scale', max: 4 }, 3)).toBe(0.75);
    expect(() => fractionOf({ kind: 'yes-no' }, 2)).toThrow(RangeError);
  });
});

describe('aggregation', () => {
  it('two evaluators: the mean; the points sum to the score', () => {
    const result = aggregate(
      T,
      [sheet('e1', { scale: 0.6, yes: 1, veto: 1 }), sheet('e2', { scale: 0.8, yes: 0, veto: 1 })],
      FULL_COMPUTED,
    );
    expect(row(result, 'scale')).toMatchObject({ fraction: 0.7, pointsHundredths: 2800, evaluators: 2 });
    expect(row(result, 'yes')).toMatchObject({ fraction: 0.5, pointsHundredths: 1500, spread: 1 });
    expect(row(result, 'meet')).toMatchObject({ fraction: 1, pointsHundredths: 2000, spread: 0 });
    expect(result.scoreHundredths).toBe(2800 + 1500 + 2000 + 1000);
    expect(result.grade).toBe('3-star');
    expect(result.disagreements).toEqual(['yes']);
    expect(result.vetoed).toEqual([]);
    expect(result.unscored).toEqual([]);
  });

  it('three and four evaluators: a trimmed mean (one highest and one lowest dropped)', () => {
    const three = aggregate(
      T,
      [sheet('a', { scale: 0.2 }), sheet('b', { scale: 0.6 }), sheet('c', { scale: 0.9 })],
      FULL_COMPUTED,
    );
    expect(row(three, 'scale')).toMatchObject({ fraction: 0.6, pointsHundredths: 2400, evaluators: 3 });
    const four = aggregate(
      T,
      [
        sheet('a', { scale: 0.1 }),
        sheet('b', { scale: 0.5 }),
        sheet('c', { scale: 0.7 }),
        sheet('d', { scale: 1 }),
      ],
      FULL_COMPUTED,
    );
    expect(row(four, 'scale')).toMatchObject({ fraction: 0.6, pointsHundredths: 2400 });
  });

  it('property: with ≥ 3 evaluators one extreme outlier changes nothing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 3, maxLength: 9 }),
        fc.boolean(),
        (tenths, high) => {
          const sorted = [...tenths].sort((a, b) => a - b);
          const sheets = (values: number[]) => values.map((v, k) => sheet(`e${k}`, { scale: v / 10 }));
          const base = row(aggregate(T, sheets(tenths), FULL_COMPUTED), 'scale');
          // Push the highest to 1 (or the lowest to 0): the trimmed mean does not move.
          const moved = [...sorted];
          if (high) moved[moved.length - 1] = 10;
          else moved[0] = 0;
          const outlier = row(aggregate(T, sheets(moved), FULL_COMPUTED), 'scale');
          expect(outlier.fraction).toBe(base.fraction);
          expect(outlier.pointsHundredths).toBe(base.pointsHundredths);
          // And it is the mean of the middle values, exactly: 40 points × Σ middle / (10 × (n − 2)).
          const middle = sorted.slice(1, -1);
          const exactHundredths = (4000 * middle.reduce((s, v) => s + v, 0)) / (10 * middle.length);
          expect(Math.abs(base.pointsHundredths - exactHundredths)).toBeLessThan(1);
        },
      ),
    );
  });

  it('disagreement: a spread exactly at the threshold is not one, just above is', () => {
    const at = aggregate(T, [sheet('a', { scale: 0.3 }), sheet('b', { scale: 0.6 })], FULL_COMPUTED);
    expect(row(at, 'scale')).toMatchObject({ spread: 0.3, disagreement: false });
    // 0.1 + 0.2 is 0.30000000000000004 in binary floating point: still exactly the threshold.
    const noisy = aggregate(T, [sheet('a', { scale: 0 }), sheet('b', { scale: 0.1 + 0.2 })], FULL_COMPUTED);
    expect(row(noisy, 'scale').disagreement).toBe(false);
    const above = aggregate(T, [sheet('a', { scale: 0.3 }), sheet('b', { scale: 0.7 })], FULL_COMPUTED);
    expect(above.disagreements).toEqual(['scale']);
    const custom = { disagreementThreshold: 0.25 };
    expect(
      aggregate(T, [sheet('a', { scale: 0.5 }), sheet('b', { scale: 0.75 })], FULL_COMPUTED, custom)
        .disagreements,
    ).toEqual([]);
    expect(
      aggregate(T, [sheet('a', { scale: 0.5 }), sheet('b', { scale: 0.7501 })], FULL_COMPUTED, custom)
        .disagreements,
    ).toEqual(['scale']);
    // The spread is over every evaluator, the trimmed ones too.
    const trimmed = aggregate(
      T,
      [sheet('a', { scale: 0 }), sheet('b', { scale: 0.5 }), sheet('c', { scale: 0.5 })],
      FULL_COMPUTED,
    );
    expect(row(trimmed, 'scale')).toMatchObject({ fraction: 0.5, spread: 0.5, disagreement: true });
  });

  it('a failed veto fails the committee whatever its score', () => {
    const result = aggregate(
      T,
      [sheet('a', { scale: 1, yes: 1, veto: 0 }), sheet('b', { scale: 1, yes: 1, veto: 1 })],
      FULL_COMPUTED,
    );
    expect(result.scoreHundredths).toBe(9500);
    expect(result.vetoed).toEqual(['veto']);
    expect(row(result, 'veto')).toMatchObject({ vetoFailed: true, fraction: 0.5 });
    expect(result.grade).toBe('fail');
    const passed = aggregate(T, [sheet('a', { scale: 1, yes: 1, veto: 1 })], FULL_COMPUTED);
    expect(passed).toMatchObject({ scoreHundredths: 10000, grade: '5-star', vetoed: [] });
  });

  it('an indicator nobody scored, or a computed value missing, counts 0 and is listed', () => {
    const result = aggregate(T, [sheet('a', { scale: 1, yes: 1 })], new Map());
    expect(result.unscored).toEqual(['meet', 'veto']);
    expect(row(result, 'meet')).toMatchObject({ fraction: 0, pointsHundredths: 0, evaluators: 0 });
    expect(result.vetoed).toEqual(['veto']);
    expect(result.grade).toBe('fail');
  });

  it('refuses what a checked sheet cannot hold', () => {
    expect(() => aggregate(T, [sheet('a', { scale: 1.2 })], FULL_COMPUTED)).toThrow(RangeError);
    expect(() => aggregate(T, [sheet('a', { meet: 1 })], FULL_COMPUTED)).toThrow(/computed/);
    expect(() => aggregate(T, [sheet('a', { nope: 1 })], FULL_COMPUTED)).toThrow(/Unknown/);
    expect(() => aggregate(T, [sheet('a', {}), sheet('a', {})], FULL_COMPUTED)).toThrow(/two sheets/);
    expect(() => aggregate(T, [], new Map([['yes', 1]]))).toThrow(/not a computed/);
  });

  it('property: the score is the exact weighted sum rounded down, the indicators’ points sum to it', () => {
    const scaled = fc.integer({ min: 0, max: 10 }).map((v) => v / 10);
    const arbitrarySheet = fc.record({
      scale: scaled,
      yes: fc.constantFrom(0, 1),
      veto: fc.constantFrom(0, 1),
    });
    fc.assert(
      fc.property(
        fc.array(arbitrarySheet, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 10_000 }),
        (sheets, meet) => {
          const computed = new Map([['meet', meet / 10_000]]);
          const result = aggregate(
            T,
            sheets.map((s, k) => sheet(`e${k}`, s)),
            computed,
          );
          expect(result.perIndicator.reduce((sum, r) => sum + r.pointsHundredths, 0)).toBe(
            result.scoreHundredths,
          );
          // Independently, in floating point (small enough here to be within 1e-6).
          const trimmed = (values: number[]) => {
            const s = [...values].sort((a, b) => a - b);
            const kept = s.length >= 3 ? s.slice(1, -1) : s;
            return kept.reduce((a, b) => a + b, 0) / kept.length;
          };
          const exact =
            4000 * trimmed(sheets.map((s) => s.scale)) +
            3000 * trimmed(sheets.map((s) => s.yes)) +
            2000 * (meet / 10_000) +
            1000 * trimmed(sheets.map((s) => s.veto));
          expect(result.scoreHundredths).toBeLessThanOrEqual(exact + 1e-6);
          expect(result.scoreHundredths).toBeGreaterThan(exact - 1 - 1e-6);
          for (const r of result.perIndicator) {
            expect(r.pointsHundredths).toBeGreaterThanOrEqual(0);
            expect(r.pointsHundredths).toBeLessThanOrEqual(r.weight * 100);
          }
          const vetoFull = trimmed(sheets.map((s) => s.veto)) === 1;
          if (!vetoFull) expect(result.grade).toBe('fail');
          else expect(result.grade).toBe(gradeOf(result.scoreHundredths));
        },
      ),
    );
  });
});

describe('grades', () => {
  it('band boundaries', () => {
    expect(gradeOf(8999)).toBe('4-star');
    expect(gradeOf(9000)).toBe('5-star');
    expect(gradeOf(10000)).toBe('5-star');
    expect(gradeOf(7999)).toBe('3-star');
    expect(gradeOf(8000)).toBe('4-star');
    expect(gradeOf(6999)).toBe('pass');
    expect(gradeOf(6000)).toBe('pass');
    expect(gradeOf(5999)).toBe('fail');
    expect(gradeOf(0)).toBe('fail');
  });

  it('property: every hundredth 0..10000 gets the band its tens of points say', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (h) => {
        const expected: Grade =
          h >= 9000 ? '5-star' : h >= 8000 ? '4-star' : h >= 7000 ? '3-star' : h >= 6000 ? 'pass' : 'fail';
        expect(gradeOf(h)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('a system’s own bands, with two decimals, decide its grades', () => {
    const bands = GRADE_BANDS_DEFAULT.map((b) => ({ ...b, min: b.min === 90 ? 85.5 : b.min }));
    expect(gradeOf(8549, bands)).toBe('4-star');
    expect(gradeOf(8550, bands)).toBe('5-star');
    const system = indicatorSystemSchema.parse({ ...T, grades: bands });
    const result = aggregate(
      system,
      [sheet('a', { scale: 0.9, yes: 1, veto: 1 }), sheet('b', { scale: 0.55, yes: 1, veto: 1 })],
      FULL_COMPUTED,
    );
    // 40 × 0.725 = 29.00 + 30 + 20 + 10 = 89.00
    expect(result).toMatchObject({ scoreHundredths: 8900, grade: '5-star' });
  });
});

describe('computed indicators', () => {
  // The Shanghai calendar year 2030.
  const periodStart = '2030-01-01T00:00:00+08:00';
  const periodEnd = '2031-01-01T00:00:00+08:00';
  const meeting = (heldAt: string, noticeHours = 96, quorate = true) => ({
    heldAt,
    quorate,
    votingOpensAt: heldAt,
    noticedAt: new Date(Date.parse(heldAt) - noticeHours * 3_600_000).toISOString(),
  });
  const inputs = (over: Partial<ComputedInputs>): ComputedInputs => ({
    meetings: [],
    fundDisclosures: [],
    incomeDisclosures: [],
    periodStart,
    periodEnd,
    ...over,
  });

  it('windows are Shanghai calendar months from the period’s start; whole windows only', () => {
    const windows = windowsOf(periodStart, periodEnd, 2);
    expect(windows).toHaveLength(6);
    expect(new Date(windows[1]![0]).toISOString()).toBe('2030-02-28T16:00:00.000Z'); // 1 March, Shanghai
    expect(new Date(windows[5]![1]).toISOString()).toBe('2030-12-31T16:00:00.000Z');
    expect(windowsOf(periodStart, '2030-08-01T00:00:00+08:00', 3)).toHaveLength(2);
    // Shorter than a window: the whole period is one.
    expect(windowsOf(periodStart, '2030-01-20T00:00:00+08:00', 2)).toHaveLength(1);
    // A month end clamps: 31 January + 1 month is 28 February.
    const clamped = windowsOf('2030-01-31T00:00:00+08:00', '2030-06-01T00:00:00+08:00', 1);
    expect(new Date(clamped[1]![0]).toISOString()).toBe('2030-02-27T16:00:00.000Z');
    expect(() => windowsOf(periodEnd, periodStart, 2)).toThrow(RangeError);
  });

  it('meetings-every-two-months: the share of two-month windows with a quorate meeting', () => {
    const monthly = Array.from({ length: 12 }, (_, m) =>
      meeting(`2030-${String(m + 1).padStart(2, '0')}-10T10:00:00+08:00`),
    );
    expect(computeMetric('meetings-every-two-months', inputs({ meetings: monthly }))).toBe(1);
    const some = [
      meeting('2030-01-10T10:00:00+08:00'),
      meeting('2030-02-10T10:00:00+08:00'),
      // 00:30 on 1 March in Shanghai, still 28 February in UTC: the second window.
      meeting('2030-02-28T16:30:00.000Z'),
      meeting('2030-06-10T10:00:00+08:00', 96, false), // not quorate
      meeting('2031-01-05T10:00:00+08:00'), // after the period
    ];
    expect(computeMetric('meetings-every-two-months', inputs({ meetings: some }))).toBe(0.3333);
    expect(computeMetric('meetings-every-two-months', inputs({}))).toBe(0);
  });

  it('meeting-notice-3-days: exactly 3 days counts, a millisecond less does not; no meetings is 0', () => {
    const exact = meeting('2030-03-10T10:00:00+08:00', 72);
    const short = {
      ...meeting('2030-05-10T10:00:00+08:00', 72),
      noticedAt: new Date(Date.parse('2030-05-10T10:00:00+08:00') - 3 * DAY + 1).toISOString(),
    };
    const late = meeting('2030-07-10T10:00:00+08:00', 24);
    expect(computeMetric('meeting-notice-3-days', inputs({ meetings: [exact] }))).toBe(1);
    expect(computeMetric('meeting-notice-3-days', inputs({ meetings: [short] }))).toBe(0);
    expect(computeMetric('meeting-notice-3-days', inputs({ meetings: [exact, short, late] }))).toBe(0.3333);
    expect(computeMetric('meeting-notice-3-days', inputs({ meetings: [exact, late, late] }))).toBe(0.3333);
    expect(computeMetric('meeting-notice-3-days', inputs({ meetings: [exact, exact, late] }))).toBe(0.6667);
    expect(computeMetric('meeting-notice-3-days', inputs({ meetings: [] }))).toBe(0);
    // A meeting outside the period is not counted.
    expect(
      computeMetric(
        'meeting-notice-3-days',
        inputs({ meetings: [exact, meeting('2029-12-01T10:00:00+08:00', 1)] }),
      ),
    ).toBe(1);
  });

  it('fund-disclosure-half-yearly and income-disclosure-quarterly', () => {
    expect(
      computeMetric(
        'fund-disclosure-half-yearly',
        inputs({ fundDisclosures: ['2030-02-01T00:00:00+08:00'] }),
      ),
    ).toBe(0.5);
    expect(
      computeMetric(
        'fund-disclosure-half-yearly',
        inputs({ fundDisclosures: ['2030-06-30T23:59:59+08:00', '2030-07-01T00:00:00+08:00'] }),
      ),
    ).toBe(1);
    expect(
      computeMetric(
        'fund-disclosure-half-yearly',
        inputs({ fundDisclosures: ['2029-12-31T23:59:59+08:00'] }),
      ),
    ).toBe(0);
    expect(
      computeMetric(
        'income-disclosure-quarterly',
        inputs({
          incomeDisclosures: [
            '2030-01-15T00:00:00+08:00',
            '2030-02-15T00:00:00+08:00',
            '2030-05-01T00:00:00+08:00',
            '2030-12-31T00:00:00+08:00',
          ],
        }),
      ),
    ).toBe(0.75);
    expect(computeMetric('income-disclosure-quarterly', inputs({}))).toBe(0);
  });

  it('refuses a period that ends before it starts or a datetime that is none', () => {
    expect(() => computeMetric('meeting-notice-3-days', inputs({ periodEnd: periodStart }))).toThrow(
      RangeError,
    );
    expect(() => computeMetric('fund-disclosure-half-yearly', inputs({ fundDisclosures: ['soon'] }))).toThrow(
      RangeError,
    );
  });
});

describe('conflict of interest', () => {
  const committee = { areaId: 'area-1', companyIds: ['co-1', 'co-2'] };
  it('an evaluator owning a unit in the area', () => {
    expect(conflictOf({ ownerAreaIds: ['area-9', 'area-1'] }, committee)?.reason).toBe(
      'owns-a-unit-in-the-area',
    );
    // Both: ownership is named.
    expect(conflictOf({ ownerAreaIds: ['area-1'], employerCompanyId: 'co-2' }, committee)?.reason).toBe(
      'owns-a-unit-in-the-area',
    );
  });
  it('an evaluator working for its property company', () => {
    const conflict = conflictOf({ ownerAreaIds: ['area-9'], employerCompanyId: 'co-2' }, committee);
    expect(conflict).toMatchObject({ reason: 'works-for-its-property-company' });
    expect(conflict?.detail).toContain('co-2');
  });
  it('a clean evaluator', () => {
    expect(conflictOf({ ownerAreaIds: [] }, committee)).toBeUndefined();
    expect(conflictOf({ ownerAreaIds: ['area-9'], employerCompanyId: 'co-3' }, committee)).toBeUndefined();
  });
});

describe('gaps and the year-over-year comparison', () => {
  const result = aggregate(
    T,
    [sheet('a', { scale: 0.5, yes: 0, veto: 1 }), sheet('b', { scale: 0.5, yes: 1, veto: 1 })],
    new Map([['meet', 0.5]]),
  );

  it('every indicator below full marks, biggest loss first, due followUpDays after finalising', () => {
    const gaps = gapsOf(T, result, '2031-01-15T02:00:00.000Z');
    expect(gaps.map((gap) => [gap.indicatorId, gap.pointsLostHundredths])).toEqual([
      ['scale', 2000],
      ['yes', 1500],
      ['meet', 1000],
    ]);
    expect(gaps[0]).toMatchObject({ dueBy: '2031-03-16T02:00:00.000Z', title: 'Scale', dimensionId: 'd1' });
    expect(gaps[0]!.advice).toContain('Scale');
    expect(gaps[1]!.dueBy).toBe('2031-01-25T02:00:00.000Z');
    expect(gaps[2]!.advice).toBe('Meet more');
  });

  it('equal losses: a failed veto first, then the system’s order', () => {
    const system = indicatorSystemSchema.parse({
      ...T,
      dimensions: [
        {
          dimensionId: 'dd',
          title: 'D',
          indicators: [
            { indicatorId: 'pp', title: 'P', weight: 50, rule: { kind: 'yes-no' } },
            { indicatorId: 'qq', title: 'Q', weight: 25, rule: { kind: 'yes-no' } },
            { indicatorId: 'vv', title: 'V', weight: 25, rule: { kind: 'yes-no' }, veto: true },
          ],
        },
      ],
    });
    const r = aggregate(system, [sheet('a', { pp: 1, qq: 0, vv: 0 })], new Map());
    expect(gapsOf(system, r, '2031-01-01T00:00:00Z').map((gap) => gap.indicatorId)).toEqual(['vv', 'qq']);
    expect(
      gapsOf(
        system,
        aggregate(system, [sheet('a', { pp: 1, qq: 1, vv: 1 })], new Map()),
        '2031-01-01T00:00:00Z',
      ),
    ).toEqual([]);
  });

  it('compareYears', () => {
    const before = aggregate(T, [sheet('a', { scale: 0.9, yes: 1, veto: 1 })], new Map([['meet', 0.5]]));
    const after = aggregate(T, [sheet('a', { scale: 1, yes: 0, veto: 1 })], new Map([['meet', 0.5]]));
    expect(before.grade).toBe('4-star');
    expect(after.grade).toBe('pass');
    expect(compareYears(before, after)).toEqual({
      scoreChangeHundredths: after.scoreHundredths - before.scoreHundredths,
      gradeChange: 'down',
      improved: ['scale'],
      worsened: ['yes'],
    });
    expect(compareYears(after, before).gradeChange).toBe('up');
    expect(compareYears(after, after)).toMatchObject({ gradeChange: 'same', scoreChangeHundredths: 0 });
    expect(compareYears(undefined, after)).toEqual({
      scoreChangeHundredths: 0,
      gradeChange: 'new',
      improved: [],
      worsened: [],
    });
  });
});

describe('the guidance fund', () => {
  it('the budget is whole fen; weights and caps default', () => {
    const parsed = fundBudgetSchema.safeParse({ year: 2030, budgetFen: 1000.5 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('whole fen');
    expect(parsed.error?.issues[0]?.path).toEqual(['budgetFen']);
    expect(fundBudgetSchema.safeParse({ year: 2030, budgetFen: 0 }).success).toBe(false);
    expect(fundBudgetSchema.safeParse({ year: 1999, budgetFen: 1 }).success).toBe(false);
    expect(fundBudgetSchema.safeParse({ year: 2030, budgetFen: '100' }).success).toBe(false);
    expect(fundBudgetSchema.parse({ year: 2030, budgetFen: 10_000_000 })).toEqual({
      year: 2030,
      budgetFen: 10_000_000,
      weights: FUND_WEIGHTS_DEFAULT,
      capsFen: FUND_CAPS_FEN_DEFAULT,
    });
    expect(fundBudgetSchema.safeParse({ year: 2030, budgetFen: 1, weights: { '5-star': 1.5 } }).success).toBe(
      false,
    );
  });

  it('worked example: ¥100,000 among 2 × 5★, 3 × 4★, 1 × 3★ and 2 pass', () => {
    const committees: { committeeId: string; grade: Grade }[] = [
      { committeeId: 'a', grade: '5-star' },
      { committeeId: 'b', grade: '5-star' },
      { committeeId: 'c', grade: '4-star' },
      { committeeId: 'd', grade: '4-star' },
      { committeeId: 'e', grade: '4-star' },
      { committeeId: 'f', grade: '3-star' },
      { committeeId: 'g', grade: 'pass' },
      { committeeId: 'h', grade: 'pass' },
    ];
    // Weights 5+5+4+4+4+3 = 25: ¥4,000 a weight gives the 3★ ¥12,000, above its ¥10,000 cap. Capped, the
    // other ¥90,000 goes by weight 22: 5★ 2,045,454 + 12/22 fen, 4★ 1,636,363 + 14/22 fen; the three
    // leftover fen go to the largest remainders, the 4★ committees.
    const { allocations, unallocatedFen } = splitFund(
      10_000_000,
      committees,
      FUND_WEIGHTS_DEFAULT,
      FUND_CAPS_FEN_DEFAULT,
    );
    expect(allocations.map((a) => [a.committeeId, a.fen])).toEqual([
      ['a', 2_045_454],
      ['b', 2_045_454],
      ['c', 1_636_364],
      ['d', 1_636_364],
      ['e', 1_636_364],
      ['f', 1_000_000],
      ['g', 0],
      ['h', 0],
    ]);
    expect(unallocatedFen).toBe(0);
  });

  it('edge cases: nobody eligible, everyone capped, a single fen, ties by committeeId', () => {
    expect(splitFund(500, [], FUND_WEIGHTS_DEFAULT, FUND_CAPS_FEN_DEFAULT)).toEqual({
      allocations: [],
      unallocatedFen: 500,
    });
    expect(
      splitFund(500, [{ committeeId: 'x', grade: 'pass' }], FUND_WEIGHTS_DEFAULT, FUND_CAPS_FEN_DEFAULT),
    ).toEqual({ allocations: [{ committeeId: 'x', grade: 'pass', fen: 0 }], unallocatedFen: 500 });
    expect(
      splitFund(
        10_000_000,
        [
          { committeeId: 'x', grade: '5-star' },
          { committeeId: 'y', grade: '3-star' },
        ],
        FUND_WEIGHTS_DEFAULT,
        FUND_CAPS_FEN_DEFAULT,
      ),
    ).toMatchObject({ unallocatedFen: 6_000_000, allocations: [{ fen: 3_000_000 }, { fen: 1_000_000 }] });
    const one = splitFund(
      1,
      [
        { committeeId: 'm', grade: '4-star' },
        { committeeId: 'k', grade: '4-star' },
        { committeeId: 'z', grade: '4-star' },
      ],
      FUND_WEIGHTS_DEFAULT,
      FUND_CAPS_FEN_DEFAULT,
    );
    expect(one.allocations.map((a) => a.fen)).toEqual([0, 1, 0]);
    expect(() => splitFund(1.5, [], FUND_WEIGHTS_DEFAULT, FUND_CAPS_FEN_DEFAULT)).toThrow(RangeError);
    expect(() =>
      splitFund(
        1,
        [
          { committeeId: 'a', grade: 'pass' },
          { committeeId: 'a', grade: 'fail' },
        ],
        FUND_WEIGHTS_DEFAULT,
        FUND_CAPS_FEN_DEFAULT,
      ),
    ).toThrow(/twice/);
  });

  const arbitraryBudget = fc.oneof(
    fc.integer({ min: 1, max: 10_000 }),
    fc.integer({ min: 1, max: 200_000_000 }),
    fc.bigInt({ min: 1n, max: 10n ** 12n }).map(Number),
  );
  const arbitraryCommittees = fc
    .array(fc.constantFrom(...GRADES), { minLength: 0, maxLength: 60 })
    .chain((grades) =>
      fc.shuffledSubarray(
        grades.map((grade, k) => ({ committeeId: `c${String(k).padStart(3, '0')}`, grade })),
        { minLength: grades.length, maxLength: grades.length },
      ),
    );
  const gradeTable = (values: fc.Arbitrary<number>) =>
    fc.record({
      '5-star': values,
      '4-star': values,
      '3-star': values,
      pass: values,
      fail: values,
    });

  const checkSplit = (
    budget: number,
    committees: { committeeId: string; grade: Grade }[],
    weights: Record<Grade, number>,
    caps: Record<Grade, number>,
  ) => {
    const { allocations, unallocatedFen } = splitFund(budget, committees, weights, caps);
    expect(allocations.map((a) => a.committeeId)).toEqual(committees.map((c) => c.committeeId));
    // Exact: the parts and the rest are the budget, to the fen.
    expect(allocations.reduce((sum, a) => sum + BigInt(a.fen), 0n) + BigInt(unallocatedFen)).toBe(
      BigInt(budget),
    );
    expect(unallocatedFen).toBeGreaterThanOrEqual(0);
    for (const a of allocations) {
      expect(Number.isInteger(a.fen)).toBe(true);
      expect(a.fen).toBeGreaterThanOrEqual(0);
      expect(a.fen).toBeLessThanOrEqual(caps[a.grade]);
      if (weights[a.grade] === 0) expect(a.fen).toBe(0);
    }
    const eligible = allocations.filter((a) => weights[a.grade] > 0);
    if (unallocatedFen > 0) for (const a of eligible) expect(a.fen).toBe(caps[a.grade]);
    // The same grade: within a fen of each other.
    for (const grade of GRADES) {
      const fens = allocations.filter((a) => a.grade === grade).map((a) => a.fen);
      if (fens.length > 0) expect(Math.max(...fens) - Math.min(...fens)).toBeLessThanOrEqual(1);
    }
    // By weight: no committee gets more per weight than one below its cap, beyond a fen's rounding.
    for (const low of eligible.filter((a) => a.fen < caps[a.grade]))
      for (const other of eligible)
        expect(BigInt(other.fen - 1) * BigInt(weights[low.grade])).toBeLessThanOrEqual(
          BigInt(low.fen + 1) * BigInt(weights[other.grade]),
        );
  };

  it('property: default weights and caps, any budget up to 10^12 fen and any 0..60 committees', () => {
    fc.assert(
      fc.property(arbitraryBudget, arbitraryCommittees, (budget, committees) =>
        checkSplit(budget, committees, FUND_WEIGHTS_DEFAULT, FUND_CAPS_FEN_DEFAULT),
      ),
      { numRuns: 400 },
    );
  });

  it('property: any weights and caps', () => {
    fc.assert(
      fc.property(
        arbitraryBudget,
        arbitraryCommittees,
        gradeTable(fc.integer({ min: 0, max: 12 })),
        gradeTable(fc.oneof(fc.integer({ min: 0, max: 1_000 }), fc.integer({ min: 0, max: 2_000_000_000 }))),
        (budget, committees, weights, caps) => checkSplit(budget, committees, weights, caps),
      ),
      { numRuns: 400 },
    );
  });
});

describe('a cycle on the default system', () => {
  it('three evaluators’ sheets and computed records give a score, a grade and the gaps', () => {
    const periodStart = '2030-01-01T00:00:00+08:00';
    const periodEnd = '2031-01-01T00:00:00+08:00';
    const records: ComputedInputs = {
      meetings: Array.from({ length: 6 }, (_, k) => {
        const heldAt = `2030-${String(2 * k + 1).padStart(2, '0')}-15T10:00:00+08:00`;
        return {
          heldAt,
          quorate: true,
          votingOpensAt: heldAt,
          noticedAt: new Date(Date.parse(heldAt) - (k === 5 ? 1 : 4) * DAY).toISOString(),
        };
      }),
      fundDisclosures: ['2030-03-01T00:00:00+08:00', '2030-09-01T00:00:00+08:00'],
      incomeDisclosures: [
        '2030-02-01T00:00:00+08:00',
        '2030-05-01T00:00:00+08:00',
        '2030-08-01T00:00:00+08:00',
      ],
      periodStart,
      periodEnd,
    };
    const computed = new Map(
      indicatorsOf(DEFAULT_INDICATOR_SYSTEM).flatMap((indicator) =>
        indicator.rule.kind === 'computed'
          ? [[indicator.indicatorId, computeMetric(indicator.rule.metric, records)] as const]
          : [],
      ),
    );
    expect(Object.fromEntries(computed)).toEqual({
      'meetings-every-two-months': 1,
      'meeting-notice-3-days': 0.8333,
      'fund-disclosure-half-yearly': 1,
      'income-disclosure-quarterly': 0.75,
    });
    const evidence = ['doc-1'];
    const scored = (archive: number, training: number) =>
      scoreSheetSchema.parse({
        scores: [
          { indicatorId: 'reception-hours', score: 1, evidence },
          { indicatorId: 'audit-posted-30-days', score: 1, evidence },
          { indicatorId: 'registration-30-days', score: 1, evidence },
          { indicatorId: 'training-records', score: training, evidence },
          { indicatorId: 'records-archive', score: archive, evidence },
          { indicatorId: 'no-member-fee-arrears', score: 1, evidence },
          { indicatorId: 'inactive-re-election', score: 1, evidence },
        ],
      });
    const sheets = [scored(4, 1), scored(3, 1), scored(4, 0)].map((s, k) => {
      expect(checkSheet(DEFAULT_INDICATOR_SYSTEM, s)).toEqual({ ok: true });
      expect(
        unscoredOf(
          DEFAULT_INDICATOR_SYSTEM,
          s.scores.map((e) => e.indicatorId),
        ),
      ).toEqual([]);
      return { evaluatorId: `lawyer-${k}`, scores: sheetFractions(DEFAULT_INDICATOR_SYSTEM, s) };
    });
    const result = aggregate(DEFAULT_INDICATOR_SYSTEM, sheets, computed);
    // 15 + 8 × 0.8333 + 8 + 15 + 12 × 0.75 + 10 + 8 + 6 × 1 (trimmed 1, 1, 0: 1) + 8 × 0.8 (trimmed 4/5, 3/5,
    // 4/5: 4/5) + 5 + 5 = 94.0664, rounded down to 94.06
    expect(result.scoreHundredths).toBe(9406);
    expect(result.grade).toBe('5-star');
    expect(result.disagreements).toEqual(['training-records']);
    const gaps = gapsOf(DEFAULT_INDICATOR_SYSTEM, result, '2031-02-01T00:00:00.000Z');
    expect(gaps.map((gap) => gap.indicatorId)).toEqual([
      'income-disclosure-quarterly',
      'records-archive',
      'meeting-notice-3-days',
    ]);
    expect(gaps.map((gap) => gap.pointsLostHundredths)).toEqual([300, 160, 134]);
    expect(gaps[0]!.dueBy).toBe('2031-03-03T00:00:00.000Z');
  });
});
