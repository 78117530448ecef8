import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../shared/errors.js';
import {
  absenceDueAt,
  acknowledge,
  advancesWatermark,
  awaitsHandleDeadline,
  type ConditionAction,
  type ConditionState,
  clearBySensor,
  close,
  dispatch,
  feedback,
  freeSpaces,
  handle,
  onAbsenceCheck,
  onDeadline,
  onGraceElapsed,
  onSignal,
  onViolationClosed,
  openViolation,
  type SignalMessage,
  STATUS_RANK,
  type Violation,
  ViolationTransitionError,
  verify,
  violationIdFor,
  watchForSilence,
  withWatermark,
} from './engine.js';
import { applyOverride, SCENARIOS, type Scenario } from './scenarios.js';

const byId = (id: string): Scenario => {
  const scenario = SCENARIOS.find((s) => s.scenarioId === id);
  if (!scenario) throw new Error(`no scenario ${id}`);
  return structuredClone(scenario);
};

const T0 = Date.UTC(2026, 10, 26, 1, 0, 0);
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();
const THING = 'fl-geomag-0001';
const msg = (seconds: number, fields: Record<string, unknown>, seq?: number): SignalMessage => ({
  thingName: THING,
  observedAt: at(seconds),
  ...(seq === undefined ? {} : { seq }),
  fields,
});
const kinds = (actions: ConditionAction[]) => actions.map((a) => a.kind);
const opens = (actions: ConditionAction[]) => actions.filter((a) => a.kind === 'open-violation').length;

/** Feeds messages in order, threading the state; returns the final state and every action. */
const run = (scenario: Scenario, messages: SignalMessage[], start?: ConditionState) => {
  let state = start;
  const actions: ConditionAction[] = [];
  for (const message of messages) {
    const result = onSignal(scenario, state, message);
    state = result.state;
    actions.push(...result.actions);
  }
  return { state, actions };
};

describe('the fire-lane story', () => {
  const fireLane = byId('fire-lane-occupied');

  it('park → pending → grace elapsed → open; leave after → clear with autoVerify', () => {
    const parked = onSignal(fireLane, undefined, msg(0, { occupied: true }, 1));
    expect(parked.state).toMatchObject({ status: 'pending', since: at(0), graceUntil: at(300), lastSeq: 1 });
    expect(parked.actions).toEqual([{ kind: 'schedule-grace', at: at(300) }]);

    const stillThere = onSignal(fireLane, parked.state, msg(120, { occupied: true }, 2));
    expect(stillThere.actions).toEqual([{ kind: 'ignore', reason: 'no-change' }]);
    expect(stillThere.state.graceUntil).toBe(at(300));

    const violationId = violationIdFor('fire-lane-occupied', THING, at(0));
    const elapsed = onGraceElapsed(fireLane, stillThere.state, at(300));
    expect(elapsed.state).toMatchObject({ status: 'active', violationId, since: at(0) });
    expect(elapsed.state.graceUntil).toBeUndefined();
    expect(elapsed.actions).toEqual([{ kind: 'open-violation', observedAt: at(0), violationId }]);

    const left = onSignal(fireLane, elapsed.state, msg(900, { occupied: false }, 3));
    expect(left.state).toMatchObject({ status: 'idle', since: at(900) });
    expect(left.state.violationId).toBeUndefined();
    expect(left.actions).toEqual([{ kind: 'clear', observedAt: at(900), violationId, autoVerify: true }]);
  });

  it('leave within grace → the timer is cancelled and nothing opens, even when it fires anyway', () => {
    const parked = onSignal(fireLane, undefined, msg(0, { occupied: true }, 1));
    const left = onSignal(fireLane, parked.state, msg(200, { occupied: false }, 2));
    expect(left.state.status).toBe('idle');
    expect(left.actions).toEqual([{ kind: 'cancel-grace' }]);
    const late = onGraceElapsed(fireLane, left.state, at(300));
    expect(late).toEqual({ state: left.state, actions: [{ kind: 'ignore', reason: 'no-change' }] });
  });

  it("an earlier episode's timer does not open the next episode early", () => {
    const { state } = run(fireLane, [
      msg(0, { occupied: true }, 1),
      msg(100, { occupied: false }, 2),
      msg(200, { occupied: true }, 3),
    ]);
    expect(state?.graceUntil).toBe(at(500));
    expect(onGraceElapsed(fireLane, state!, at(300)).actions).toEqual([
      { kind: 'ignore', reason: 'no-change' },
    ]);
    expect(opens(onGraceElapsed(fireLane, state!, at(500)).actions)).toBe(1);
  });

  it('a repeated timer for an active condition does nothing', () => {
    const parked = onSignal(fireLane, undefined, msg(0, { occupied: true }, 1));
    const once = onGraceElapsed(fireLane, parked.state, at(300));
    const twice = onGraceElapsed(fireLane, once.state, at(301));
    expect(twice).toEqual({ state: once.state, actions: [{ kind: 'ignore', reason: 'no-change' }] });
  });

  it('a grace of 0 opens at once', () => {
    const strict = applyOverride(fireLane, { graceSeconds: 0 });
    const result = onSignal(strict, undefined, msg(0, { occupied: true }, 1));
    expect(result.state.status).toBe('active');
    expect(kinds(result.actions)).toEqual(['open-violation']);
  });

  it('a disabled scenario ignores messages and drops a pending timer', () => {
    const disabled = applyOverride(fireLane, { enabled: false });
    expect(onSignal(disabled, undefined, msg(0, { occupied: true }, 1)).actions).toEqual([
      { kind: 'ignore', reason: 'disabled' },
    ]);
    const pending = onSignal(fireLane, undefined, msg(0, { occupied: true }, 1)).state;
    const fired = onGraceElapsed(disabled, pending, at(300));
    expect(fired.state.status).toBe('idle');
    expect(fired.actions).toEqual([{ kind: 'ignore', reason: 'disabled' }]);
  });
});

