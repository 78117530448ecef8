/**
 * The closed loop as pure state machines: (a) per scenario and thing, whether a condition is idle,
 * pending its grace period or active; (b) per violation, discover → open → dispatch → acknowledge →
 * handle → verify → close, with escalation along the scenario's chain when a deadline passes.
 *
 * Every function takes the time as an argument and returns new values: the caller stores them and
 * carries out the actions (timers, work orders, device commands). Delivery and timers are at least
 * once, so every transition is idempotent: a repeated or late input returns the state unchanged.
 */
import { ConflictError } from '../shared/errors.js';
import { type ChainStep, matchPredicate, type Scenario } from './scenarios.js';

// ---------------------------------------------------------------------------------------------------
// (a) condition state per (scenario, thing)

export interface ConditionState {
  scenarioId: string;
  thingName: string;
  status: 'idle' | 'pending' | 'active';
  /** pending/active: when the condition first held in this episode; idle: when it stopped holding. */
  since?: string;
  lastSeq?: number;
  lastObservedAt?: string;
  /** The violation this active episode opened (deterministic: see `violationIdFor`). */
  violationId?: string;
  graceUntil?: string;
  /**
   * Absence scenarios: when watching for silence began, on the server's clock (the device's
   * registration). It counts as a presence until the device reports, so a device that never reports
   * is found silent too. Kept apart from lastObservedAt, which is device time: a device whose clock
   * runs behind the server's would otherwise have its first messages taken for stale.
   */
  watchedSince?: string;
}

export type ConditionAction =
  | { kind: 'schedule-grace'; at: string }
  | { kind: 'cancel-grace' }
  /** `violationId` is derived from scenario, thing and episode start, so a retried open lands on one item. */
  | { kind: 'open-violation'; observedAt: string; violationId: string }
  | { kind: 'clear'; observedAt: string; violationId?: string; autoVerify: boolean }
  /**
   * The message that began the active episode came again (a redelivery): nothing changes, but the
   * delivery that acted on it may have failed after the condition was written, before its case was
   * stored or its deadlines scheduled. The loop makes sure they were.
   */
  | { kind: 'resume-violation'; observedAt: string; violationId: string }
  | { kind: 'command'; command: string; payload: Record<string, unknown> }
  /** Guidance scenarios only: a parking space became occupied or free; recount and push to screens. */
  | { kind: 'guidance'; occupied: boolean; observedAt: string }
  | { kind: 'ignore'; reason: 'duplicate' | 'stale' | 'no-change' | 'disabled' };

export interface SignalMessage {
  thingName: string;
  observedAt: string;
  seq?: number;
  /** The message's signal; when given, an absence scenario ignores signals that are not presence. */
  signal?: string;
  fields: Record<string, unknown>;
}

export interface ConditionResult {
  state: ConditionState;
  actions: ConditionAction[];
}

const ms = (iso: string): number => {
  const value = Date.parse(iso);
  if (Number.isNaN(value)) throw new RangeError(`Not an ISO-8601 time: ${iso}`);
  return value;
};
const iso = (time: string): string => new Date(ms(time)).toISOString();
export const plusSeconds = (time: string, seconds: number): string =>
  new Date(ms(time) + seconds * 1000).toISOString();

/**
 * A violation id that is the same however often the same episode is opened: scenario, thing and the
 * moment the condition began, e.g. `fire-lane-occupied~fl-geomag-0001~20261126T010000000Z`. Slugs and
 * thing names hold no '~', so the parts cannot run together; the id holds no '.' or '/', so it can be
 * a path segment and a prefix of dotted ids (work orders).
 */
export const violationIdFor = (scenarioId: string, thingName: string, since: string): string =>
  `${scenarioId}~${thingName}~${iso(since).replace(/[-:.]/g, '')}`;

const initial = (scenario: Scenario, thingName: string): ConditionState => ({
  scenarioId: scenario.scenarioId,
  thingName,
  status: 'idle',
});

const ignore = (state: ConditionState, reason: Extract<ConditionAction, { kind: 'ignore' }>['reason']) => ({
  state,
  actions: [{ kind: 'ignore', reason } as ConditionAction],
});

