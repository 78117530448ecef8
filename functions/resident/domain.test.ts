import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Adoption,
  CASE_TYPES,
  type CaseState,
  type CaseSummary,
  type CaseType,
  type Covenant,
  caseStatistics,
  covenantSchema,
  DEFAULT_LADDERS,
  deadlineOf,
  type Ladder,
  type LadderStep,
  type LadderTuning,
  ladderSchema,
  ladderTuningSchema,
  type Notice,
  namedRuleInForce,
  noticeSchema,
  onDeadline,
  openCase,
  recordNotice,
  remedy,
  ruleInForce,
  tuneLadder,
} from './domain.js';

const HOUR = 3_600_000;
const T0 = '2027-01-05T01:00:00.000Z';
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
const BY = { areaId: 'yj-1', at: '2027-01-01T00:00:00.000Z' };

const noticeFor = (step: LadderStep, deliveredAt: string, overrides: Partial<Notice> = {}): Notice => ({
  stepId: step.stepId,
  channel: step.channels[0]!,
  deliveredAt,
  proof: {
    kind: step.kind === 'referral' ? 'referral-receipt' : 'signature',
    reference: `proof/${step.stepId}`,
  },
  recipients: step.kind === 'posting' ? { postingBoard: '3' } : { unitIds: ['yj-1.3.1201'] },
  ...overrides,
});

const okState = (result: ReturnType<typeof recordNotice>): CaseState => {
  if (!result.ok) throw new Error(`refused: ${result.reason}`);
  return result.state;
};

/** Every step of a ladder, named as the base has it. */
const allSteps = (ladder: Ladder): LadderTuning['steps'] =>
  ladder.steps.map((step) => ({ stepId: step.stepId }));

// ---------------------------------------------------------------------------------------------------

describe('the default ladders', () => {
  const expected: Record<
    CaseType,
    {
      steps: [string, string, string, number, number, number, string[]][];
      referTo: string;
      closesWhen: string;
    }
  > = {
    'corridor-clutter': {
      steps: [
        ['dissuade', 'dissuade', 'committee', 72, 24, 168, ['in-person', 'written-notice']],
        ['public-posting', 'posting', 'committee', 168, 72, 336, ['posting-board']],
        ['referral', 'referral', 'street-office', 0, 0, 0, ['referral-letter']],
      ],
      referTo: 'city-management',
      closesWhen: 'remedied',
    },
    'garbage-sorting': {
      steps: [
        ['dissuade', 'dissuade', 'committee', 24, 12, 72, ['in-person', 'written-notice']],
        ['public-posting', 'posting', 'committee', 168, 72, 336, ['posting-board']],
        ['referral', 'referral', 'street-office', 0, 0, 0, ['referral-letter']],
      ],
      referTo: 'city-management',
      closesWhen: 'remedied',
    },
    'fee-arrears': {
      steps: [
        ['dissuade', 'dissuade', 'property-company', 720, 168, 1440, ['written-notice', 'in-person']],
        ['public-posting', 'posting', 'committee', 720, 168, 1440, ['posting-board']],
        [
          'formal-demand',
          'formal-demand',
          'property-company',
          720,
          360,
          1440,
          ['registered-mail', 'written-notice'],
        ],
        ['referral', 'referral', 'property-company', 0, 0, 0, ['referral-letter']],
      ],
      referTo: 'court-or-arbitration',
      closesWhen: 'paid',
    },
  };

  it.each(CASE_TYPES)('%s: the literal is what ladderSchema takes, unchanged', (caseType) => {
    const ladder = DEFAULT_LADDERS[caseType];
    expect(ladder.caseType).toBe(caseType);
    expect(ladderSchema.parse(ladder)).toEqual(ladder);
  });

  it.each(CASE_TYPES)(
    '%s: steps, actors, deadlines, bounds and channels as the law orders them',
    (caseType) => {
      const ladder = DEFAULT_LADDERS[caseType];
      const want = expected[caseType];
      expect(
        ladder.steps.map((s) => [
          s.stepId,
          s.kind,
          s.actor,
          s.deadlineHours,
          s.minDeadlineHours,
          s.maxDeadlineHours,
          s.channels,
        ]),
      ).toEqual(want.steps);
      expect(ladder.closesWhen).toBe(want.closesWhen);
      for (const step of ladder.steps) {
        expect(step.deadlineHours).toBeGreaterThanOrEqual(step.minDeadlineHours);
        expect(step.deadlineHours).toBeLessThanOrEqual(step.maxDeadlineHours);
        expect(step.channels.length).toBeGreaterThan(0);
        expect(step.basis).toMatch(/《.+》/);
        expect(step.referTo === undefined).toBe(step.kind !== 'referral');
      }
      const last = ladder.steps.at(-1)!;
      expect(last.kind).toBe('referral');
      expect(last.referTo).toBe(want.referTo);
      expect(ladder.tunedBy).toBeUndefined();
    },
  );

  it('cites the Civil Code on arrears and the Fire Protection Law on corridors', () => {
    for (const step of DEFAULT_LADDERS['fee-arrears'].steps.filter((s) => s.kind !== 'posting'))
      expect(step.basis).toContain('民法典》第九百四十四条');
    expect(DEFAULT_LADDERS['corridor-clutter'].steps[0]!.basis).toContain('消防法》第二十八条');
    expect(DEFAULT_LADDERS['garbage-sorting'].steps[0]!.basis).toContain('《上海市生活垃圾管理条例》');
  });

  it('ladderSchema refuses a ladder the law does not allow', () => {
    const base = DEFAULT_LADDERS['corridor-clutter'];
    const withSteps = (steps: LadderStep[], rest: Partial<Ladder> = {}) => ({ ...base, ...rest, steps });
    const [dissuade, posting, referral] = base.steps as [LadderStep, LadderStep, LadderStep];
    const cases: [unknown, string][] = [
      [withSteps([dissuade, referral, posting]), 'steps.1.kind'],
      [withSteps([dissuade, posting]), 'steps.1'],
      [withSteps([{ ...dissuade, deadlineHours: 200 }, posting, referral]), 'steps.0.deadlineHours'],
      [
        withSteps([dissuade, posting, { ...referral, deadlineHours: 24, maxDeadlineHours: 48 }]),
        'steps.2.deadlineHours',
      ],
      [withSteps([dissuade, posting, { ...referral, referTo: undefined }]), 'steps.2.referTo'],
      [withSteps([{ ...dissuade, referTo: 'city-management' }, posting, referral]), 'steps.0.referTo'],
      [withSteps([dissuade, { ...posting, stepId: 'dissuade' }, referral]), 'steps.1.stepId'],
      [withSteps([dissuade, posting, referral], { closesWhen: 'paid' }), 'closesWhen'],
    ];
    for (const [ladder, path] of cases) {
      const parsed = ladderSchema.safeParse(ladder);
      expect(parsed.success, path).toBe(false);
      expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toContain(path);
    }
  });
});