describe('violationIdFor', () => {
  it('is deterministic, readable and free of dots and slashes', () => {
    const id = violationIdFor('fire-lane-occupied', 'thing:1_a', '2026-11-26T09:00:00+08:00');
    expect(id).toBe('fire-lane-occupied~thing:1_a~20261126T010000000Z');
    expect(violationIdFor('fire-lane-occupied', 'thing:1_a', at(0))).toBe(id);
    expect(id).not.toMatch(/[./]/);
  });
});

describe('onSignal ordering', () => {
  const smoke = byId('smoke-alarm');
  const active = onSignal(smoke, undefined, msg(100, { smoke: true }, 5)).state;

  it.each([
    ['the same seq', msg(101, { smoke: false }, 5), 'duplicate'],
    ['a lower seq', msg(200, { smoke: false }, 4), 'stale'],
    ['an earlier device time', msg(99, { smoke: false }, 6), 'stale'],
    ['an earlier device time without seq', msg(99, { smoke: false }), 'stale'],
  ] as const)('ignores %s, state unchanged', (_name, message, reason) => {
    expect(onSignal(smoke, active, message)).toEqual({
      state: active,
      actions: [{ kind: 'ignore', reason }],
    });
  });

  it('asks to resume the case when the message that began the active episode comes again', () => {
    const resume = [{ kind: 'resume-violation', observedAt: at(100), violationId: active.violationId }];
    expect(active.violationId).toBe(violationIdFor('smoke-alarm', THING, at(100)));
    // A redelivery of it, as such (same seq) or without its seq, changes no state.
    expect(onSignal(smoke, active, msg(100, { smoke: true }, 5))).toEqual({ state: active, actions: resume });
    expect(onSignal(smoke, active, msg(100, { smoke: true }))).toMatchObject({ actions: resume });
    // Late, after a newer message: still the episode's first message, still resumed.
    const later = onSignal(smoke, active, msg(150, { smoke: true }, 6));
    expect(kinds(later.actions)).toEqual(['ignore']);
    expect(onSignal(smoke, later.state, msg(100, { smoke: true }, 5))).toEqual({
      state: later.state,
      actions: resume,
    });
    // Once the episode is over, it is just stale.
    const cleared = onSignal(smoke, later.state, msg(200, { smoke: false }, 7));
    expect(onSignal(smoke, cleared.state, msg(100, { smoke: true }, 5)).actions).toEqual([
      { kind: 'ignore', reason: 'stale' },
    ]);
  });

  it('resumes nothing that has no case: a pending grace period, a guidance space, a disabled scenario', () => {
    const lane = byId('fire-lane-occupied');
    const pending = onSignal(lane, undefined, msg(100, { occupied: true }, 1)).state;
    expect(pending.status).toBe('pending');
    expect(onSignal(lane, pending, msg(100, { occupied: true }, 1)).actions).toEqual([
      { kind: 'ignore', reason: 'duplicate' },
    ]);
    const guidance = SCENARIOS.find((scenario) => scenario.guidance);
    if (guidance === undefined) throw new Error('no guidance scenario');
    const taken = onSignal(guidance, undefined, msg(100, { occupied: true }, 1));
    expect(kinds(taken.actions)).toEqual(['guidance']);
    expect(kinds(onSignal(guidance, taken.state, msg(100, { occupied: true }, 1)).actions)).toEqual([
      'ignore',
    ]);
    const off = { ...smoke, enabled: false };
    expect(onSignal(off, active, msg(100, { smoke: true }, 5)).actions).toEqual([
      { kind: 'ignore', reason: 'disabled' },
    ]);
  });

  it('applies a message at the same device time without seq (a redelivery of it changes nothing)', () => {
    const cleared = onSignal(smoke, active, msg(100, { smoke: false }));
    expect(kinds(cleared.actions)).toEqual(['clear']);
    expect(onSignal(smoke, cleared.state, msg(100, { smoke: false })).actions).toEqual([
      { kind: 'ignore', reason: 'no-change' },
    ]);
  });

  it('rejects a message for another thing', () => {
    expect(() => onSignal(smoke, active, { ...msg(200, {}), thingName: 'other' })).toThrow(TypeError);
  });
});