const toIdle = (state: ConditionState, at: string): ConditionState => {
  const { violationId: _v, graceUntil: _g, ...rest } = state;
  return { ...rest, status: 'idle', since: at };
};

/** active, with the open-violation action (and the scenario's device command, if any). */
const activate = (scenario: Scenario, state: ConditionState, since: string): ConditionResult => {
  const { graceUntil: _g, ...rest } = state;
  const violationId = violationIdFor(scenario.scenarioId, state.thingName, since);
  const actions: ConditionAction[] = [{ kind: 'open-violation', observedAt: since, violationId }];
  if (scenario.command) actions.push({ kind: 'command', ...scenario.command });
  return { state: { ...rest, status: 'active', since, violationId }, actions };
};

const clearAction = (scenario: Scenario, state: ConditionState, observedAt: string): ConditionAction => ({
  kind: 'clear',
  observedAt,
  ...(state.violationId === undefined ? {} : { violationId: state.violationId }),
  autoVerify: scenario.autoVerifyOnClear,
});

/** The latest device message a condition has taken into account: device time, then sequence. */
export interface Watermark {
  lastObservedAt?: string;
  lastSeq?: number;
}

const isLater = (a: Watermark, b: Watermark): boolean => {
  if (a.lastObservedAt === undefined) return false;
  if (b.lastObservedAt === undefined) return true;
  const difference = ms(a.lastObservedAt) - ms(b.lastObservedAt);
  return difference !== 0 ? difference > 0 : (a.lastSeq ?? -1) > (b.lastSeq ?? -1);
};

/**
 * A condition as it stands after messages that changed nothing but were seen later than its state
 * records (their watermark is kept apart, see the ingest loop): the later watermark wins, so a message
 * older than it is stale however late it comes.
 */
export const withWatermark = (
  scenario: Scenario,
  thingName: string,
  state: ConditionState | undefined,
  seen: Watermark | undefined,
): ConditionState | undefined => {
  if (seen === undefined || !isLater(seen, state ?? {})) return state;
  const base = state ?? initial(scenario, thingName);
  const { lastSeq: _s, lastObservedAt: _o, ...rest } = base;
  return {
    ...rest,
    lastObservedAt: seen.lastObservedAt,
    ...(seen.lastSeq === undefined ? {} : { lastSeq: seen.lastSeq }),
  };
};

/** Whether `after` has taken a later device message into account than `before`. */
export const advancesWatermark = (before: ConditionState | undefined, after: ConditionState): boolean =>
  isLater(after, before ?? {});

/**
 * Sequence numbers are per signal on the devices, so they are compared only when the scenario listens
 * to a single signal; otherwise only device time orders messages.
 */
const comparesSeq = (scenario: Scenario): boolean =>
  scenario.condition.kind !== 'absence' || scenario.condition.signals.length === 1;

/**
 * Applies one device message to a condition. Out-of-order and repeated messages are ignored: a message
 * with seq ≤ lastSeq ('duplicate' when equal, 'stale' when lower) or observed before lastObservedAt
 * ('stale'). A message at the same device time without a seq is applied: repeating it changes nothing.
 * The one exception is a repeat of the message that began the active episode, which asks the loop to
 * resume that episode's case ('resume-violation'): the state is unchanged all the same.
 */
export function onSignal(
  scenario: Scenario,
  state: ConditionState | undefined,
  message: SignalMessage,
): ConditionResult {
  const result = evaluateSignal(scenario, state, message);
  const begun = state?.since === undefined ? undefined : ms(state.since);
  const resumes =
    state?.status === 'active' &&
    state.violationId !== undefined &&
    begun === ms(message.observedAt) &&
    result.actions.every((action) => action.kind === 'ignore' && action.reason !== 'disabled');
  return resumes
    ? {
        state: result.state,
        actions: [
          {
            kind: 'resume-violation',
            observedAt: state.since as string,
            violationId: state.violationId as string,
          },
        ],
      }
    : result;
}