// ---------------------------------------------------------------------------------------------------

describe('a case from opening to its end', () => {
  it.each(CASE_TYPES)('%s: notice, then remedy closes it at the first step', (caseType) => {
    const ladder = DEFAULT_LADDERS[caseType];
    const first = ladder.steps[0]!;
    const opened = openCase(ladder, T0, 'alice', 'seen on floor 12');
    expect(opened).toEqual({
      status: 'open',
      stepIndex: 0,
      stepStartedAt: T0,
      history: [{ at: T0, actor: 'alice', kind: 'opened', stepId: 'dissuade', detail: 'seen on floor 12' }],
    });
    const delivered = plus(T0, HOUR);
    const noticed = okState(
      recordNotice(opened, ladder, noticeFor(first, delivered), plus(T0, 2 * HOUR), 'bob'),
    );
    expect(noticed.deadlineAt).toBe(plus(delivered, first.deadlineHours * HOUR));
    expect(noticed.notice?.deliveredAt).toBe(delivered);
    const closed = remedy(noticed, ladder, {
      kind: ladder.closesWhen,
      at: plus(T0, 3 * HOUR),
      actor: 'carol',
      detail: 'photo/cleared.jpg',
    });
    expect(closed.ok).toBe(true);
    if (!closed.ok) return;
    expect(closed.state.status).toBe('closed');
    expect(closed.state.closedAt).toBe(plus(T0, 3 * HOUR));
    expect(closed.state.history.map(({ at, actor, kind, stepId }) => ({ at, actor, kind, stepId }))).toEqual([
      { at: T0, actor: 'alice', kind: 'opened', stepId: 'dissuade' },
      { at: plus(T0, 2 * HOUR), actor: 'bob', kind: 'notice', stepId: 'dissuade' },
      { at: plus(T0, 3 * HOUR), actor: 'carol', kind: ladder.closesWhen, stepId: 'dissuade' },
    ]);
    expect(closed.state.history.at(-1)?.detail).toBe('photo/cleared.jpg');
    // Closed once: a second remedy, a notice and a timer are all refused or ignored.
    expect(
      remedy(closed.state, ladder, { kind: ladder.closesWhen, at: T0, actor: 'x', detail: 'again' }),
    ).toMatchObject({ ok: false, status: 409 });
    expect(
      onDeadline(
        closed.state,
        ladder,
        { stepIndex: 0, deadlineAt: noticed.deadlineAt! },
        '2030-01-01T00:00:00.000Z',
        's',
      ).changed,
    ).toBe(false);
  });

  it.each(CASE_TYPES)('%s: each deadline missed, it climbs every step to the referral', (caseType) => {
    const ladder = DEFAULT_LADDERS[caseType];
    let state = openCase(ladder, T0, 'alice');
    let clock = T0;
    const expectedHistory: { at: string; actor: string; kind: string; stepId: string }[] = [
      { at: T0, actor: 'alice', kind: 'opened', stepId: 'dissuade' },
    ];
    ladder.steps.forEach((step, index) => {
      expect(state.stepIndex).toBe(index);
      expect(state.stepStartedAt).toBe(clock);
      const delivered = plus(clock, 30 * 60_000);
      const recordedAt = plus(clock, HOUR);
      state = okState(recordNotice(state, ladder, noticeFor(step, delivered), recordedAt, `actor-${index}`));
      if (step.kind === 'referral') {
        expectedHistory.push({
          at: recordedAt,
          actor: `actor-${index}`,
          kind: 'referred',
          stepId: step.stepId,
        });
        expect(state.status).toBe('referred');
        expect(state.closedAt).toBe(recordedAt);
        expect(state.deadlineAt).toBeUndefined();
        return;
      }
      expectedHistory.push({ at: recordedAt, actor: `actor-${index}`, kind: 'notice', stepId: step.stepId });
      const deadlineAt = plus(delivered, step.deadlineHours * HOUR);
      expect(state.deadlineAt).toBe(deadlineAt);
      const moved = onDeadline(state, ladder, { stepIndex: index, deadlineAt }, deadlineAt, 'scheduler');
      expect(moved.changed).toBe(true);
      state = moved.state;
      clock = deadlineAt;
      expect(state.notice).toBeUndefined();
      expect(state.deadlineAt).toBeUndefined();
      expectedHistory.push({
        at: deadlineAt,
        actor: 'scheduler',
        kind: 'escalated',
        stepId: ladder.steps[index + 1]!.stepId,
      });
      expect(state.history.at(-1)?.detail).toContain(step.stepId);
    });
    expect(state.history.map(({ at, actor, kind, stepId }) => ({ at, actor, kind, stepId }))).toEqual(
      expectedHistory,
    );
    expect(state.history.at(-1)?.detail).toContain(ladder.steps.at(-1)!.referTo!);
    // Referred: the area's part is over.
    expect(
      remedy(state, ladder, {
        kind: ladder.closesWhen,
        at: plus(clock, 2 * HOUR),
        actor: 'x',
        detail: 'late',
      }),
    ).toMatchObject({ ok: false, status: 409 });
    expect(
      recordNotice(state, ladder, noticeFor(ladder.steps.at(-1)!, clock), plus(clock, 2 * HOUR), 'x'),
    ).toMatchObject({
      ok: false,
      status: 409,
    });
  });

  it('the deadline runs from a tuned ladder when the case opened under it', () => {
    const tuned = tuneLadder(
      DEFAULT_LADDERS['garbage-sorting'],
      {
        steps: [
          { stepId: 'dissuade', deadlineHours: 48 },
          { stepId: 'public-posting' },
          { stepId: 'referral' },
        ],
      },
      BY,
    );
    if (!tuned.ok) throw new Error('refused');
    const state = okState(
      recordNotice(
        openCase(tuned.ladder, T0, 'a'),
        tuned.ladder,
        noticeFor(tuned.ladder.steps[0]!, T0),
        T0,
        'b',
      ),
    );
    expect(state.deadlineAt).toBe(plus(T0, 48 * HOUR));
  });
});