describe('watermarks kept apart from the condition (what the ingest loop stores)', () => {
  const lane = applyOverride(byId('fire-lane-occupied'), { graceSeconds: 0 });

  it('makes a park older than an already-seen free message stale', () => {
    const free = onSignal(lane, undefined, msg(10, { occupied: false }, 2));
    expect(kinds(free.actions)).toEqual(['ignore']);
    expect(advancesWatermark(undefined, free.state)).toBe(true);
    const merged = withWatermark(lane, THING, undefined, free.state);
    expect(onSignal(lane, merged, msg(9, { occupied: true }, 1)).actions).toEqual([
      { kind: 'ignore', reason: 'stale' },
    ]);
  });

  it('keeps the stored state when the watermark is not later', () => {
    const active = onSignal(lane, undefined, msg(10, { occupied: true }, 5)).state;
    expect(withWatermark(lane, THING, active, { lastObservedAt: at(9), lastSeq: 9 })).toBe(active);
    expect(withWatermark(lane, THING, active, undefined)).toBe(active);
    expect(withWatermark(lane, THING, active, { lastObservedAt: at(10), lastSeq: 6 })).toEqual({
      ...active,
      lastSeq: 6,
    });
  });

  it('in any arrival order, acts exactly as the in-order fold of the messages that were newest on arrival', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
        fc.infiniteStream(fc.nat()),
        (occupancy, randomness) => {
          const messages = occupancy.map((occupied, i) => msg(i, { occupied }, i + 1));
          // A random arrival order (Fisher–Yates over the stream).
          const order = [...messages];
          const random = randomness[Symbol.iterator]();
          for (let i = order.length - 1; i > 0; i--) {
            const j = (random.next().value as number) % (i + 1);
            [order[i], order[j]] = [order[j] as SignalMessage, order[i] as SignalMessage];
          }
          let stored: ConditionState | undefined;
          let seen: ConditionState | undefined;
          let newest = 0;
          const newestOnArrival: SignalMessage[] = [];
          for (const message of order) {
            const merged = withWatermark(lane, THING, stored, seen);
            const result = onSignal(lane, merged, message);
            const steps = result.actions.filter((action) => action.kind !== 'ignore');
            const seq = message.seq as number;
            if (seq <= newest) expect(steps).toEqual([]);
            else newestOnArrival.push(message);
            newest = Math.max(newest, seq);
            if (steps.length > 0) stored = result.state;
            else if (advancesWatermark(merged, result.state)) seen = result.state;
          }
          const expected = run(lane, newestOnArrival);
          expect(withWatermark(lane, THING, stored, seen)?.status ?? 'idle').toBe(expected.state?.status);
          expect(stored?.violationId).toBe(
            expected.state?.status === 'active' ? expected.state.violationId : stored?.violationId,
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('instant scenarios', () => {
  it.each([
    ['smoke-alarm', { smoke: true }, { smoke: false }, false],
    ['street-light-fault', { ok: false, fault: 'lamp' }, { ok: true }, true],
    ['charger-fault', { state: 'flying-wire' }, { state: 'ok' }, true],
    ['gate-forced-open', { state: 'forced-open' }, { state: 'closed' }, false],
    ['corridor-clutter', { event: 'corridor-clutter' }, { event: 'clear' }, false],
  ] as const)('%s opens on %j, stays quiet on a repeat, clears on %j', (id, on, off, autoVerify) => {
    const scenario = byId(id);
    const { state, actions } = run(scenario, [msg(0, on, 1), msg(10, on, 2), msg(20, off, 3)]);
    expect(kinds(actions)).toEqual(['open-violation', 'ignore', 'clear']);
    expect(actions[2]).toMatchObject({ autoVerify });
    expect(state?.status).toBe('idle');
  });

  it('e-bike in the elevator: opens and holds the doors; another camera event is neutral', () => {
    const eBike = byId('e-bike-in-elevator');
    const opened = onSignal(eBike, undefined, msg(0, { event: 'e-bike-detected' }, 1));
    expect(opened.actions).toEqual([
      expect.objectContaining({ kind: 'open-violation' }),
      { kind: 'command', command: 'hold-doors', payload: { seconds: 60 } },
    ]);
    expect(onSignal(eBike, opened.state, msg(5, { event: 'person' }, 2)).state.status).toBe('active');
  });

  it('a garbage bin with no off message re-arms when the inspector closes the case', () => {
    const bins = byId('garbage-sorting');
    const first = run(bins, [msg(0, { event: 'sorting-violation', bin: 'kitchen' }, 1)]);
    const repeat = onSignal(bins, first.state, msg(60, { event: 'sorting-violation', bin: 'residual' }, 2));
    expect(opens(repeat.actions)).toBe(0);
    const rearmed = onViolationClosed(repeat.state, first.state!.violationId!, at(120));
    expect(rearmed.status).toBe('idle');
    expect(onViolationClosed(rearmed, 'some-other', at(130))).toBe(rearmed);
    expect(opens(onSignal(bins, rearmed, msg(180, { event: 'sorting-violation' }, 3)).actions)).toBe(1);
  });
});

describe('parking guidance', () => {
  const guidance = byId('parking-guidance');

  it('reports occupancy changes and never opens a violation', () => {
    const { state, actions } = run(guidance, [
      msg(0, { occupied: true }, 1),
      msg(10, { occupied: true }, 2),
      msg(20, { occupied: false }, 3),
    ]);
    expect(actions).toEqual([
      { kind: 'guidance', occupied: true, observedAt: at(0) },
      { kind: 'ignore', reason: 'no-change' },
      { kind: 'guidance', occupied: false, observedAt: at(20) },
    ]);
    expect(state?.status).toBe('idle');
  });

  it('counts free spaces in a zone; sensors without state are free', () => {
    const occupied = onSignal(guidance, undefined, msg(0, { occupied: true }, 1)).state;
    const free = { ...occupied, thingName: 'b', status: 'idle' as const };
    expect(freeSpaces('p1', [THING, 'b', 'c', 'c'], [occupied, free])).toEqual({
      zoneId: 'p1',
      free: 2,
      total: 3,
    });
  });
});

describe('absence scenarios', () => {
  const silent = byId('device-silent');

  it.each([
    ['seen 59 minutes ago', at(0), at(3540), 'idle', []],
    ['seen exactly an hour ago', at(0), at(3600), 'active', ['open-violation']],
    ['never seen (no baseline)', undefined, at(999_999), 'idle', ['ignore']],
  ] as const)('%s → %s', (_name, lastSeenAt, now, status, expected) => {
    const result = onAbsenceCheck(silent, lastSeenAt, undefined, now, THING);
    expect(result.state.status).toBe(status);
    expect(kinds(result.actions).filter((k) => k !== 'ignore' || expected.length > 0)).toEqual(expected);
  });

  it('opens once at the threshold, and a heartbeat clears it with autoVerify', () => {
    const opened = onAbsenceCheck(silent, at(0), undefined, at(4000), THING);
    const violationId = violationIdFor('device-silent', THING, at(0));
    expect(opened.actions).toEqual([{ kind: 'open-violation', observedAt: at(3600), violationId }]);
    expect(onAbsenceCheck(silent, at(0), opened.state, at(8000)).actions).toEqual([
      { kind: 'ignore', reason: 'no-change' },
    ]);
    const back = onSignal(silent, opened.state, { ...msg(8100, {}, 7), signal: 'heartbeat' });
    expect(back.actions).toEqual([{ kind: 'clear', observedAt: at(8100), violationId, autoVerify: true }]);
    // The next check sees the heartbeat through the state even if the caller's lastSeenAt lags.
    expect(onAbsenceCheck(silent, at(0), back.state, at(8200)).actions).toEqual([
      { kind: 'ignore', reason: 'no-change' },
    ]);
  });

  it('a check that sees a newer presence clears an active absence', () => {
    const opened = onAbsenceCheck(silent, at(0), undefined, at(4000), THING);
    const result = onAbsenceCheck(silent, at(5000), opened.state, at(5100));
    expect(kinds(result.actions)).toEqual(['clear']);
    expect(result.state.status).toBe('idle');
  });

  it('ignores signals that are not presence, and refuses other kinds of scenario', () => {
    expect(onSignal(silent, undefined, { ...msg(0, {}), signal: 'occupancy' }).actions).toEqual([
      { kind: 'ignore', reason: 'no-change' },
    ]);
    expect(() => onAbsenceCheck(byId('smoke-alarm'), at(0), undefined, at(1), THING)).toThrow(TypeError);
    expect(() => onAbsenceCheck(silent, at(0), undefined, at(1))).toThrow(TypeError);
  });

  it('finds a device silent from its registration when it never reports, not a moment before', () => {
    const watched = watchForSilence(silent, THING, at(0));
    expect(watched).toEqual({
      scenarioId: 'device-silent',
      thingName: THING,
      status: 'idle',
      watchedSince: at(0),
    });
    expect(absenceDueAt(silent, watched)).toBe(at(3600));
    expect(kinds(onAbsenceCheck(silent, undefined, watched, at(3599)).actions)).toEqual(['ignore']);
    const opened = onAbsenceCheck(silent, undefined, watched, at(3600));
    const violationId = violationIdFor('device-silent', THING, at(0));
    expect(opened.actions).toEqual([{ kind: 'open-violation', observedAt: at(3600), violationId }]);
    expect(opened.state).toMatchObject({ status: 'active', since: at(0), violationId });
    // Open: no longer due, and later checks open nothing more.
    expect(absenceDueAt(silent, opened.state)).toBeUndefined();
    expect(kinds(onAbsenceCheck(silent, undefined, opened.state, at(9000)).actions)).toEqual(['ignore']);
  });

  it("takes a watched device's first message as presence even when its clock is behind the server's", () => {
    const watched = watchForSilence(silent, THING, at(600));
    // The device's clock is ten minutes behind: its first heartbeat says at(0), before the watch began.
    const first = onSignal(silent, watched, { ...msg(0, {}, 1), signal: 'heartbeat' });
    expect(first.actions).toEqual([{ kind: 'ignore', reason: 'no-change' }]);
    expect(first.state).toMatchObject({ lastObservedAt: at(0), lastSeq: 1, watchedSince: at(600) });
    // The later of the two baselines counts, whichever clock it is on.
    expect(absenceDueAt(silent, first.state)).toBe(at(4200));
    const later = onSignal(silent, first.state, { ...msg(1200, {}, 2), signal: 'heartbeat' });
    expect(absenceDueAt(silent, later.state)).toBe(at(4800));

    const opened = onAbsenceCheck(silent, undefined, watched, at(4200));
    const back = onSignal(silent, opened.state, { ...msg(0, {}, 1), signal: 'heartbeat' });
    expect(kinds(back.actions)).toEqual(['clear']);
    expect(back.state.status).toBe('idle');
  });

  it('is due only for an absence scenario that is on, with a baseline, while no case is open', () => {
    const watched = watchForSilence(silent, THING, at(0));
    expect(absenceDueAt({ ...silent, enabled: false }, watched)).toBeUndefined();
    expect(absenceDueAt(silent, { ...watched, watchedSince: undefined })).toBeUndefined();
    expect(absenceDueAt(applyOverride(silent, { forSeconds: 60 }), watched)).toBe(at(60));
    expect(
      absenceDueAt(byId('fire-lane-occupied'), { ...watched, scenarioId: 'fire-lane-occupied' }),
    ).toBeUndefined();
    expect(() => watchForSilence(byId('fire-lane-occupied'), THING, at(0))).toThrow(TypeError);
  });

  it('opens a check exactly when the condition is due (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.option(fc.integer({ min: -7_200, max: 100_000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 1, max: 86_400 }),
        (watchedAt, reportedAt, now, forSeconds) => {
          const scenario = applyOverride(silent, { forSeconds });
          const watched = watchForSilence(scenario, THING, at(watchedAt));
          const state =
            reportedAt === undefined
              ? watched
              : onSignal(scenario, watched, { ...msg(reportedAt, {}), signal: 'heartbeat' }).state;
          const due = absenceDueAt(scenario, state) as string;
          const opens = kinds(onAbsenceCheck(scenario, undefined, state, at(now)).actions).includes(
            'open-violation',
          );
          expect(opens).toBe(Date.parse(at(now)) >= Date.parse(due));
          expect(Date.parse(due)).toBe(
            T0 + (Math.max(watchedAt, reportedAt ?? watchedAt) + forSeconds) * 1000,
          );
        },
      ),
    );
  });

  it('no water use for a day alerts the caseworker, not verified by the meter alone', () => {
    const water = byId('no-water-use');
    const opened = onAbsenceCheck(water, at(0), undefined, at(86400), 'wm-1');
    expect(kinds(opened.actions)).toEqual(['open-violation']);
    expect(water.chain[0]?.assignee).toBe('caseworker');
    const used = onSignal(water, opened.state, {
      ...msg(90000, { litres: 3 }),
      thingName: 'wm-1',
      signal: 'usage',
    });
    expect(used.actions).toEqual([expect.objectContaining({ kind: 'clear', autoVerify: false })]);
  });
});

// ---------------------------------------------------------------------------------------------------

const fireLane = byId('fire-lane-occupied');
const opened = (scenario: Scenario = fireLane): Violation =>
  openViolation({
    violationId: 'v-1',
    scenario,
    compoundId: 'xiling',
    zoneId: 'fire-lane-a',
    thingName: THING,
    observedAt: at(0),
    now: at(300),
  });

describe('the violation closed loop', () => {
  it('opens with discovered and opened steps', () => {
    expect(opened()).toEqual({
      violationId: 'v-1',
      scenarioId: 'fire-lane-occupied',
      scenarioVersion: 1,
      compoundId: 'xiling',
      zoneId: 'fire-lane-a',
      thingName: THING,
      severity: 'high',
      status: 'open',
      chainIndex: 0,
      openedAt: at(300),
      escalations: 0,
      steps: [
        { at: at(0), action: 'discovered', actor: `sensor:${THING}` },
        { at: at(300), action: 'opened', actor: 'system' },
      ],
    });
  });

  it('dispatch → acknowledge → handle → verify → close, recording who and when', () => {
    const sent = dispatch(opened(), fireLane, at(310));
    expect(sent).toMatchObject({ assignee: 'property-guard', ackDueAt: at(610), handleDueAt: at(2110) });
    expect(dispatch(sent.violation, fireLane, at(400))).toEqual(sent);

    const acked = acknowledge(sent.violation, 'guard-7', at(400));
    expect(acknowledge(acked, 'guard-7', at(401))).toBe(acked);
    const handled = handle(acked, 'guard-7', 'driver moved the car', at(900));
    const verified = verify(handled, 'inspector-2', at(1000));
    const closed = close(verified, 'inspector-2', at(1001));
    expect(close(closed, 'inspector-2', at(2000))).toBe(closed);
    expect(closed).toMatchObject({
      status: 'closed',
      acknowledgedBy: 'guard-7',
      acknowledgedAt: at(400),
      handledBy: 'guard-7',
      verifiedBy: 'inspector-2',
      closedAt: at(1001),
    });
    expect(closed.steps.map((s) => [s.action, s.actor])).toEqual([
      ['discovered', `sensor:${THING}`],
      ['opened', 'system'],
      ['dispatched', 'system'],
      ['acknowledged', 'guard-7'],
      ['handled', 'guard-7'],
      ['verified', 'inspector-2'],
      ['closed', 'inspector-2'],
    ]);
    expect(closed.steps[4]?.note).toBe('driver moved the car');
  });

  const dispatched = () => dispatch(opened(), fireLane, at(310)).violation;
  const acked = () => acknowledge(dispatched(), 'guard-7', at(400));
  it.each([
    ['acknowledge an open violation', () => acknowledge(opened(), 'guard-7', at(1))],
    ['acknowledge as another actor', () => acknowledge(acked(), 'guard-8', at(500))],
    ['handle before acknowledging', () => handle(dispatched(), 'guard-7', undefined, at(500))],
    ['verify before handling', () => verify(acked(), 'inspector', at(500))],
    ['close before verifying', () => close(acked(), 'inspector', at(500))],
    [
      'dispatch a closed violation',
      () => dispatch(clearBySensor(dispatched(), fireLane, THING, at(600)), fireLane, at(700)),
    ],
    ['clear by another sensor', () => clearBySensor(dispatched(), fireLane, 'another', at(600))],
    [
      'add feedback to a closed violation',
      () => feedback(clearBySensor(dispatched(), fireLane, THING, at(600)), 'x', 'y', at(700)),
    ],
  ])('refuses to %s with a ViolationTransitionError (409)', (_name, act) => {
    expect(act).toThrow(ViolationTransitionError);
    try {
      act();
    } catch (error) {
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).status).toBe(409);
      expect((error as Error).name).toBe('ViolationTransitionError');
    }
  });

  it('feedback adds a remark without changing the status', () => {
    const remarked = feedback(acked(), 'resident-3', 'car is blocking the hydrant', at(450));
    expect(remarked.status).toBe('acknowledged');
    expect(remarked.steps.at(-1)).toMatchObject({ action: 'feedback', note: 'car is blocking the hydrant' });
  });
});