function evaluateSignal(
  scenario: Scenario,
  state: ConditionState | undefined,
  message: SignalMessage,
): ConditionResult {
  if (state && state.thingName !== message.thingName) {
    throw new TypeError(`State of ${state.thingName} given a message from ${message.thingName}`);
  }
  const current = state ?? initial(scenario, message.thingName);
  if (scenario.enabled === false) return ignore(current, 'disabled');
  const condition = scenario.condition;
  if (condition.kind === 'absence' && message.signal !== undefined) {
    if (!condition.signals.includes(message.signal)) return ignore(current, 'no-change');
  }

  if (comparesSeq(scenario) && message.seq !== undefined && current.lastSeq !== undefined) {
    if (message.seq === current.lastSeq) return ignore(current, 'duplicate');
    if (message.seq < current.lastSeq) return ignore(current, 'stale');
  }
  const observedAt = iso(message.observedAt);
  if (current.lastObservedAt !== undefined && ms(observedAt) < ms(current.lastObservedAt)) {
    return ignore(current, 'stale');
  }

  const seen: ConditionState = {
    ...current,
    ...(message.seq !== undefined && comparesSeq(scenario) ? { lastSeq: message.seq } : {}),
    lastObservedAt: observedAt,
  };
  const noChange = (): ConditionResult => ({
    state: seen,
    actions: [{ kind: 'ignore', reason: 'no-change' }],
  });

  if (condition.kind === 'absence') {
    // Any presence signal ends the silence.
    if (seen.status !== 'active') return noChange();
    return { state: toIdle(seen, observedAt), actions: [clearAction(scenario, seen, observedAt)] };
  }

  const on = matchPredicate(condition.when, message.fields);
  const off = !on && (scenario.clearsWhen ? matchPredicate(scenario.clearsWhen, message.fields) : true);

  if (scenario.guidance) {
    if (on && seen.status !== 'active') {
      return {
        state: { ...seen, status: 'active', since: observedAt },
        actions: [{ kind: 'guidance', occupied: true, observedAt }],
      };
    }
    if (off && seen.status === 'active') {
      return {
        state: toIdle(seen, observedAt),
        actions: [{ kind: 'guidance', occupied: false, observedAt }],
      };
    }
    return noChange();
  }

  switch (seen.status) {
    case 'idle': {
      if (!on) return noChange();
      if (condition.kind === 'instant' || condition.graceSeconds === 0) {
        return activate(scenario, seen, observedAt);
      }
      const graceUntil = plusSeconds(observedAt, condition.graceSeconds);
      const { violationId: _v, ...rest } = seen;
      return {
        state: { ...rest, status: 'pending', since: observedAt, graceUntil },
        actions: [{ kind: 'schedule-grace', at: graceUntil }],
      };
    }
    case 'pending':
      if (!off) return noChange();
      return { state: toIdle(seen, observedAt), actions: [{ kind: 'cancel-grace' }] };
    case 'active':
      if (!off) return noChange();
      return { state: toIdle(seen, observedAt), actions: [clearAction(scenario, seen, observedAt)] };
  }
}

/**
 * The grace timer fired. Only a pending condition whose grace has really elapsed becomes active: a
 * late or repeated timer after a clear, a timer of an earlier episode (now < graceUntil of the current
 * one) and a timer for an already active condition do nothing. A disabled scenario drops back to idle.
 */
export function onGraceElapsed(scenario: Scenario, state: ConditionState, now: string): ConditionResult {
  if (state.status !== 'pending') return ignore(state, 'no-change');
  if (scenario.enabled === false) return ignore(toIdle(state, iso(now)), 'disabled');
  if (state.graceUntil !== undefined && ms(now) < ms(state.graceUntil)) return ignore(state, 'no-change');
  return activate(scenario, state, state.since ?? iso(now));
}

/**
 * Begins watching a device for silence (absence scenarios only), as of its registration: a fresh
 * condition, whatever an earlier device of the same name left, with `watchedSince` as its baseline.
 */
export function watchForSilence(scenario: Scenario, thingName: string, now: string): ConditionState {
  if (scenario.condition.kind !== 'absence') {
    throw new TypeError(`${scenario.scenarioId} is not an absence scenario`);
  }
  return { ...initial(scenario, thingName), watchedSince: iso(now) };
}

