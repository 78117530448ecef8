/**
 * The legal evaluation of owners' committees (业主委员会法治评估) and the guidance fund (指导资金), the
 * rules that need no I/O: the indicator system as versioned data, an evaluator's score sheet, the
 * indicators computed from the committee's own records, the aggregation of several evaluators' scores
 * into a committee score and grade, the gaps that become follow-up tasks, the year-over-year comparison,
 * the conflict-of-interest check of an assignment and the split of a yearly fund among graded
 * committees.
 *
 * Exactness:
 * - an indicator's result is a fraction 0..1 of its weight. Fractions are taken as multiples of
 *   1 / FRACTION_DENOMINATOR (25,200,000 = lcm(1..10) × 10^4), which holds every scale score (k / max,
 *   max ≤ 10) and every computed metric (4 decimals) exactly; means, trimmed means and points are then
 *   computed in BigInt rationals;
 * - a committee's score is in integer hundredths of a point (0..10000 = 0.00..100.00): the exact sum
 *   Σ weight × fraction, rounded down, so a grade is reached only when the exact score reaches its band;
 * - money is in integer fen, split in BigInt.
 */
import * as z from 'zod';
import { slugSchema } from '../registry/domain.js';

export { slugSchema };

const DAY_MS = 86_400_000;
const text = (max: number) => z.string().trim().min(1).max(max);

// ---------------------------------------------------------------------------------------------------
// Grades

export const GRADES = ['5-star', '4-star', '3-star', 'pass', 'fail'] as const;
export type Grade = (typeof GRADES)[number];

/** The default bands, in points (0..100): 5★ ≥ 90, 4★ 80–89.99, 3★ 70–79.99, pass 60–69.99, fail < 60. */
export const GRADE_BANDS_DEFAULT: readonly { grade: Grade; min: number }[] = [
  { grade: '5-star', min: 90 },
  { grade: '4-star', min: 80 },
  { grade: '3-star', min: 70 },
  { grade: 'pass', min: 60 },
  { grade: 'fail', min: 0 },
];

/**
 * A system's own bands: every grade once, best first, each band's minimum (points, to the hundredth)
 * strictly below the one before, and 'fail' from 0, so every score has exactly one grade.
 */
export const gradeBandsSchema = z
  .array(
    z
      .object({
        grade: z.enum(GRADES),
        min: z
          .number()
          .min(0)
          .max(100)
          .refine(
            (min) => Math.abs(min * 100 - Math.round(min * 100)) < 1e-6,
            'A band minimum has at most two decimals',
          ),
      })
      .strict(),
  )
  .length(GRADES.length, `Grade bands name each of ${GRADES.join(', ')} once`)
  .superRefine((bands, ctx) => {
    bands.forEach((band, index) => {
      if (band.grade !== GRADES[index])
        ctx.addIssue({
          code: 'custom',
          path: [index, 'grade'],
          message: `Band ${index} is ${GRADES[index]} (bands go ${GRADES.join(', ')})`,
        });
      const previous = bands[index - 1];
      if (previous !== undefined && band.min >= previous.min)
        ctx.addIssue({
          code: 'custom',
          path: [index, 'min'],
          message: `The ${band.grade} band starts below the ${previous.grade} band (${previous.min})`,
        });
    });
    const last = bands[bands.length - 1];
    if (last !== undefined && last.min !== 0)
      ctx.addIssue({ code: 'custom', path: [bands.length - 1, 'min'], message: 'The fail band starts at 0' });
  });
export type GradeBands = z.output<typeof gradeBandsSchema>;

/**
 * The grade of a score in hundredths of a point: the best band whose minimum it reaches (89.99 is
 * 4-star, 90.00 is 5-star under the default bands); 'fail' below every band.
 */
export const gradeOf = (
  scoreHundredths: number,
  bands: readonly { grade: Grade; min: number }[] = GRADE_BANDS_DEFAULT,
): Grade => {
  const ordered = [...bands].sort((a, b) => b.min - a.min);
  for (const band of ordered) if (scoreHundredths >= Math.round(band.min * 100)) return band.grade;
  return 'fail';
};

/** Grades from worst (0) to best (4), for comparisons. */
const gradeRank = (grade: Grade): number => GRADES.length - 1 - GRADES.indexOf(grade);

// ---------------------------------------------------------------------------------------------------
// The indicator system

/** The indicators computed from the system's own records, never typed by an evaluator (see computeMetric). */
export const COMPUTED_METRICS = [
  'meetings-every-two-months',
  'meeting-notice-3-days',
  'fund-disclosure-half-yearly',
  'income-disclosure-quarterly',
] as const;
export type ComputedMetric = (typeof COMPUTED_METRICS)[number];

/** How an indicator is scored: yes/no (0 or 1), a scale 0..max, or computed from records. */
export const scoringRuleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('yes-no') }).strict(),
  z.object({ kind: z.literal('scale'), max: z.number().int().min(1).max(10) }).strict(),
  z.object({ kind: z.literal('computed'), metric: z.enum(COMPUTED_METRICS) }).strict(),
]);
export type ScoringRule = z.output<typeof scoringRuleSchema>;