describe('awaitsHandleDeadline', () => {
  // Dispatched at 310: the guard's acknowledgement is due at 610, the handling at 2110.
  const sent = () => dispatch(opened(), fireLane, at(310)).violation;
  const acked = () => acknowledge(sent(), 'guard-7', at(400));

  it('holds for an acknowledged order once its acknowledgement deadline has passed, and that handling deadline escalates', () => {
    expect(awaitsHandleDeadline(acked(), fireLane, 0, at(610))).toBe(true);
    expect(onDeadline(acked(), fireLane, { kind: 'handle', chainIndex: 0 }, at(2110)).escalatedTo).toBe(
      'property-manager',
    );
  });

  it.each([
    ['before the acknowledgement deadline', () => acked(), 0, at(609)],
    ['a handled order', () => handle(acked(), 'guard-7', undefined, at(500)), 0, at(610)],
    ['a closed case', () => clearBySensor(acked(), fireLane, THING, at(500)), 0, at(610)],
    [
      'an order the case has escalated past',
      () => onDeadline(sent(), fireLane, { kind: 'ack', chainIndex: 0 }, at(610)).violation,
      0,
      at(9999),
    ],
    [
      'the last step of the chain',
      () => {
        let v = sent();
        for (let i = 0; i < 3; i++)
          v = onDeadline(v, fireLane, { kind: 'ack', chainIndex: i }, at(100_000 * (i + 1))).violation;
        return acknowledge(v, 'officer-1', at(300_010));
      },
      3,
      at(900_000),
    ],
  ])('does not hold for %s', (_name, prepare, chainIndex, now) => {
    expect(awaitsHandleDeadline(prepare(), fireLane, chainIndex, now)).toBe(false);
  });
});