/**
 * When an absence condition's silence would open a case: the later of the last presence (device time)
 * and the start of the watch, plus the scenario's (possibly tuned) duration. Nothing while a case is
 * open, the scenario is off or there is no baseline yet.
 */
export function absenceDueAt(scenario: Scenario, state: ConditionState): string | undefined {
  if (scenario.condition.kind !== 'absence' || scenario.enabled === false || state.status === 'active')
    return undefined;
  const baseline = latest([state.lastObservedAt, state.watchedSince]);
  return baseline === undefined ? undefined : plusSeconds(baseline, scenario.condition.forSeconds);
}

const latest = (times: (string | undefined)[]): string | undefined => {
  const known = times.filter((time): time is string => time !== undefined);
  return known.length === 0 ? undefined : iso(known.reduce((a, b) => (ms(a) >= ms(b) ? a : b)));
};

/**
 * The periodic check of an absence scenario. `lastSeenAt` is the last presence the caller knows of
 * beyond the state (undefined: none). The latest of it, the state's lastObservedAt and its
 * watchedSince counts; without any of them the check does nothing. Silent for `forSeconds` → active
 * and open-violation (observedAt = the moment silence crossed the threshold); present again while
 * active → clear. `thingName` is needed only when there is no state yet.
 */
export function onAbsenceCheck(
  scenario: Scenario,
  lastSeenAt: string | undefined,
  state: ConditionState | undefined,
  now: string,
  thingName?: string,
): ConditionResult {
  const condition = scenario.condition;
  if (condition.kind !== 'absence') {
    throw new TypeError(`${scenario.scenarioId} is not an absence scenario`);
  }
  const name = state?.thingName ?? thingName;
  if (name === undefined) throw new TypeError('onAbsenceCheck needs a thingName when there is no state');
  const current = state ?? initial(scenario, name);
  if (scenario.enabled === false) return ignore(current, 'disabled');

  const lastSeen = latest([lastSeenAt, current.lastObservedAt, current.watchedSince]);
  if (lastSeen === undefined) return ignore(current, 'no-change');
  const threshold = plusSeconds(lastSeen, condition.forSeconds);

  if (ms(now) >= ms(threshold)) {
    if (current.status === 'active') return ignore(current, 'no-change');
    const violationId = violationIdFor(scenario.scenarioId, name, lastSeen);
    const { graceUntil: _g, ...rest } = current;
    const actions: ConditionAction[] = [{ kind: 'open-violation', observedAt: threshold, violationId }];
    if (scenario.command) actions.push({ kind: 'command', ...scenario.command });
    return { state: { ...rest, status: 'active', since: lastSeen, violationId }, actions };
  }
  if (current.status === 'active' && current.since !== undefined && ms(lastSeen) > ms(current.since)) {
    return { state: toIdle(current, lastSeen), actions: [clearAction(scenario, current, lastSeen)] };
  }
  return ignore(current, 'no-change');
}

/**
 * Re-arms a condition when its violation is closed by people (an inspector), so that the next "on"
 * message opens a new case. Event-style scenarios (emergency button, bin violations) have no "off"
 * message and would otherwise stay active for good. A different or already-cleared violation: no change.
 */
export function onViolationClosed(state: ConditionState, violationId: string, now: string): ConditionState {
  if (state.status !== 'active' || state.violationId !== violationId) return state;
  return toIdle(state, iso(now));
}

/**
 * Free-space counts for a guidance zone: `thingNames` are the zone's sensors, `states` their guidance
 * states (a sensor without a state counts as free).
 */
export function freeSpaces(
  zoneId: string,
  thingNames: readonly string[],
  states: readonly ConditionState[],
): { zoneId: string; free: number; total: number } {
  const occupied = new Set(states.filter((s) => s.status === 'active').map((s) => s.thingName));
  const unique = new Set(thingNames);
  return { zoneId, free: [...unique].filter((t) => !occupied.has(t)).length, total: unique.size };
}

// ---------------------------------------------------------------------------------------------------
// (b) a violation and its work orders