export const DEFAULT_FOLLOW_UP_DAYS = 60;

export const indicatorSchema = z
  .object({
    indicatorId: slugSchema,
    title: text(200),
    /** Points out of the system's 100. */
    weight: z.number().int().min(1).max(100),
    rule: scoringRuleSchema,
    /** A veto item (一票否决): not at full marks, the committee fails whatever its score. */
    veto: z.boolean().optional(),
    /** What the committee should do when the indicator is not at full marks (the follow-up task). */
    gapAdvice: text(1000).optional(),
    /** Days from finalising the evaluation to the follow-up task's deadline. */
    followUpDays: z.number().int().min(1).max(365).default(DEFAULT_FOLLOW_UP_DAYS),
  })
  .strict();
export type Indicator = z.output<typeof indicatorSchema>;

export const dimensionSchema = z
  .object({
    dimensionId: slugSchema,
    title: text(200),
    indicators: z.array(indicatorSchema).min(1).max(30),
  })
  .strict();
export type Dimension = z.output<typeof dimensionSchema>;

export const indicatorSystemSchema = z
  .object({
    systemId: slugSchema,
    version: z.number().int().min(1),
    title: text(200),
    dimensions: z.array(dimensionSchema).min(1).max(10),
    /** The system's grade bands; the default bands without. */
    grades: gradeBandsSchema.optional(),
  })
  .strict()
  .superRefine((system, ctx) => {
    let sum = 0;
    const indicatorIds = new Set<string>();
    const dimensionIds = new Set<string>();
    system.dimensions.forEach((dimension, d) => {
      if (dimensionIds.has(dimension.dimensionId))
        ctx.addIssue({
          code: 'custom',
          path: ['dimensions', d, 'dimensionId'],
          message: `Dimension ${dimension.dimensionId} is named twice`,
        });
      dimensionIds.add(dimension.dimensionId);
      dimension.indicators.forEach((indicator, i) => {
        sum += indicator.weight;
        if (indicatorIds.has(indicator.indicatorId))
          ctx.addIssue({
            code: 'custom',
            path: ['dimensions', d, 'indicators', i, 'indicatorId'],
            message: `Indicator ${indicator.indicatorId} is named twice in the system`,
          });
        indicatorIds.add(indicator.indicatorId);
      });
    });
    if (sum !== 100)
      ctx.addIssue({
        code: 'custom',
        path: ['dimensions'],
        message: `The indicators' weights sum to ${sum}; they must sum to exactly 100`,
      });
  });
export type IndicatorSystem = z.output<typeof indicatorSystemSchema>;

/** Every indicator of a system with its dimension, in the system's order. */
export const indicatorsOf = (system: IndicatorSystem): (Indicator & { dimensionId: string })[] =>
  system.dimensions.flatMap((dimension) =>
    dimension.indicators.map((indicator) => ({ ...indicator, dimensionId: dimension.dimensionId })),
  );

/**
 * The default system, on the checkable duties the Shanghai Residential Property Management Regulation
 * (上海市住宅物业管理规定) puts on an owners' committee. Indicators the system's own records show
 * (meetings held, disclosures posted) are computed; the rest are checked by the evaluators against
 * evidence. Weights: 31 + 37 + 22 + 10 = 100. A literal, not parsed at module load (that cost a cold
 * start about 8 ms); the domain test checks the schema takes it as it is.
 */