describe('onDeadline', () => {
  const sent = () => dispatch(opened(), fireLane, at(310)).violation;

  it('escalates an unacknowledged work order to the next step with fresh deadlines', () => {
    const { violation, escalatedTo } = onDeadline(sent(), fireLane, { kind: 'ack', chainIndex: 0 }, at(610));
    expect(escalatedTo).toBe('property-manager');
    expect(violation).toMatchObject({
      status: 'dispatched',
      chainIndex: 1,
      assignee: 'property-manager',
      escalations: 1,
      ackDueAt: at(610 + 600),
      handleDueAt: at(610 + 3600),
    });
    expect(violation.steps.at(-1)).toMatchObject({ action: 'escalated', chainIndex: 1 });
  });

  it('escalates an acknowledged but unhandled order; the new assignee must acknowledge', () => {
    const acked = acknowledge(sent(), 'guard-7', at(400));
    const { violation } = onDeadline(acked, fireLane, { kind: 'handle', chainIndex: 0 }, at(2110));
    expect(violation).toMatchObject({ status: 'dispatched', chainIndex: 1 });
    expect(violation.acknowledgedBy).toBeUndefined();
    expect(acknowledge(violation, 'manager-1', at(2200)).acknowledgedBy).toBe('manager-1');
  });

  it.each([
    ['an old chainIndex', { kind: 'ack', chainIndex: 1 } as const, at(610), (v: Violation) => v],
    ['an early timer', { kind: 'ack', chainIndex: 0 } as const, at(609), (v: Violation) => v],
    [
      'a met ack deadline',
      { kind: 'ack', chainIndex: 0 } as const,
      at(610),
      (v: Violation) => acknowledge(v, 'g', at(500)),
    ],
    [
      'a met handle deadline',
      { kind: 'handle', chainIndex: 0 } as const,
      at(9999),
      (v: Violation) => handle(acknowledge(v, 'g', at(500)), 'g', undefined, at(600)),
    ],
    [
      'a closed violation',
      { kind: 'handle', chainIndex: 0 } as const,
      at(9999),
      (v: Violation) => clearBySensor(v, fireLane, THING, at(600)),
    ],
    ['an undispatched violation', { kind: 'ack', chainIndex: 0 } as const, at(9999), () => opened()],
  ])('does nothing for %s', (_name, deadline, now, prepare) => {
    const violation = prepare(sent());
    expect(onDeadline(violation, fireLane, deadline, now)).toEqual({ violation });
  });

  it('stays with the last step at the end of the chain', () => {
    let v = sent();
    for (let i = 0; i < 10; i++) {
      v = onDeadline(v, fireLane, { kind: 'ack', chainIndex: v.chainIndex }, at(100_000 * (i + 1))).violation;
    }
    expect(v).toMatchObject({
      chainIndex: 3,
      assignee: 'law-enforcement',
      escalations: 3,
      status: 'dispatched',
    });
  });
});