export const VIOLATION_STATUSES = [
  'open',
  'dispatched',
  'acknowledged',
  'handled',
  'verified',
  'closed',
] as const;
export type ViolationStatus = (typeof VIOLATION_STATUSES)[number];

export interface Step {
  at: string;
  action:
    | 'discovered'
    | 'opened'
    | 'dispatched'
    | 'acknowledged'
    | 'handled'
    | 'feedback'
    | 'verified'
    | 'closed'
    | 'escalated'
    | 'cleared';
  actor: string;
  chainIndex?: number;
  note?: string;
}

export interface Violation {
  violationId: string;
  scenarioId: string;
  scenarioVersion: number;
  compoundId: string;
  zoneId?: string;
  /** The property company serving the sensor's area when the case opened (for its statistics). */
  companyId?: string;
  thingName: string;
  severity: Scenario['severity'];
  status: ViolationStatus;
  chainIndex: number;
  /** Who the current work order is for (set on dispatch and escalation). */
  assignee?: ChainStep['assignee'];
  ackDueAt?: string;
  handleDueAt?: string;
  openedAt: string;
  /** The current assignee's acknowledgement; cleared when the case escalates to the next step. */
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  handledAt?: string;
  handledBy?: string;
  verifiedAt?: string;
  verifiedBy?: string;
  closedAt?: string;
  closedBy?: string;
  escalations: number;
  steps: Step[];
}

/** An action that the violation's status does not allow (maps to 409 Conflict). */
export class ViolationTransitionError extends ConflictError {
  constructor(
    readonly violationId: string,
    readonly from: ViolationStatus,
    readonly attempted: string,
    reason?: string,
  ) {
    super(reason ?? `Violation ${violationId} is ${from}: cannot ${attempted}.`);
  }
}

/** The order of statuses; a violation only moves forward (escalation moves forward along the chain). */
export const STATUS_RANK: Readonly<Record<ViolationStatus, number>> = {
  open: 0,
  dispatched: 1,
  acknowledged: 2,
  handled: 3,
  verified: 4,
  closed: 5,
};

const SYSTEM = 'system';
export const sensorActor = (thingName: string): string => `sensor:${thingName}`;

const withStep = (v: Violation, patch: Partial<Violation>, step: Step): Violation => ({
  ...v,
  ...patch,
  steps: [...v.steps, step],
});

export function openViolation(input: {
  violationId: string;
  scenario: Scenario;
  compoundId: string;
  zoneId?: string;
  companyId?: string;
  thingName: string;
  observedAt: string;
  now: string;
}): Violation {
  const observedAt = iso(input.observedAt);
  const now = iso(input.now);
  return {
    violationId: input.violationId,
    scenarioId: input.scenario.scenarioId,
    scenarioVersion: input.scenario.version,
    compoundId: input.compoundId,
    ...(input.zoneId === undefined ? {} : { zoneId: input.zoneId }),
    ...(input.companyId === undefined ? {} : { companyId: input.companyId }),
    thingName: input.thingName,
    severity: input.scenario.severity,
    status: 'open',
    chainIndex: 0,
    openedAt: now,
    escalations: 0,
    steps: [
      { at: observedAt, action: 'discovered', actor: sensorActor(input.thingName) },
      { at: now, action: 'opened', actor: SYSTEM },
    ],
  };
}

const chainStepAt = (scenario: Scenario, chainIndex: number): ChainStep => {
  const step = scenario.chain[chainIndex];
  if (!step) throw new RangeError(`${scenario.scenarioId} has no chain step ${chainIndex}`);
  return step;
};

const dueDates = (step: ChainStep, now: string) => ({
  ackDueAt: plusSeconds(now, step.ackSeconds),
  handleDueAt: plusSeconds(now, step.handleSeconds),
});

/**
 * Sends the work order to the first step of the chain. Idempotent: dispatching an already dispatched
 * violation returns it unchanged with its current assignee and deadlines.
 */