// ---------------------------------------------------------------------------------------------------

describe('deadlineOf', () => {
  it('adds whole hours to the exact millisecond, whatever the offset written', () => {
    expect(deadlineOf('2027-01-05T09:00:00+08:00', 72)).toBe('2027-01-08T01:00:00.000Z');
    expect(deadlineOf('2027-01-05T01:00:00.123Z', 1)).toBe('2027-01-05T02:00:00.123Z');
    expect(deadlineOf('2027-03-31T23:30:00.000Z', 0)).toBe('2027-03-31T23:30:00.000Z');
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) }),
        fc.integer({ min: 0, max: 8760 }),
        (start, hours) => {
          expect(Date.parse(deadlineOf(new Date(start).toISOString(), hours)) - start).toBe(hours * HOUR);
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------------

describe('tuneLadder', () => {
  const garbage = DEFAULT_LADDERS['garbage-sorting'];
  const fees = DEFAULT_LADDERS['fee-arrears'];

  const refused = (base: Ladder, steps: LadderTuning['steps']) => {
    const result = tuneLadder(base, { steps }, BY);
    if (result.ok) throw new Error('accepted');
    return result.errors;
  };

  it('a skipped step is named', () => {
    expect(refused(garbage, [{ stepId: 'dissuade' }, { stepId: 'referral' }])).toEqual([
      { pointer: '/body/steps', detail: 'a step cannot be skipped: public-posting' },
    ]);
  });

  it('a reordered pair is refused at both indexes', () => {
    const errors = refused(garbage, [
      { stepId: 'public-posting' },
      { stepId: 'dissuade' },
      { stepId: 'referral' },
    ]);
    expect(errors.map((e) => e.pointer)).toEqual(['/body/steps/0/stepId', '/body/steps/1/stepId']);
    expect(errors[0]?.detail).toContain('cannot be moved');
  });

  it('an extra step, or one named twice, is refused at its index', () => {
    const extra = refused(garbage, [
      { stepId: 'dissuade' },
      { stepId: 'public-posting' },
      { stepId: 'warning-letter' },
      { stepId: 'referral' },
    ]);
    expect(extra).toEqual([
      { pointer: '/body/steps/2/stepId', detail: expect.stringContaining('warning-letter') },
    ]);
    const twice = refused(garbage, [
      { stepId: 'dissuade' },
      { stepId: 'dissuade' },
      { stepId: 'public-posting' },
      { stepId: 'referral' },
    ]);
    expect(twice).toEqual([{ pointer: '/body/steps/1/stepId', detail: 'dissuade is named twice' }]);
  });

  it.each(CASE_TYPES)(
    '%s: a deadline one hour outside either bound is refused naming the bounds',
    (caseType) => {
      const base = DEFAULT_LADDERS[caseType];
      base.steps.forEach((step, i) => {
        if (step.kind === 'referral') return;
        for (const deadlineHours of [step.minDeadlineHours - 1, step.maxDeadlineHours + 1]) {
          const steps = allSteps(base).map((entry, j) => (j === i ? { ...entry, deadlineHours } : entry));
          expect(refused(base, steps)).toEqual([
            {
              pointer: `/body/steps/${i}/deadlineHours`,
              detail: expect.stringContaining(
                `between ${step.minDeadlineHours} and ${step.maxDeadlineHours} hours`,
              ),
            },
          ]);
        }
        for (const deadlineHours of [step.minDeadlineHours, step.maxDeadlineHours]) {
          const steps = allSteps(base).map((entry, j) => (j === i ? { ...entry, deadlineHours } : entry));
          expect(tuneLadder(base, { steps }, BY).ok).toBe(true);
        }
      });
    },
  );

  it("a channel the step does not allow, and a referral's deadline, are refused", () => {
    const steps = allSteps(garbage);
    expect(
      refused(garbage, [{ ...steps[0]!, channels: ['in-person', 'registered-mail'] }, steps[1]!, steps[2]!]),
    ).toEqual([{ pointer: '/body/steps/0/channels', detail: expect.stringContaining('registered-mail') }]);
    expect(refused(garbage, [steps[0]!, steps[1]!, { ...steps[2]!, deadlineHours: 24 }])).toEqual([
      { pointer: '/body/steps/2/deadlineHours', detail: expect.stringContaining('no deadline') },
    ]);
  });

  it('collects every error of one tuning, not just the first', () => {
    const errors = refused(fees, [
      { stepId: 'dissuade', deadlineHours: 167 },
      { stepId: 'formal-demand', deadlineHours: 1441 },
      { stepId: 'public-posting', channels: ['in-person'] },
      { stepId: 'lawyer-letter' },
    ]);
    expect(errors.map((e) => e.pointer).sort()).toEqual(
      [
        '/body/steps', // referral skipped
        '/body/steps/0/deadlineHours',
        '/body/steps/1/deadlineHours',
        '/body/steps/1/stepId', // moved
        '/body/steps/2/channels',
        '/body/steps/2/stepId', // moved
        '/body/steps/3/stepId', // added
      ].sort(),
    );
    expect(errors.find((e) => e.pointer === '/body/steps')?.detail).toBe(
      'a step cannot be skipped: referral',
    );
  });

  it('a valid tuning changes only what it names, and not the base', () => {
    const before = structuredClone(DEFAULT_LADDERS['corridor-clutter']);
    const result = tuneLadder(
      DEFAULT_LADDERS['corridor-clutter'],
      {
        steps: [
          { stepId: 'dissuade', deadlineHours: 48, channels: ['written-notice'] },
          { stepId: 'public-posting' },
          { stepId: 'referral' },
        ],
      },
      BY,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const want = structuredClone(before);
    want.steps[0]!.deadlineHours = 48;
    want.steps[0]!.channels = ['written-notice'];
    expect(result.ladder).toEqual({ ...want, tunedBy: BY });
    expect(DEFAULT_LADDERS['corridor-clutter']).toEqual(before);
    expect(ladderSchema.parse(result.ladder)).toEqual(result.ladder);
  });

  it('the request schema is strict and takes whole hours only', () => {
    expect(
      ladderTuningSchema.safeParse({ steps: [{ stepId: 'dissuade', deadlineHours: 1.5 }] }).success,
    ).toBe(false);
    expect(ladderTuningSchema.safeParse({ steps: [{ stepId: 'dissuade', kind: 'posting' }] }).success).toBe(
      false,
    );
    expect(ladderTuningSchema.safeParse({ steps: [{ stepId: 'dissuade', channels: [] }] }).success).toBe(
      false,
    );
    expect(ladderTuningSchema.safeParse({ steps: [{ stepId: 'dissuade', channels: ['fax'] }] }).success).toBe(
      false,
    );
    expect(ladderTuningSchema.safeParse({ steps: [], extra: 1 }).success).toBe(false);
    expect(ladderTuningSchema.parse({ steps: allSteps(fees) })).toEqual({ steps: allSteps(fees) });
  });

  /** A tuning of every step with a deadline drawn from `deadline` and, maybe, a subset of the channels. */
  const tuningOf = (base: Ladder, deadline: (step: LadderStep) => fc.Arbitrary<number | undefined>) =>
    fc.tuple(
      ...base.steps.map((step) =>
        fc.record(
          {
            stepId: fc.constant(step.stepId),
            deadlineHours: step.kind === 'referral' ? fc.constant(undefined) : deadline(step),
            channels: fc.option(fc.subarray(step.channels, { minLength: 1 }), { nil: undefined }),
          },
          { requiredKeys: ['stepId'] },
        ),
      ),
    );

  it('property: any tuning with deadlines inside the bounds is accepted, steps in order', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CASE_TYPES).chain((caseType) =>
          fc.tuple(
            fc.constant(caseType),
            tuningOf(DEFAULT_LADDERS[caseType], (step) =>
              fc.option(fc.integer({ min: step.minDeadlineHours, max: step.maxDeadlineHours }), {
                nil: undefined,
              }),
            ),
          ),
        ),
        ([caseType, steps]) => {
          const base = DEFAULT_LADDERS[caseType];
          const result = tuneLadder(
            base,
            {
              steps: steps.map(
                (s) =>
                  Object.fromEntries(
                    Object.entries(s).filter(([, v]) => v !== undefined),
                  ) as LadderTuning['steps'][number],
              ),
            },
            BY,
          );
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          expect(result.ladder.steps.map((s) => s.stepId)).toEqual(base.steps.map((s) => s.stepId));
          result.ladder.steps.forEach((step, i) => {
            expect(step.deadlineHours).toBe(steps[i]!.deadlineHours ?? base.steps[i]!.deadlineHours);
            expect(step.channels).toEqual(steps[i]!.channels ?? base.steps[i]!.channels);
            expect({ ...step, deadlineHours: 0, channels: [] }).toEqual({
              ...base.steps[i]!,
              deadlineHours: 0,
              channels: [],
            });
          });
          expect(ladderSchema.safeParse(result.ladder).success).toBe(true);
        },
      ),
    );
  });

  it('property: a deadline drawn outside the bounds is refused at that step', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CASE_TYPES).chain((caseType) => {
          const base = DEFAULT_LADDERS[caseType];
          const tunable = base.steps.flatMap((step, i) => (step.kind === 'referral' ? [] : [i]));
          return fc.tuple(
            fc.constant(caseType),
            fc.constantFrom(...tunable).chain((i) => {
              const step = base.steps[i]!;
              return fc.tuple(
                fc.constant(i),
                fc.oneof(
                  fc.integer({ min: 0, max: step.minDeadlineHours - 1 }),
                  fc.integer({ min: step.maxDeadlineHours + 1, max: 8760 }),
                ),
              );
            }),
          );
        }),
        ([caseType, [i, deadlineHours]]) => {
          const base = DEFAULT_LADDERS[caseType];
          const steps = allSteps(base).map((entry, j) => (j === i ? { ...entry, deadlineHours } : entry));
          const result = tuneLadder(base, { steps }, BY);
          expect(result.ok).toBe(false);
          if (result.ok) return;
          expect(result.errors.map((e) => e.pointer)).toEqual([`/body/steps/${i}/deadlineHours`]);
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------------

describe('onDeadline', () => {
  const ladder = DEFAULT_LADDERS['corridor-clutter'];
  const delivered = plus(T0, HOUR);
  const atFirst = okState(
    recordNotice(openCase(ladder, T0, 'a'), ladder, noticeFor(ladder.steps[0]!, delivered), delivered, 'b'),
  );
  const deadlineAt = atFirst.deadlineAt!;

  it('exactly at the deadline the next step begins', () => {
    const moved = onDeadline(atFirst, ladder, { stepIndex: 0, deadlineAt }, deadlineAt, 'scheduler');
    expect(moved.changed).toBe(true);
    expect(moved.state).toEqual({
      status: 'open',
      stepIndex: 1,
      stepStartedAt: deadlineAt,
      history: [
        ...atFirst.history,
        {
          at: deadlineAt,
          actor: 'scheduler',
          kind: 'escalated',
          stepId: 'public-posting',
          detail: `the deadline of dissuade (${deadlineAt}) passed; now public-posting`,
        },
      ],
    });
  });

  it('property: the same timer twice, a stale one or an early one changes nothing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 * 24 * HOUR }),
        fc.integer({ min: 1, max: 30 * 24 * HOUR }),
        (late, off) => {
          const now = plus(deadlineAt, late);
          const once = onDeadline(atFirst, ladder, { stepIndex: 0, deadlineAt }, now, 'scheduler');
          expect(once.changed).toBe(true);
          const twice = onDeadline(
            once.state,
            ladder,
            { stepIndex: 0, deadlineAt },
            plus(now, off),
            'scheduler',
          );
          expect(twice).toEqual({ state: once.state, changed: false });
          expect(twice.state).toBe(once.state);

          for (const stale of [
            { stepIndex: 1, deadlineAt },
            { stepIndex: 0, deadlineAt: plus(deadlineAt, -off) },
            { stepIndex: 0, deadlineAt: plus(deadlineAt, off) },
          ]) {
            const result = onDeadline(atFirst, ladder, stale, plus(now, off), 'scheduler');
            expect(result.changed).toBe(false);
            expect(result.state).toBe(atFirst);
          }
          const early = onDeadline(
            atFirst,
            ladder,
            { stepIndex: 0, deadlineAt },
            plus(deadlineAt, -off),
            'scheduler',
          );
          expect(early).toEqual({ state: atFirst, changed: false });
        },
      ),
    );
  });

  it('a step whose notice is not recorded, or a closed case, never escalates', () => {
    const fresh = openCase(ladder, T0, 'a');
    expect(onDeadline(fresh, ladder, { stepIndex: 0, deadlineAt }, plus(deadlineAt, HOUR), 's').changed).toBe(
      false,
    );
    const closed = remedy(atFirst, ladder, { kind: 'remedied', at: delivered, actor: 'c', detail: 'ok' });
    if (!closed.ok) throw new Error('refused');
    expect(
      onDeadline(closed.state, ladder, { stepIndex: 0, deadlineAt }, plus(deadlineAt, HOUR), 's').changed,
    ).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------

describe('recordNotice refusals', () => {
  const ladder = DEFAULT_LADDERS['corridor-clutter'];
  const [dissuade, posting] = ladder.steps as [LadderStep, LadderStep, LadderStep];
  const opened = openCase(ladder, T0, 'a');
  const at = plus(T0, 2 * HOUR);
  const refusal = (state: CaseState, notice: Notice, when = at) => {
    const result = recordNotice(state, ladder, notice, when, 'b');
    if (result.ok) throw new Error('accepted');
    return result;
  };

  it('a later step cannot skip the current one; an earlier one is past; an unknown one is no step', () => {
    expect(refusal(opened, noticeFor(posting, T0))).toMatchObject({
      status: 409,
      pointer: '/body/stepId',
      reason: expect.stringContaining('a step cannot be skipped'),
    });
    const noticed = okState(recordNotice(opened, ladder, noticeFor(dissuade, T0), T0, 'b'));
    const escalated = onDeadline(
      noticed,
      ladder,
      { stepIndex: 0, deadlineAt: noticed.deadlineAt! },
      noticed.deadlineAt!,
      's',
    ).state;
    expect(
      refusal(escalated, noticeFor(dissuade, noticed.deadlineAt!), plus(noticed.deadlineAt!, HOUR)),
    ).toMatchObject({
      status: 409,
      pointer: '/body/stepId',
      reason: expect.stringContaining('already past'),
    });
    expect(refusal(opened, { ...noticeFor(dissuade, T0), stepId: 'warning' })).toMatchObject({
      status: 400,
      pointer: '/body/stepId',
    });
  });

  it('a second notice for the step, or one on a case that is not open, is a conflict', () => {
    const noticed = okState(recordNotice(opened, ladder, noticeFor(dissuade, T0), T0, 'b'));
    expect(refusal(noticed, noticeFor(dissuade, plus(T0, HOUR)))).toMatchObject({
      status: 409,
      pointer: '/body/stepId',
      reason: expect.stringContaining('recorded already'),
    });
    const closed = remedy(opened, ladder, { kind: 'remedied', at: T0, actor: 'c', detail: 'gone' });
    if (!closed.ok) throw new Error('refused');
    expect(refusal(closed.state, noticeFor(dissuade, T0))).toMatchObject({ status: 409, pointer: '/body' });
  });

  it('a channel the step does not allow is refused', () => {
    expect(refusal(opened, noticeFor(dissuade, T0, { channel: 'registered-mail' }))).toMatchObject({
      status: 400,
      pointer: '/body/channel',
    });
    expect(refusal(opened, noticeFor(dissuade, T0, { channel: 'posting-board' }))).toMatchObject({
      status: 400,
      pointer: '/body/channel',
    });
  });

  it('a delivery after the recording (in the future) or before the step began is refused', () => {
    expect(refusal(opened, noticeFor(dissuade, plus(at, 1)))).toMatchObject({
      status: 400,
      pointer: '/body/deliveredAt',
      reason: expect.stringContaining('in the future'),
    });
    expect(refusal(opened, noticeFor(dissuade, plus(T0, -1)))).toMatchObject({
      status: 400,
      pointer: '/body/deliveredAt',
    });
    // The bounds themselves are taken: delivered as the step began, recorded the same instant.
    expect(recordNotice(opened, ladder, noticeFor(dissuade, T0), T0, 'b').ok).toBe(true);
    expect(recordNotice(opened, ladder, noticeFor(dissuade, at), at, 'b').ok).toBe(true);
    // The same instant with an offset is not the future.
    expect(recordNotice(opened, ladder, noticeFor(dissuade, '2027-01-05T11:00:00+08:00'), at, 'b').ok).toBe(
      true,
    );
  });

  it('refusals leave the state as it was', () => {
    const before = structuredClone(opened);
    refusal(opened, noticeFor(dissuade, T0, { channel: 'registered-mail' }));
    expect(opened).toEqual(before);
  });
});

describe('remedy', () => {
  it('closes only in the kind of the ladder', () => {
    const fees = DEFAULT_LADDERS['fee-arrears'];
    const garbage = DEFAULT_LADDERS['garbage-sorting'];
    expect(
      remedy(openCase(fees, T0, 'a'), fees, { kind: 'remedied', at: T0, actor: 'b', detail: 'x' }),
    ).toMatchObject({
      ok: false,
      status: 400,
      pointer: '/body/kind',
    });
    expect(
      remedy(openCase(garbage, T0, 'a'), garbage, { kind: 'paid', at: T0, actor: 'b', detail: 'x' }),
    ).toMatchObject({
      ok: false,
      status: 400,
      pointer: '/body/kind',
    });
    expect(
      remedy(openCase(fees, T0, 'a'), fees, { kind: 'paid', at: T0, actor: 'b', detail: 'receipt 12' }),
    ).toMatchObject({
      ok: true,
      state: { status: 'closed', closedAt: T0 },
    });
  });
});

describe('noticeSchema', () => {
  const body = {
    stepId: 'dissuade',
    channel: 'in-person',
    deliveredAt: '2027-01-05T09:00:00+08:00',
    proof: { kind: 'signature', reference: 'proof/1.jpg' },
    recipients: { unitIds: ['yj-1.3.1201'] },
  };

  it('takes either the households or a posting board, as the Notice union, in UTC', () => {
    expect(noticeSchema.parse(body)).toEqual({ ...body, deliveredAt: '2027-01-05T01:00:00.000Z' });
    expect(noticeSchema.parse({ ...body, recipients: { postingBoard: '3' } }).recipients).toEqual({
      postingBoard: '3',
    });
  });

  it('refuses both, neither, an unknown field, a proof kind or a time without offset', () => {
    for (const bad of [
      { ...body, recipients: { unitIds: ['u'], postingBoard: '3' } },
      { ...body, recipients: {} },
      { ...body, recipients: { unitIds: [] } },
      { ...body, recipients: { building: '3' } },
      { ...body, extra: true },
      { ...body, proof: { kind: 'selfie', reference: 'x' } },
      { ...body, proof: { kind: 'photo', reference: '' } },
      { ...body, deliveredAt: '2027-01-05 09:00' },
      { ...body, channel: 'fax' },
    ])
      expect(noticeSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------

const covenant = (covenantId: string, version: number, rules: Covenant['rules']): Covenant =>
  covenantSchema.parse({
    covenantId,
    version,
    kind: 'management-covenant',
    title: `${covenantId} v${version}`,
    articles: [...new Set(rules.map((r) => r.articleId))].map((articleId) => ({
      articleId,
      text: `第${articleId}条`,
    })),
    rules,
  });

describe('covenantSchema', () => {
  const base = {
    covenantId: 'yj-code',
    version: 1,
    kind: 'waste-sorting',
    title: '耀江花园住户守则',
    articles: [
      { articleId: 'art-1', text: '不得占用楼道' },
      { articleId: 'art-2', text: '垃圾分类投放' },
    ],
    rules: [{ ruleId: 'corridor', caseType: 'corridor-clutter', articleId: 'art-1' }],
  };

  it('takes a covenant and refuses repeated ids and a rule citing no article, with paths', () => {
    expect(covenantSchema.parse(base)).toEqual(base);
    const pathsOf = (value: unknown) =>
      covenantSchema.safeParse(value).error?.issues.map((i) => i.path.join('.'));
    expect(pathsOf({ ...base, articles: [...base.articles, { articleId: 'art-1', text: 'x' }] })).toEqual([
      'articles.2.articleId',
    ]);
    expect(pathsOf({ ...base, rules: [...base.rules, { ...base.rules[0], articleId: 'art-2' }] })).toEqual([
      'rules.1.ruleId',
    ]);
    expect(pathsOf({ ...base, rules: [{ ...base.rules[0], articleId: 'art-9' }] })).toEqual([
      'rules.0.articleId',
    ]);
    expect(covenantSchema.safeParse({ ...base, kind: 'noise' }).success).toBe(false);
    expect(covenantSchema.safeParse({ ...base, version: 0 }).success).toBe(false);
    expect(covenantSchema.safeParse({ ...base, articles: [] }).success).toBe(false);
    expect(covenantSchema.safeParse({ ...base, extra: 1 }).success).toBe(false);
  });
});

describe('ruleInForce and namedRuleInForce', () => {
  const A1 = '2027-01-10T08:00:00.000Z';
  const F1 = '2027-02-01T08:00:00.000Z';
  const A2 = '2027-03-01T08:00:00.000Z';
  const covenants = [
    covenant('yj-code', 1, [
      { ruleId: 'sorting', caseType: 'garbage-sorting', articleId: 'art-2' },
      { ruleId: 'corridor', caseType: 'corridor-clutter', articleId: 'art-1' },
    ]),
    covenant('yj-code', 2, [{ ruleId: 'corridor-2', caseType: 'corridor-clutter', articleId: 'art-1' }]),
    covenant('yj-fees', 1, [
      { ruleId: 'fees', caseType: 'fee-arrears', articleId: 'art-7' },
      { ruleId: 'bins', caseType: 'garbage-sorting', articleId: 'art-8' },
    ]),
  ];
  const adoption = (covenantId: string, version: number, adoptedOn: string): Adoption => ({
    areaId: 'yj-1',
    covenantId,
    version,
    meetingId: `m-${covenantId}-${version}`,
    matterId: 'adopt',
    adoptedOn,
  });
  const adoptions = [adoption('yj-code', 1, A1), adoption('yj-fees', 1, F1), adoption('yj-code', 2, A2)];
  const justBefore = (iso: string) => plus(iso, -1);

  it('a rule is not in force a millisecond before its adoption, and is at it', () => {
    expect(ruleInForce(adoptions, covenants, 'corridor-clutter', justBefore(A1))).toMatchObject({
      ok: false,
    });
    expect(ruleInForce(adoptions, covenants, 'corridor-clutter', A1)).toEqual({
      ok: true,
      covenantId: 'yj-code',
      version: 1,
      ruleId: 'corridor',
      caseType: 'corridor-clutter',
      articleId: 'art-1',
      adoptedOn: A1,
    });
    expect(namedRuleInForce(adoptions, covenants, 'corridor', justBefore(A1))).toMatchObject({ ok: false });
    expect(namedRuleInForce(adoptions, covenants, 'corridor', A1)).toMatchObject({ ok: true, version: 1 });
  });

  it('compares instants, not strings: an adoption written with +08:00', () => {
    const local = [adoption('yj-code', 1, '2027-01-10T16:00:00+08:00')];
    expect(ruleInForce(local, covenants, 'corridor-clutter', A1)).toMatchObject({
      ok: true,
      ruleId: 'corridor',
    });
    expect(ruleInForce(local, covenants, 'corridor-clutter', justBefore(A1)).ok).toBe(false);
  });

  it('a later version replaces the earlier only from its own adoption', () => {
    expect(ruleInForce(adoptions, covenants, 'corridor-clutter', justBefore(A2))).toMatchObject({
      ok: true,
      version: 1,
      ruleId: 'corridor',
    });
    expect(ruleInForce(adoptions, covenants, 'corridor-clutter', A2)).toMatchObject({
      ok: true,
      version: 2,
      ruleId: 'corridor-2',
      adoptedOn: A2,
    });
    expect(namedRuleInForce(adoptions, covenants, 'sorting', justBefore(A2))).toMatchObject({
      ok: true,
      version: 1,
    });
    expect(namedRuleInForce(adoptions, covenants, 'corridor-2', A2)).toMatchObject({ ok: true, version: 2 });
  });

  it('the reasons tell unknown, not yet and no longer apart', () => {
    const reason = (ruleId: string, at: string) => {
      const found = namedRuleInForce(adoptions, covenants, ruleId, at);
      if (found.ok) throw new Error('in force');
      return found.reason;
    };
    expect(reason('parking', A2)).toContain('in no covenant version');
    expect(reason('corridor', justBefore(A1))).toContain(`only from ${A1}`);
    expect(reason('corridor-2', plus(A1, 1))).toContain(`only from ${A2}`);
    expect(reason('sorting', A2)).toContain('no longer');
    expect(reason('sorting', A2)).toContain(`v2 in force from ${A2}`);
    expect(reason('corridor', A2)).toContain('no longer');
  });

  it('adoptions of different covenants are independent', () => {
    // yj-code v1 governs sorting first (covenantId order) until v2, which drops it; then yj-fees does.
    expect(ruleInForce(adoptions, covenants, 'garbage-sorting', F1)).toMatchObject({
      covenantId: 'yj-code',
      ruleId: 'sorting',
    });
    expect(ruleInForce(adoptions, covenants, 'garbage-sorting', A2)).toMatchObject({
      covenantId: 'yj-fees',
      ruleId: 'bins',
    });
    // yj-code v2 does not replace yj-fees v1.
    expect(ruleInForce(adoptions, covenants, 'fee-arrears', A2)).toMatchObject({
      ok: true,
      covenantId: 'yj-fees',
      version: 1,
    });
    expect(ruleInForce(adoptions, covenants, 'fee-arrears', justBefore(F1))).toMatchObject({ ok: false });
    expect(namedRuleInForce(adoptions, covenants, 'fees', A2)).toMatchObject({ ok: true, adoptedOn: F1 });
    // The order the store lists adoptions in does not matter.
    for (const at of [A1, F1, A2, justBefore(A2)])
      for (const caseType of CASE_TYPES)
        expect(ruleInForce([...adoptions].reverse(), covenants, caseType, at)).toEqual(
          ruleInForce(adoptions, covenants, caseType, at),
        );
  });

  it('takes the first rule by ruleId within a covenant; a version without its text governs nothing', () => {
    const two = [
      covenant('x-code', 1, [
        { ruleId: 'z-corridor', caseType: 'corridor-clutter', articleId: 'a1' },
        { ruleId: 'a-corridor', caseType: 'corridor-clutter', articleId: 'a1' },
      ]),
    ];
    expect(ruleInForce([adoption('x-code', 1, A1)], two, 'corridor-clutter', A1)).toMatchObject({
      ruleId: 'a-corridor',
    });
    expect(ruleInForce([adoption('x-code', 2, A1)], two, 'corridor-clutter', A1)).toMatchObject({
      ok: false,
    });
    expect(ruleInForce([], two, 'corridor-clutter', A1)).toMatchObject({ ok: false });
  });

  it('two versions adopted at the same instant: the higher one is in force, in any order', () => {
    const same = [adoption('yj-code', 2, A1), adoption('yj-code', 1, A1)];
    for (const list of [same, [...same].reverse()])
      expect(ruleInForce(list, covenants, 'corridor-clutter', A1)).toMatchObject({
        version: 2,
        ruleId: 'corridor-2',
      });
  });
});

// ---------------------------------------------------------------------------------------------------

describe('caseStatistics', () => {
  const DAY = 24 * HOUR;
  const summary = (
    caseType: CaseType,
    status: CaseSummary['status'],
    stepIndex: number,
    days?: number,
  ): CaseSummary => ({
    caseType,
    status,
    stepIndex,
    openedAt: T0,
    ...(days === undefined ? {} : { closedAt: plus(T0, days * DAY) }),
  });

  it('counts by type and outcome, with the median days to close', () => {
    const stats = caseStatistics([
      summary('corridor-clutter', 'closed', 0, 1),
      summary('corridor-clutter', 'closed', 1, 3),
      summary('corridor-clutter', 'closed', 0, 2.25),
      summary('corridor-clutter', 'open', 1),
      summary('corridor-clutter', 'referred', 2, 20),
      summary('garbage-sorting', 'closed', 0, 10 / 24),
      summary('garbage-sorting', 'closed', 1, 20 / 24),
      summary('fee-arrears', 'open', 0),
      summary('fee-arrears', 'open', 2),
    ]);
    expect(stats).toEqual({
      total: 9,
      byType: {
        // median of 1, 2.25, 3 days = 2.25 → 2.3; the referred case is not closed
        'corridor-clutter': {
          opened: 5,
          open: 1,
          closed: 3,
          referred: 1,
          closedAtFirstStep: 2,
          medianDaysToClose: 2.3,
        },
        // (10 h + 20 h) / 2 = 15 h = 0.625 days → 0.6
        'garbage-sorting': {
          opened: 2,
          open: 0,
          closed: 2,
          referred: 0,
          closedAtFirstStep: 1,
          medianDaysToClose: 0.6,
        },
        'fee-arrears': {
          opened: 2,
          open: 2,
          closed: 0,
          referred: 0,
          closedAtFirstStep: 0,
          medianDaysToClose: null,
        },
      },
    });
  });

  it('has null medians and zeros with nothing closed', () => {
    const empty = caseStatistics([]);
    expect(empty.total).toBe(0);
    for (const caseType of CASE_TYPES)
      expect(empty.byType[caseType]).toEqual({
        opened: 0,
        open: 0,
        closed: 0,
        referred: 0,
        closedAtFirstStep: 0,
        medianDaysToClose: null,
      });
  });
});