describe('clearBySensor', () => {
  it('with autoVerify: handled, verified and closed by the sensor', () => {
    const sent = dispatch(opened(), fireLane, at(310)).violation;
    const cleared = clearBySensor(sent, fireLane, THING, at(900));
    expect(cleared).toMatchObject({
      status: 'closed',
      handledBy: `sensor:${THING}`,
      verifiedBy: `sensor:${THING}`,
      closedBy: `sensor:${THING}`,
      closedAt: at(900),
    });
    expect(cleared.ackDueAt).toBeUndefined();
    expect(cleared.steps.slice(-4).map((s) => s.action)).toEqual([
      'cleared',
      'handled',
      'verified',
      'closed',
    ]);
    expect(clearBySensor(cleared, fireLane, THING, at(901))).toBe(cleared);
  });

  it('keeps a human handling: a handled case is verified and closed by the sensor', () => {
    const sent = dispatch(opened(), fireLane, at(310)).violation;
    const handled = handle(acknowledge(sent, 'guard-7', at(400)), 'guard-7', 'asked the driver', at(500));
    const cleared = clearBySensor(handled, fireLane, THING, at(900));
    expect(cleared).toMatchObject({ status: 'closed', handledBy: 'guard-7', verifiedBy: `sensor:${THING}` });
  });

  it('without autoVerify: records the clear once and waits for an inspector', () => {
    const clutter = byId('corridor-clutter');
    const sent = dispatch(opened(clutter), clutter, at(310)).violation;
    const cleared = clearBySensor(sent, clutter, THING, at(900));
    expect(cleared.status).toBe('dispatched');
    expect(cleared.steps.at(-1)).toMatchObject({ action: 'cleared', actor: `sensor:${THING}` });
    expect(clearBySensor(cleared, clutter, THING, at(901))).toBe(cleared);
  });
});