export function dispatch(
  v: Violation,
  scenario: Scenario,
  now: string,
): { violation: Violation; assignee: ChainStep['assignee']; ackDueAt: string; handleDueAt: string } {
  const step = chainStepAt(scenario, v.chainIndex);
  if (v.status === 'dispatched' && v.ackDueAt && v.handleDueAt) {
    return { violation: v, assignee: step.assignee, ackDueAt: v.ackDueAt, handleDueAt: v.handleDueAt };
  }
  if (v.status !== 'open') throw new ViolationTransitionError(v.violationId, v.status, 'dispatch');
  const at = iso(now);
  const due = dueDates(step, at);
  const violation = withStep(
    v,
    { status: 'dispatched', assignee: step.assignee, ...due },
    { at, action: 'dispatched', actor: SYSTEM, chainIndex: v.chainIndex, note: step.assignee },
  );
  return { violation, assignee: step.assignee, ...due };
}

/** Only a dispatched violation can be acknowledged; the same actor acknowledging again changes nothing. */
export function acknowledge(v: Violation, actor: string, now: string): Violation {
  if (v.status === 'acknowledged' && v.acknowledgedBy === actor) return v;
  if (v.status !== 'dispatched') throw new ViolationTransitionError(v.violationId, v.status, 'acknowledge');
  const at = iso(now);
  return withStep(
    v,
    { status: 'acknowledged', acknowledgedAt: at, acknowledgedBy: actor },
    { at, action: 'acknowledged', actor, chainIndex: v.chainIndex },
  );
}

/** The assignee reports the case handled (the feedback of the closed loop goes in `note`). */
export function handle(v: Violation, actor: string, note: string | undefined, now: string): Violation {
  if (v.status === 'handled' && v.handledBy === actor) return v;
  if (v.status !== 'acknowledged') throw new ViolationTransitionError(v.violationId, v.status, 'handle');
  const at = iso(now);
  return withStep(
    v,
    { status: 'handled', handledAt: at, handledBy: actor },
    { at, action: 'handled', actor, chainIndex: v.chainIndex, ...(note ? { note } : {}) },
  );
}

/** Adds a remark (a resident's or an inspector's) to the record without changing the status. */
export function feedback(v: Violation, actor: string, note: string, now: string): Violation {
  if (v.status === 'closed') throw new ViolationTransitionError(v.violationId, v.status, 'add feedback');
  return withStep(v, {}, { at: iso(now), action: 'feedback', actor, chainIndex: v.chainIndex, note });
}

/** An inspector (or `sensor:<thing>` for automatic verification) confirms the handling. */
export function verify(v: Violation, actor: string, now: string): Violation {
  if (v.status === 'verified' && v.verifiedBy === actor) return v;
  if (v.status !== 'handled') throw new ViolationTransitionError(v.violationId, v.status, 'verify');
  const at = iso(now);
  return withStep(
    v,
    { status: 'verified', verifiedAt: at, verifiedBy: actor },
    { at, action: 'verified', actor, chainIndex: v.chainIndex },
  );
}

/** Closes a verified violation; closing a closed one changes nothing. */
export function close(v: Violation, actor: string, now: string): Violation {
  if (v.status === 'closed') return v;
  if (v.status !== 'verified') throw new ViolationTransitionError(v.violationId, v.status, 'close');
  const at = iso(now);
  const { ackDueAt: _a, handleDueAt: _h, ...rest } = v;
  return withStep(
    rest,
    { status: 'closed', closedAt: at, closedBy: actor },
    { at, action: 'closed', actor, chainIndex: v.chainIndex },
  );
}

/**
 * Whether a deadline is the current step's, due by now and unmet: 'ack' while dispatched, 'handle'
 * while dispatched or acknowledged. Only such a deadline escalates the case.
 */
export function missedDeadline(
  v: Violation,
  deadline: { kind: 'ack' | 'handle'; chainIndex: number },
  now: string,
): boolean {
  if (deadline.chainIndex !== v.chainIndex) return false;
  const dueAt = deadline.kind === 'ack' ? v.ackDueAt : v.handleDueAt;
  if (dueAt === undefined || ms(now) < ms(dueAt)) return false;
  return deadline.kind === 'ack'
    ? v.status === 'dispatched'
    : v.status === 'dispatched' || v.status === 'acknowledged';
}