export const DEFAULT_INDICATOR_SYSTEM: IndicatorSystem = {
  systemId: 'sh-committee-rule-of-law',
  version: 1,
  // Rule-of-law evaluation of owners' committees (Shanghai default)
  title: '业主委员会法治评估指标体系（上海默认）',
  dimensions: [
    {
      dimensionId: 'operation',
      // Running the committee
      title: '组织运行',
      indicators: [
        {
          indicatorId: 'meetings-every-two-months',
          // A committee meeting at least every two months, with a quorum
          title: '业主委员会至少每两个月召开一次会议且出席委员过半数',
          weight: 15,
          rule: { kind: 'computed', metric: 'meetings-every-two-months' },
          // Fix a meeting calendar; hold and minute a meeting at least every two months
          gapAdvice: '制定年度会议计划，每两个月至少召开一次有过半数委员出席的会议，并形成会议记录',
          followUpDays: 60,
        },
        {
          indicatorId: 'meeting-notice-3-days',
          // Every member notified at least 3 days before a meeting
          title: '会议召开3日前通知全体委员',
          weight: 8,
          rule: { kind: 'computed', metric: 'meeting-notice-3-days' },
          // Send notices at least 3 days ahead and keep proof of delivery
          gapAdvice: '会议通知至少提前3日送达全体委员，并留存送达记录',
          followUpDays: 60,
        },
        {
          indicatorId: 'reception-hours',
          // Fixed reception hours for owners, each reception recorded
          title: '设立固定接待日并记录业主来访及处理情况',
          weight: 8,
          rule: { kind: 'yes-no' },
          // Post the reception hours; keep a register of visits and answers
          gapAdvice: '公布接待时间，建立业主来访登记及答复台账',
          followUpDays: 30,
        },
      ],
    },
    {
      dimensionId: 'disclosure',
      // Disclosure to the owners
      title: '信息公开',
      indicators: [
        {
          indicatorId: 'fund-disclosure-half-yearly',
          // The maintenance fund's use disclosed at least every six months
          title: '专项维修资金使用情况每半年公布一次',
          weight: 15,
          rule: { kind: 'computed', metric: 'fund-disclosure-half-yearly' },
          // Post the fund's accounts now and every six months after
          gapAdvice: '立即公布专项维修资金收支情况，此后每半年至少公布一次',
          followUpDays: 30,
        },
        {
          indicatorId: 'income-disclosure-quarterly',
          // Income from the common parts disclosed every quarter
          title: '共有部分经营收益收支情况每季度公布一次',
          weight: 12,
          rule: { kind: 'computed', metric: 'income-disclosure-quarterly' },
          // Post the common income's accounts now and every quarter after
          gapAdvice: '立即公布共有部分经营收益收支情况，此后每季度至少公布一次',
          followUpDays: 30,
        },
        {
          indicatorId: 'audit-posted-30-days',
          // Annual and end-of-term audits, their results posted for at least 30 days
          title: '年度审计及任期届满审计结果公示不少于30日',
          weight: 10,
          rule: { kind: 'yes-no' },
          // Commission the missing audit and post its result for 30 days
          gapAdvice: '委托开展缺失的审计，并将审计结果在物业管理区域内公示不少于30日',
          followUpDays: 90,
        },
      ],
    },
    {
      dimensionId: 'compliance',
      // Registration, training and records
      title: '规范履职',
      indicators: [
        {
          indicatorId: 'registration-30-days',
          // Registered with the sub-district within 30 days of its election
          title: '选举产生之日起30日内向街道办事处备案',
          weight: 8,
          rule: { kind: 'yes-no' },
          // Complete the registration (or its change) with the sub-district office
          gapAdvice: '向街道办事处补办备案（或变更备案）手续',
          followUpDays: 30,
        },
        {
          indicatorId: 'training-records',
          // Members trained, with training records kept
          title: '委员参加履职培训并有培训记录',
          weight: 6,
          rule: { kind: 'yes-no' },
          // Have every member attend the sub-district's training; keep the records
          gapAdvice: '组织全体委员参加街道或区房管部门的履职培训，并留存培训记录',
          followUpDays: 90,
        },
        {
          indicatorId: 'records-archive',
          // Minutes, resolutions and documents archived and open to owners (0–5)
          title: '会议记录、决定及相关资料建档完整并可供业主查阅',
          weight: 8,
          rule: { kind: 'scale', max: 5 },
          // Complete the archive; set how owners consult it
          gapAdvice: '补齐会议记录、决定、合同及财务资料档案，明确业主查阅方式',
          followUpDays: 60,
        },
      ],
    },
    {
      dimensionId: 'integrity',
      // Integrity (veto items)
      title: '廉洁自律（一票否决）',
      indicators: [
        {
          indicatorId: 'no-member-fee-arrears',
          // No committee member in arrears with property fees
          title: '委员无拖欠物业服务费等费用',
          weight: 5,
          rule: { kind: 'yes-no' },
          veto: true,
          // Members in arrears pay up, or leave the committee
          gapAdvice: '欠费委员限期缴清；逾期未缴的，依规终止其委员资格',
          followUpDays: 30,
        },
        {
          indicatorId: 'inactive-re-election',
          // No 6 months without work, or an early re-election was started
          title: '无连续6个月不开展工作情形（如有，已启动提前换届）',
          weight: 5,
          rule: { kind: 'yes-no' },
          veto: true,
          // Start the early re-election with the sub-district office
          gapAdvice: '在街道办事处指导下启动提前换届',
          followUpDays: 60,
        },
      ],
    },
  ],
};

// ---------------------------------------------------------------------------------------------------
// Score sheets