// ---------------------------------------------------------------------------------------------------
// properties

/** A device's true history: seq 1..n, one minute apart. */
const historyArb = (values: fc.Arbitrary<Record<string, unknown>>) =>
  fc
    .array(values, { minLength: 1, maxLength: 25 })
    .map((fieldsList) => fieldsList.map((fields, index) => msg(60 * (index + 1), fields, index + 1)));

const dedupSorted = (messages: SignalMessage[]) =>
  [...new Map(messages.map((m) => [m.seq, m])).values()].sort((a, b) => a.seq! - b.seq!);

describe('properties', () => {
  const eBike = byId('e-bike-in-elevator');
  const eventArb = fc.constantFrom('e-bike-detected', 'clear', 'person').map((event) => ({ event }));

  it('in-order delivery with redeliveries opens exactly as often as the de-duplicated history', () => {
    fc.assert(
      fc.property(
        historyArb(eventArb),
        fc.array(fc.nat({ max: 3 }), { maxLength: 25 }),
        (history, repeats) => {
          const delivered = history.flatMap((m, i) => Array.from({ length: 1 + (repeats[i] ?? 0) }, () => m));
          expect(opens(run(eBike, delivered).actions)).toBe(
            opens(run(eBike, dedupSorted(delivered)).actions),
          );
        },
      ),
    );
  });

  it('any delivery order with duplicates never opens more than the sorted, de-duplicated messages', () => {
    fc.assert(
      fc.property(
        historyArb(eventArb).chain((history) =>
          fc.array(fc.constantFrom(...history), { minLength: 1, maxLength: 60 }),
        ),
        (delivered) => {
          const actual = opens(run(eBike, delivered).actions);
          expect(actual).toBeLessThanOrEqual(opens(run(eBike, dedupSorted(delivered)).actions));
        },
      ),
    );
  });

  it('a resume names a case opened earlier in the same episode, and changes no state', () => {
    fc.assert(
      fc.property(
        historyArb(eventArb).chain((history) =>
          fc.array(fc.constantFrom(...history), { minLength: 1, maxLength: 60 }),
        ),
        (delivered) => {
          let state: ConditionState | undefined;
          let opened: string | undefined;
          for (const message of delivered) {
            const result = onSignal(eBike, state, message);
            for (const action of result.actions) {
              if (action.kind === 'open-violation') opened = action.violationId;
              if (action.kind === 'clear') opened = undefined;
              if (action.kind === 'resume-violation') {
                expect(action.violationId).toBe(opened);
                expect(action.observedAt).toBe(new Date(message.observedAt).toISOString());
                expect(result.state).toEqual(state);
              }
            }
            state = result.state;
          }
        },
      ),
    );
  });

  type Event = { type: 'message'; message: SignalMessage } | { type: 'timer'; now: string };
  const sustainedRunArb = historyArb(fc.boolean().map((occupied) => ({ occupied }))).chain((history) =>
    fc.array(
      fc.oneof(
        fc.constantFrom(...history).map((message): Event => ({ type: 'message', message })),
        fc.integer({ min: 0, max: 2400 }).map((s): Event => ({ type: 'timer', now: at(s) })),
      ),
      { minLength: 1, maxLength: 80 },
    ),
  );

  it('with messages and grace timers in any order, two opens always have a clear between them', () => {
    fc.assert(
      fc.property(sustainedRunArb, (events) => {
        let state: ConditionState | undefined;
        let open = false;
        for (const event of events) {
          const result =
            event.type === 'message'
              ? onSignal(fireLane, state, event.message)
              : state
                ? onGraceElapsed(fireLane, state, event.now)
                : undefined;
          if (!result) continue;
          for (const action of result.actions) {
            if (action.kind === 'open-violation') {
              expect(open).toBe(false);
              open = true;
            }
            if (action.kind === 'clear') open = false;
          }
          state = result.state;
          expect(state.status === 'active').toBe(open);
        }
      }),
    );
  });

  it('onGraceElapsed after a clear never opens, however late', () => {
    fc.assert(
      fc.property(sustainedRunArb, fc.integer({ min: 0, max: 1_000_000 }), (events, late) => {
        const messages = events.flatMap((e) => (e.type === 'message' ? [e.message] : []));
        const { state } = run(fireLane, messages);
        if (state?.status !== 'idle') return;
        expect(opens(onGraceElapsed(fireLane, state, at(late)).actions)).toBe(0);
      }),
    );
  });

  type Op =
    | { op: 'deadline'; kind: 'ack' | 'handle'; back: number }
    | { op: 'ack' | 'handle' | 'verify' | 'close' | 'clear' | 'feedback'; actor: string };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('deadline' as const),
        kind: fc.constantFrom('ack' as const, 'handle' as const),
        back: fc.nat({ max: 2 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constantFrom(
          'ack' as const,
          'handle' as const,
          'verify' as const,
          'close' as const,
          'clear' as const,
          'feedback' as const,
        ),
        actor: fc.constantFrom('guard-7', 'manager-1', 'inspector-2'),
      }),
    },
  );
  const scenarioArb = fc.constantFrom(...SCENARIOS.filter((s) => !s.guidance));

  const apply = (v: Violation, scenario: Scenario, op: Op, now: string): Violation => {
    switch (op.op) {
      case 'deadline':
        return onDeadline(
          v,
          scenario,
          { kind: op.kind, chainIndex: Math.max(0, v.chainIndex - op.back) },
          now,
        ).violation;
      case 'ack':
        return acknowledge(v, op.actor, now);
      case 'handle':
        return handle(v, op.actor, 'done', now);
      case 'verify':
        return verify(v, op.actor, now);
      case 'close':
        return close(v, op.actor, now);
      case 'clear':
        return clearBySensor(v, scenario, THING, now);
      case 'feedback':
        return feedback(v, op.actor, 'note', now);
    }
  };

  it('onDeadline is idempotent and escalations never exceed chain length - 1', () => {
    fc.assert(
      fc.property(scenarioArb, fc.array(opArb, { maxLength: 40 }), (scenario, ops) => {
        let v = dispatch(opened(scenario), scenario, at(0)).violation;
        ops.forEach((op, i) => {
          const now = at(3600 * 24 * (i + 1));
          if (op.op === 'deadline') {
            const deadline = { kind: op.kind, chainIndex: Math.max(0, v.chainIndex - op.back) };
            const once = onDeadline(v, scenario, deadline, now).violation;
            expect(onDeadline(once, scenario, deadline, now).violation).toEqual(once);
            v = once;
          } else {
            try {
              v = apply(v, scenario, op, now);
            } catch (error) {
              expect(error).toBeInstanceOf(ViolationTransitionError);
            }
          }
          expect(v.escalations).toBeLessThanOrEqual(scenario.chain.length - 1);
          expect(v.escalations).toBe(v.chainIndex);
        });
      }),
    );
  });

  it('a violation never moves backwards: (chainIndex, status) only grows, steps only append, closed stays closed', () => {
    fc.assert(
      fc.property(scenarioArb, fc.array(opArb, { maxLength: 40 }), (scenario, ops) => {
        let v = dispatch(opened(scenario), scenario, at(0)).violation;
        ops.forEach((op, i) => {
          const before = v;
          try {
            v = apply(v, scenario, op, at(3600 * (i + 1)));
          } catch (error) {
            expect(error).toBeInstanceOf(ViolationTransitionError);
          }
          if (before.status === 'closed') expect(v).toEqual(before);
          const progress = (x: Violation) => x.chainIndex * 10 + STATUS_RANK[x.status];
          expect(progress(v)).toBeGreaterThanOrEqual(progress(before));
          expect(v.steps.slice(0, before.steps.length)).toEqual(before.steps);
        });
      }),
    );
  });
});