/**
 * A deadline timer fired. It escalates only if it is the current deadline (same chainIndex, due by
 * now) and still unmet: 'ack' while dispatched, 'handle' while dispatched or acknowledged. Escalation
 * re-dispatches to the next step of the chain with fresh deadlines; the new assignee must acknowledge.
 * At the last step nothing changes (the case stays with the last assignee). A timer for an older
 * step, an early timer or a met deadline returns the violation unchanged, so firing twice = once.
 */
export function onDeadline(
  v: Violation,
  scenario: Scenario,
  deadline: { kind: 'ack' | 'handle'; chainIndex: number },
  now: string,
): { violation: Violation; escalatedTo?: ChainStep['assignee'] } {
  const unchanged = { violation: v };
  if (!missedDeadline(v, deadline, now)) return unchanged;
  const nextIndex = v.chainIndex + 1;
  const next = scenario.chain[nextIndex];
  if (!next) return unchanged;

  const at = iso(now);
  const { acknowledgedAt: _a, acknowledgedBy: _b, ...rest } = v;
  const violation = withStep(
    rest,
    {
      status: 'dispatched',
      chainIndex: nextIndex,
      assignee: next.assignee,
      escalations: v.escalations + 1,
      ...dueDates(next, at),
    },
    {
      at,
      action: 'escalated',
      actor: SYSTEM,
      chainIndex: nextIndex,
      note: `${deadline.kind} deadline missed by ${v.assignee ?? chainStepAt(scenario, v.chainIndex).assignee}; now ${next.assignee}`,
    },
  );
  return { violation, escalatedTo: next.assignee };
}

/**
 * Whether a work order's handling deadline can still act once its acknowledgement deadline was checked
 * without escalating: that deadline has passed, the case is still at the order's step and not yet
 * handled, and the chain has a step to escalate to. Only then is the handling deadline's timer set.
 */
export const awaitsHandleDeadline = (
  v: Violation,
  scenario: Scenario,
  chainIndex: number,
  now: string,
): boolean =>
  v.chainIndex === chainIndex &&
  v.ackDueAt !== undefined &&
  ms(now) >= ms(v.ackDueAt) &&
  (v.status === 'dispatched' || v.status === 'acknowledged') &&
  scenario.chain[chainIndex + 1] !== undefined;

/**
 * The sensor reports the condition gone. With `autoVerifyOnClear` the sensor is the evidence: the case
 * is handled (if it was not yet), verified and closed by `sensor:<thing>`. Otherwise a 'cleared' step
 * is recorded once and the status waits for an inspector. A closed violation is left as it is.
 */
export function clearBySensor(v: Violation, scenario: Scenario, thingName: string, now: string): Violation {
  if (thingName !== v.thingName) {
    throw new ViolationTransitionError(
      v.violationId,
      v.status,
      'clear',
      `Violation ${v.violationId} was raised by ${v.thingName}, not ${thingName}.`,
    );
  }
  if (v.status === 'closed') return v;
  const actor = sensorActor(thingName);
  const at = iso(now);
  const alreadyCleared = v.steps.some((s) => s.action === 'cleared' && s.actor === actor);
  let result = alreadyCleared
    ? v
    : withStep(v, {}, { at, action: 'cleared', actor, chainIndex: v.chainIndex });
  if (!scenario.autoVerifyOnClear) return result;

  const { ackDueAt: _a, handleDueAt: _h, ...rest } = result;
  result = rest;
  if (STATUS_RANK[result.status] < STATUS_RANK.handled) {
    result = withStep(
      result,
      { status: 'handled', handledAt: at, handledBy: actor },
      {
        at,
        action: 'handled',
        actor,
        chainIndex: result.chainIndex,
        note: 'condition cleared at the sensor',
      },
    );
  }
  if (result.status === 'handled') {
    result = withStep(
      result,
      { status: 'verified', verifiedAt: at, verifiedBy: actor },
      { at, action: 'verified', actor, chainIndex: result.chainIndex },
    );
  }
  return withStep(
    result,
    { status: 'closed', closedAt: at, closedBy: actor },
    { at, action: 'closed', actor, chainIndex: result.chainIndex },
  );
}