/** An evaluator's request body: a score per indicator, each with its evidence references. */
export const scoreSheetSchema = z
  .object({
    scores: z
      .array(
        z
          .object({
            indicatorId: slugSchema,
            score: z.number().int().min(0),
            /** Where the evidence is kept (document ids, scans, minutes' references). */
            evidence: z.array(text(500)).min(1, 'A score cites at least one piece of evidence').max(10),
            note: text(2000).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(100),
  })
  .strict();
export type ScoreSheet = z.output<typeof scoreSheetSchema>;

/** A field of a request that is wrong, as the HTTP layer reports it. */
export interface Problem {
  pointer: string;
  detail: string;
}

/**
 * Checks a sheet against the system: every score names one of its indicators, once, not a computed
 * one, and lies on the indicator's scale (yes/no: 0 or 1; scale: 0..max). A sheet may leave
 * indicators unscored (see unscoredOf).
 */
export const checkSheet = (
  system: IndicatorSystem,
  sheet: ScoreSheet,
  at = '/body/scores',
): { ok: true } | { ok: false; errors: Problem[] } => {
  const byId = new Map(indicatorsOf(system).map((indicator) => [indicator.indicatorId, indicator]));
  const errors: Problem[] = [];
  const seen = new Set<string>();
  sheet.scores.forEach((entry, index) => {
    const indicator = byId.get(entry.indicatorId);
    if (indicator === undefined) {
      errors.push({
        pointer: `${at}/${index}/indicatorId`,
        detail: `${system.systemId} v${system.version} has no indicator ${entry.indicatorId}`,
      });
      return;
    }
    if (seen.has(entry.indicatorId)) {
      errors.push({
        pointer: `${at}/${index}/indicatorId`,
        detail: `${entry.indicatorId} is scored twice in this sheet`,
      });
      return;
    }
    seen.add(entry.indicatorId);
    const rule = indicator.rule;
    if (rule.kind === 'computed') {
      errors.push({
        pointer: `${at}/${index}/indicatorId`,
        detail: `${entry.indicatorId} is computed from the committee's records (${rule.metric}); it is not scored by hand`,
      });
      return;
    }
    const max = rule.kind === 'yes-no' ? 1 : rule.max;
    if (entry.score > max)
      errors.push({
        pointer: `${at}/${index}/score`,
        detail:
          rule.kind === 'yes-no'
            ? `${entry.indicatorId} is yes/no: score 0 or 1`
            : `${entry.indicatorId} is scored 0 to ${max}`,
      });
  });
  return errors.length === 0 ? { ok: true } : { ok: false, errors };
};

/** The fraction of its weight a score earns: yes/no 0 or 1, a scale score / max. */
export const fractionOf = (rule: ScoringRule, score: number): number => {
  if (rule.kind === 'computed') throw new RangeError('A computed indicator takes no score');
  const max = rule.kind === 'yes-no' ? 1 : rule.max;
  if (!Number.isInteger(score) || score < 0 || score > max)
    throw new RangeError(`Score ${score} is outside 0..${max}`);
  return score / max;
};

/** A checked sheet as aggregate takes it: indicator id → fraction. */
export const sheetFractions = (system: IndicatorSystem, sheet: ScoreSheet): Map<string, number> => {
  const byId = new Map(indicatorsOf(system).map((indicator) => [indicator.indicatorId, indicator]));
  const fractions = new Map<string, number>();
  for (const entry of sheet.scores) {
    const indicator = byId.get(entry.indicatorId);
    if (indicator === undefined) throw new RangeError(`Unknown indicator ${entry.indicatorId}`);
    fractions.set(entry.indicatorId, fractionOf(indicator.rule, entry.score));
  }
  return fractions;
};

/** The indicators an evaluator still has to score (every one not computed and not in the sheet). */
export const unscoredOf = (system: IndicatorSystem, scored: Iterable<string>): string[] => {
  const done = new Set(scored);
  return indicatorsOf(system)
    .filter((indicator) => indicator.rule.kind !== 'computed' && !done.has(indicator.indicatorId))
    .map((indicator) => indicator.indicatorId);
};

// ---------------------------------------------------------------------------------------------------
// Computed indicators

/** The committee's records over the evaluated period (ISO-8601 datetimes). */
export interface ComputedInputs {
  /** Committee (and general) meetings: when held, whether quorate, when noticed, when voting opened. */
  meetings: { heldAt: string; quorate: boolean; noticedAt: string; votingOpensAt: string }[];
  /** When the maintenance fund's use was disclosed. */
  fundDisclosures: string[];
  /** When the common parts' income was disclosed. */
  incomeDisclosures: string[];
  periodStart: string;
  periodEnd: string;
}

/** The minimum notice of a committee meeting. */
export const MEETING_NOTICE_DAYS = 3;
/** Shanghai's calendar (China Standard Time, UTC+8, no daylight saving) decides months. */
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

const instantOf = (value: string, what: string): number => {
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new RangeError(`${what} is not a datetime: ${value}`);
  return at;
};

/** `at` plus `months` calendar months in Shanghai, the day clamped to the month's last (Jan 31 + 1 = Feb 28/29). */
const addMonths = (at: number, months: number): number => {
  const local = new Date(at + SHANGHAI_OFFSET_MS);
  const year = local.getUTCFullYear();
  const month = local.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(local.getUTCDate(), lastDay);
  return (
    Date.UTC(
      year,
      month,
      day,
      local.getUTCHours(),
      local.getUTCMinutes(),
      local.getUTCSeconds(),
      local.getUTCMilliseconds(),
    ) - SHANGHAI_OFFSET_MS
  );
};

/**
 * The period's consecutive windows of `months` calendar months from its start: whole windows only (a
 * trailing part shorter than a window is owed nothing yet); a period shorter than one window is one
 * window, the whole period.
 */
export const windowsOf = (periodStart: string, periodEnd: string, months: number): [number, number][] => {
  const start = instantOf(periodStart, 'periodStart');
  const end = instantOf(periodEnd, 'periodEnd');
  if (end <= start) throw new RangeError('periodEnd must be after periodStart');
  const windows: [number, number][] = [];
  for (let k = 0; ; k += 1) {
    const from = addMonths(start, k * months);
    const to = addMonths(start, (k + 1) * months);
    if (to > end) break;
    windows.push([from, to]);
  }
  return windows.length === 0 ? [[start, end]] : windows;
};

/** k / n to 4 decimals, half up, in integers; below 1 stays below 1 (0.9999 at most). */
const ratio4 = (k: number, n: number): number => {
  if (n === 0) return 0;
  const tenThousandths = Math.floor((2 * k * 10_000 + n) / (2 * n));
  return (k < n ? Math.min(tenThousandths, 9_999) : tenThousandths) / 10_000;
};

const windowShare = (instants: readonly number[], windows: readonly [number, number][]): number =>
  ratio4(windows.filter(([from, to]) => instants.some((at) => at >= from && at < to)).length, windows.length);

/**
 * An indicator computed from the committee's records over [periodStart, periodEnd), as a fraction 0..1
 * rounded to 4 decimals:
 * - meetings-every-two-months: the share of the period's consecutive two-month windows (Shanghai
 *   calendar months from periodStart, see windowsOf) holding at least one quorate meeting (heldAt);
 * - meeting-notice-3-days: the share of the meetings held in the period whose notice came at least 3
 *   days (72 hours; exactly 3 days counts) before voting opened; 0 when no meeting was held (no notice
 *   was given, and the committee that meets not cannot earn the notice points);
 * - fund-disclosure-half-yearly: the share of the period's six-month windows holding a disclosure of the
 *   maintenance fund's use;
 * - income-disclosure-quarterly: the share of the period's three-month windows holding a disclosure of
 *   the common parts' income.
 * Records outside the period do not count.
 */
export const computeMetric = (metric: ComputedMetric, inputs: ComputedInputs): number => {
  const start = instantOf(inputs.periodStart, 'periodStart');
  const end = instantOf(inputs.periodEnd, 'periodEnd');
  if (end <= start) throw new RangeError('periodEnd must be after periodStart');
  const inPeriod = (at: number) => at >= start && at < end;
  switch (metric) {
    case 'meetings-every-two-months': {
      const held = inputs.meetings
        .filter((meeting) => meeting.quorate)
        .map((meeting) => instantOf(meeting.heldAt, 'heldAt'));
      return windowShare(held, windowsOf(inputs.periodStart, inputs.periodEnd, 2));
    }
    case 'meeting-notice-3-days': {
      const held = inputs.meetings.filter((meeting) => inPeriod(instantOf(meeting.heldAt, 'heldAt')));
      const noticed = held.filter(
        (meeting) =>
          instantOf(meeting.votingOpensAt, 'votingOpensAt') - instantOf(meeting.noticedAt, 'noticedAt') >=
          MEETING_NOTICE_DAYS * DAY_MS,
      );
      return ratio4(noticed.length, held.length);
    }
    case 'fund-disclosure-half-yearly':
      return windowShare(
        inputs.fundDisclosures.map((at) => instantOf(at, 'fundDisclosures')),
        windowsOf(inputs.periodStart, inputs.periodEnd, 6),
      );
    case 'income-disclosure-quarterly':
      return windowShare(
        inputs.incomeDisclosures.map((at) => instantOf(at, 'incomeDisclosures')),
        windowsOf(inputs.periodStart, inputs.periodEnd, 3),
      );
  }
};

// ---------------------------------------------------------------------------------------------------
// Aggregation

/** Fractions are exact multiples of 1 / FRACTION_DENOMINATOR: lcm(1..10) × 10^4. */
export const FRACTION_DENOMINATOR = 25_200_000;
const D = BigInt(FRACTION_DENOMINATOR);

/** A fraction 0..1 as its exact numerator over FRACTION_DENOMINATOR. */
const numeratorOf = (fraction: number, what: string): bigint => {
  if (!Number.isFinite(fraction) || fraction < 0 || fraction > 1)
    throw new RangeError(`${what}: a fraction is 0..1, not ${fraction}`);
  return BigInt(Math.round(fraction * FRACTION_DENOMINATOR));
};

/** num / den to 4 decimals, rounded down (so an indicator shows 1 only at full marks). */
const floor4 = (num: bigint, den: bigint): number => Number((num * 10_000n) / den) / 10_000;

const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

export interface IndicatorResult {
  indicatorId: string;
  dimensionId: string;
  weight: number;
  /** The aggregated fraction, rounded down to 4 decimals: 1 only at full marks. */
  fraction: number;
  /** The points earned, hundredths; the indicators' points sum to the committee's score. */
  pointsHundredths: number;
  /** Max − min among the evaluators' fractions (0 for a computed indicator), to 4 decimals. */
  spread: number;
  disagreement: boolean;
  vetoFailed: boolean;
  /** How many fractions it was aggregated from (evaluators' scores; 1 for a computed value; 0 unscored). */
  evaluators: number;
}

export interface AggregateResult {
  /** 0..10000 = 0.00..100.00 points. */
  scoreHundredths: number;
  perIndicator: IndicatorResult[];
  /** Indicator ids whose spread among evaluators exceeds the threshold: reconcile before finalising. */
  disagreements: string[];
  /** Veto indicators whose aggregated fraction is below 1. */
  vetoed: string[];
  /** Indicators nobody scored (or computed values missing): counted as 0; resolve before finalising. */
  unscored: string[];
  /** 'fail' if a veto failed, else by the system's bands (the default bands without). */
  grade: Grade;
}

export const DEFAULT_DISAGREEMENT_THRESHOLD = 0.3;

/**
 * Aggregates the evaluators' fractions (sheetFractions) and the computed ones into the committee's
 * result. Per indicator: the mean of the evaluators' fractions, or with 3 or more the trimmed mean
 * (one highest and one lowest dropped); a computed indicator takes its computed fraction. Points =
 * weight × fraction; the score is the exact sum in hundredths, rounded down, and the indicators' points
 * are its largest-remainder apportionment (each within a hundredth of its exact value, summing to the
 * score). A spread above the threshold (exactly at it is not) is a disagreement.
 */
export const aggregate = (
  system: IndicatorSystem,
  sheets: readonly { evaluatorId: string; scores: ReadonlyMap<string, number> }[],
  computed: ReadonlyMap<string, number>,
  options: { disagreementThreshold?: number } = {},
): AggregateResult => {
  const threshold = numeratorOf(
    options.disagreementThreshold ?? DEFAULT_DISAGREEMENT_THRESHOLD,
    'disagreementThreshold',
  );
  const indicators = indicatorsOf(system);
  const byId = new Map(indicators.map((indicator) => [indicator.indicatorId, indicator]));
  const evaluatorIds = new Set<string>();
  for (const sheet of sheets) {
    if (evaluatorIds.has(sheet.evaluatorId))
      throw new RangeError(`Evaluator ${sheet.evaluatorId} has two sheets`);
    evaluatorIds.add(sheet.evaluatorId);
    for (const indicatorId of sheet.scores.keys()) {
      const indicator = byId.get(indicatorId);
      if (indicator === undefined) throw new RangeError(`Unknown indicator ${indicatorId}`);
      if (indicator.rule.kind === 'computed')
        throw new RangeError(`${indicatorId} is computed; an evaluator does not score it`);
    }
  }
  for (const indicatorId of computed.keys())
    if (byId.get(indicatorId)?.rule.kind !== 'computed')
      throw new RangeError(`${indicatorId} is not a computed indicator`);

  // Each indicator's retained numerators (sum over count) and its spread.
  const rows = indicators.map((indicator) => {
    const values =
      indicator.rule.kind === 'computed'
        ? computed.has(indicator.indicatorId)
          ? [numeratorOf(computed.get(indicator.indicatorId)!, indicator.indicatorId)]
          : []
        : sheets.flatMap((sheet) => {
            const fraction = sheet.scores.get(indicator.indicatorId);
            return fraction === undefined ? [] : [numeratorOf(fraction, indicator.indicatorId)];
          });
    const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const kept = sorted.length >= 3 ? sorted.slice(1, -1) : sorted;
    const spread = sorted.length === 0 ? 0n : sorted[sorted.length - 1]! - sorted[0]!;
    return {
      indicator,
      sum: kept.reduce((total, value) => total + value, 0n),
      count: BigInt(kept.length),
      raw: values.length,
      spread,
    };
  });

  // Exact points in units of 1 / G hundredths, G = D × lcm of the counts.
  const lcm = rows.reduce(
    (acc, row) => (row.count === 0n ? acc : (acc * row.count) / gcd(acc, row.count)),
    1n,
  );
  const G = D * lcm;
  const exact = rows.map((row) =>
    row.count === 0n ? 0n : BigInt(row.indicator.weight) * 100n * row.sum * (lcm / row.count),
  );
  const total = exact.reduce((sum, value) => sum + value, 0n) / G;
  const points = exact.map((value) => value / G);
  let extra = total - points.reduce((sum, value) => sum + value, 0n);
  const order = exact
    .map((value, index) => ({ remainder: value % G, index }))
    .sort((a, b) => (a.remainder > b.remainder ? -1 : a.remainder < b.remainder ? 1 : a.index - b.index));
  for (const { index } of order) {
    if (extra === 0n) break;
    points[index] = points[index]! + 1n;
    extra -= 1n;
  }

  const perIndicator: IndicatorResult[] = rows.map((row, index) => {
    const full = row.count > 0n && row.sum === row.count * D;
    return {
      indicatorId: row.indicator.indicatorId,
      dimensionId: row.indicator.dimensionId,
      weight: row.indicator.weight,
      fraction: row.count === 0n ? 0 : floor4(row.sum, row.count * D),
      pointsHundredths: Number(points[index]!),
      spread: floor4(row.spread, D),
      disagreement: row.spread > threshold,
      vetoFailed: row.indicator.veto === true && !full,
      evaluators: row.raw,
    };
  });
  const scoreHundredths = Number(total);
  const vetoed = perIndicator.filter((row) => row.vetoFailed).map((row) => row.indicatorId);
  return {
    scoreHundredths,
    perIndicator,
    disagreements: perIndicator.filter((row) => row.disagreement).map((row) => row.indicatorId),
    vetoed,
    unscored: rows.filter((row) => row.count === 0n).map((row) => row.indicator.indicatorId),
    grade: vetoed.length > 0 ? 'fail' : gradeOf(scoreHundredths, system.grades ?? GRADE_BANDS_DEFAULT),
  };
};

// ---------------------------------------------------------------------------------------------------
// Gaps and the year-over-year comparison

export interface Gap {
  indicatorId: string;
  dimensionId: string;
  title: string;
  /** weight × 100 − points earned. */
  pointsLostHundredths: number;
  advice: string;
  /** finalisedAt + the indicator's followUpDays. */
  dueBy: string;
  vetoFailed: boolean;
}

/**
 * Every indicator not at full marks, each a follow-up task due followUpDays after finalising: the
 * biggest loss first; equal losses with failed vetoes first, then in the system's order.
 */
export const gapsOf = (
  system: IndicatorSystem,
  result: Pick<AggregateResult, 'perIndicator'>,
  finalisedAt: string,
): Gap[] => {
  const at = instantOf(finalisedAt, 'finalisedAt');
  const byId = new Map(indicatorsOf(system).map((indicator) => [indicator.indicatorId, indicator]));
  return result.perIndicator
    .map((row, index) => ({ row, index, indicator: byId.get(row.indicatorId) }))
    .filter(({ row }) => row.fraction < 1 || row.pointsHundredths < row.weight * 100)
    .map(({ row, index, indicator }) => {
      if (indicator === undefined) throw new RangeError(`Unknown indicator ${row.indicatorId}`);
      return {
        index,
        gap: {
          indicatorId: row.indicatorId,
          dimensionId: row.dimensionId,
          title: indicator.title,
          pointsLostHundredths: row.weight * 100 - row.pointsHundredths,
          // "Bring it up to standard: …"
          advice: indicator.gapAdvice ?? `对照指标要求整改：${indicator.title}`,
          dueBy: new Date(at + indicator.followUpDays * DAY_MS).toISOString(),
          vetoFailed: row.vetoFailed,
        },
      };
    })
    .sort(
      (a, b) =>
        b.gap.pointsLostHundredths - a.gap.pointsLostHundredths ||
        Number(b.gap.vetoFailed) - Number(a.gap.vetoFailed) ||
        a.index - b.index,
    )
    .map(({ gap }) => gap);
};

type Comparable = Pick<AggregateResult, 'scoreHundredths' | 'grade'> & {
  perIndicator: readonly Pick<IndicatorResult, 'indicatorId' | 'fraction'>[];
};

/**
 * This year against last: the score's change, the grade's direction ('new' without a previous
 * evaluation, the change then 0), and the indicators present in both years whose fraction rose or fell
 * (fractions, not points, so a reweighted indicator compares fairly).
 */
export const compareYears = (
  previous: Comparable | undefined,
  current: Comparable,
): {
  scoreChangeHundredths: number;
  gradeChange: 'up' | 'down' | 'same' | 'new';
  improved: string[];
  worsened: string[];
} => {
  if (previous === undefined)
    return { scoreChangeHundredths: 0, gradeChange: 'new', improved: [], worsened: [] };
  const before = new Map(previous.perIndicator.map((row) => [row.indicatorId, row.fraction]));
  const improved: string[] = [];
  const worsened: string[] = [];
  for (const row of current.perIndicator) {
    const was = before.get(row.indicatorId);
    if (was === undefined) continue;
    if (row.fraction > was) improved.push(row.indicatorId);
    else if (row.fraction < was) worsened.push(row.indicatorId);
  }
  const rank = gradeRank(current.grade) - gradeRank(previous.grade);
  return {
    scoreChangeHundredths: current.scoreHundredths - previous.scoreHundredths,
    gradeChange: rank > 0 ? 'up' : rank < 0 ? 'down' : 'same',
    improved,
    worsened,
  };
};

// ---------------------------------------------------------------------------------------------------
// Conflict of interest

/**
 * Why an evaluator may not evaluate a committee, if they may not: they own a unit in its property
 * area, or work for a property company serving it.
 */
export const conflictOf = (
  evaluator: { ownerAreaIds: readonly string[]; employerCompanyId?: string },
  committee: { areaId: string; companyIds: readonly string[] },
): undefined | { reason: 'owns-a-unit-in-the-area' | 'works-for-its-property-company'; detail: string } => {
  if (evaluator.ownerAreaIds.includes(committee.areaId))
    return {
      reason: 'owns-a-unit-in-the-area',
      detail: `The evaluator owns a unit in area ${committee.areaId}, whose committee this is`,
    };
  if (evaluator.employerCompanyId !== undefined && committee.companyIds.includes(evaluator.employerCompanyId))
    return {
      reason: 'works-for-its-property-company',
      detail: `The evaluator works for ${evaluator.employerCompanyId}, the property company of area ${committee.areaId}`,
    };
  return undefined;
};

// ---------------------------------------------------------------------------------------------------
// The guidance fund

const gradeRecord = (fallback: Record<Grade, number>) =>
  z
    .object({
      '5-star': z.number().int().min(0),
      '4-star': z.number().int().min(0),
      '3-star': z.number().int().min(0),
      pass: z.number().int().min(0),
      fail: z.number().int().min(0),
    })
    .strict()
    .default(fallback);

export const FUND_WEIGHTS_DEFAULT: Record<Grade, number> = {
  '5-star': 5,
  '4-star': 4,
  '3-star': 3,
  pass: 0,
  fail: 0,
};
/** Per-committee caps by grade, fen: ¥30,000, ¥20,000, ¥10,000. */
export const FUND_CAPS_FEN_DEFAULT: Record<Grade, number> = {
  '5-star': 3_000_000,
  '4-star': 2_000_000,
  '3-star': 1_000_000,
  pass: 0,
  fail: 0,
};

/** A year's guidance-fund budget, in whole fen; weights and per-committee caps by grade. */
export const fundBudgetSchema = z
  .object({
    year: z.number().int().min(2000).max(2100),
    budgetFen: z
      .number({ error: 'budgetFen is a number of fen' })
      .int({ error: 'budgetFen is in whole fen (1 fen = ¥0.01): no fractions of a fen' })
      .positive(),
    weights: gradeRecord(FUND_WEIGHTS_DEFAULT),
    capsFen: gradeRecord(FUND_CAPS_FEN_DEFAULT),
  })
  .strict();
export type FundBudget = z.output<typeof fundBudgetSchema>;

/**
 * Splits a budget among graded committees: by their grade's weight (weight 0: nothing), each capped
 * at its grade's cap, a capped committee's excess redistributed among the others by weight until no
 * share passes its cap; the exact shares rounded to whole fen by largest remainder (ties by
 * committeeId). The allocations and unallocatedFen sum to the budget exactly; unallocatedFen is above
 * 0 only when every eligible committee is at its cap, or none is eligible. Allocations come in the
 * committees' order. BigInt throughout.
 */
export const splitFund = (
  budgetFen: number,
  committees: readonly { committeeId: string; grade: Grade }[],
  weights: Record<Grade, number> = FUND_WEIGHTS_DEFAULT,
  capsFen: Record<Grade, number> = FUND_CAPS_FEN_DEFAULT,
): { allocations: { committeeId: string; grade: Grade; fen: number }[]; unallocatedFen: number } => {
  if (!Number.isSafeInteger(budgetFen) || budgetFen < 0)
    throw new RangeError(`budgetFen is a whole number of fen ≥ 0, not ${budgetFen}`);
  for (const grade of GRADES) {
    if (!Number.isSafeInteger(weights[grade]) || weights[grade] < 0)
      throw new RangeError(`The ${grade} weight is a whole number ≥ 0`);
    if (!Number.isSafeInteger(capsFen[grade]) || capsFen[grade] < 0)
      throw new RangeError(`The ${grade} cap is a whole number of fen ≥ 0`);
  }
  const ids = new Set<string>();
  for (const committee of committees) {
    if (ids.has(committee.committeeId))
      throw new RangeError(`Committee ${committee.committeeId} is listed twice`);
    ids.add(committee.committeeId);
  }

  const fen = new Map<string, bigint>(committees.map((committee) => [committee.committeeId, 0n]));
  let remaining = BigInt(budgetFen);
  let active = committees.filter((committee) => weights[committee.grade] > 0);
  const weightOf = (committee: { grade: Grade }) => BigInt(weights[committee.grade]);
  const capOf = (committee: { grade: Grade }) => BigInt(capsFen[committee.grade]);

  // Cap every committee whose exact share reaches its cap, until none does (shares only grow).
  for (;;) {
    const totalWeight = active.reduce((sum, committee) => sum + weightOf(committee), 0n);
    if (active.length === 0) break;
    const capped = active.filter(
      (committee) => remaining * weightOf(committee) >= capOf(committee) * totalWeight,
    );
    if (capped.length === 0) {
      // Exact shares remaining × w / W: floors, then the leftover fen by largest remainder.
      const shares = active.map((committee) => ({
        committee,
        floor: (remaining * weightOf(committee)) / totalWeight,
        remainder: (remaining * weightOf(committee)) % totalWeight,
      }));
      let leftover = remaining - shares.reduce((sum, share) => sum + share.floor, 0n);
      shares.sort((a, b) =>
        a.remainder > b.remainder
          ? -1
          : a.remainder < b.remainder
            ? 1
            : a.committee.committeeId < b.committee.committeeId
              ? -1
              : a.committee.committeeId > b.committee.committeeId
                ? 1
                : 0,
      );
      for (const share of shares) {
        const extra = leftover > 0n ? 1n : 0n;
        leftover -= extra;
        fen.set(share.committee.committeeId, share.floor + extra);
      }
      remaining = 0n;
      break;
    }
    for (const committee of capped) {
      fen.set(committee.committeeId, capOf(committee));
      remaining -= capOf(committee);
    }
    const cappedIds = new Set(capped.map((committee) => committee.committeeId));
    active = active.filter((committee) => !cappedIds.has(committee.committeeId));
  }

  return {
    allocations: committees.map((committee) => ({
      committeeId: committee.committeeId,
      grade: committee.grade,
      fen: Number(fen.get(committee.committeeId)!),
    })),
    unallocatedFen: Number(remaining),
  };
};
