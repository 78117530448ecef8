/**
 * The resident code's use cases: covenant versions, their adoption by an area's general meeting, ladders
 * tuned per area, cases opened by staff, from the violations feature and from the fee ledger, notices
 * with delivery proof, deadlines on Scheduler timers that move a case up its ladder, and closure.
 *
 * Decisions a reader should know:
 * - A case keeps the ladder it was opened under: tuning an area's ladder later changes new cases only.
 * - A step's deadline runs from the delivery of its notice; its timer is scheduled before the case is
 *   written, so a failed write leaves a timer that finds nothing to do, never a case without a timer.
 * - A rule binds an area from the close of the meeting that adopted its covenant; a case for something
 *   observed before that is refused.
 */
import { createHash, randomUUID } from 'node:crypto';
import { passedMatterOf } from '../meetings/service.js';
import { loadVisible } from '../registry/service.js';
import { getRecord, type RegistryRecord } from '../registry/store.js';
import type { Caller, Role } from '../shared/auth.js';
import { requireEnv } from '../shared/env.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, problem } from '../shared/errors.js';
import { timersFor } from '../shared/timers.js';
import {
  type Actor,
  type Adoption,
  type CaseState,
  type CaseType,
  type Covenant,
  caseStatistics,
  DEFAULT_LADDERS,
  type Ladder,
  type LadderTuning,
  type Notice,
  onDeadline,
  openCase,
  recordNotice,
  remedy,
  ruleInForce,
  tuneLadder,
} from './domain.js';
import { parseFeeLedger } from './ledger.js';
import {
  adoptionsOf,
  casesOf,
  covenantsOf,
  ladderOf,
  type ResidentCase,
  ruleFor,
  statisticsOf,
  storeNewCase,
  unitsOfArea,
} from './rules.js';
import { getData, keys, listData, putAtRevision, putMany, putOnce } from './store.js';

export interface LedgerRecord {
  unitId: string;
  building: string;
  room: string;
  arrearsFen: number;
  since?: string;
  months?: number;
}

/** Field by field: DynamoDB returns a map's attributes in any order. */
const sameEntry = (a: LedgerRecord, b: LedgerRecord) =>
  a.unitId === b.unitId &&
  a.building === b.building &&
  a.room === b.room &&
  a.arrearsFen === b.arrearsFen &&
  a.since === b.since &&
  a.months === b.months;

/** Deadline timers: the resident code's timer function (infra/resident.ts gives its ARN and role). */
export interface DeadlineEvent {
  kind: 'resident-deadline';
  subDistrictId: string;
  areaId: string;
  caseId: string;
  stepIndex: number;
  deadlineAt: string;
}
let timers: ReturnType<typeof timersFor<DeadlineEvent>> | undefined;
const deadlineTimers = () => {
  timers ??= timersFor<DeadlineEvent>({
    functionArn: requireEnv('TIMER_FUNCTION_ARN'),
    roleArn: requireEnv('SCHEDULER_ROLE_ARN'),
  });
  return timers;
};
/** Scheduler names: at most 64 of [0-9A-Za-z_.-]; one per case step and deadline. */
const timerName = (event: DeadlineEvent) =>
  `rc-${createHash('sha256')
    .update(`${event.subDistrictId}/${event.areaId}/${event.caseId}/${event.stepIndex}/${event.deadlineAt}`)
    .digest('hex')
    .slice(0, 48)}`;

/** Who may carry out a step, by the ladder's actor. */
const ACTOR_ROLE: Record<Actor, Role> = {
  committee: 'committee-member',
  'property-company': 'property-staff',
  'street-office': 'street-office',
};

const subDistrictOf = (caller: Caller, what: string) => {
  if (caller.subDistrictId === undefined) throw new NotFoundError(`No ${what}.`);
  return caller.subDistrictId;
};

// ---------------------------------------------------------------------------------------------------
// Covenants and their adoption

export const createCovenant = async (caller: Caller, covenant: Covenant, now: string) => {
  const sd = subDistrictOf(caller, 'sub-district');
  const record = { ...covenant, recordedAt: now, recordedBy: caller.sub };
  if (!(await putOnce(keys.covenant(sd, covenant.covenantId, covenant.version), record)))
    throw new ConflictError(
      `Covenant ${covenant.covenantId} version ${covenant.version} exists; a change is a new version.`,
    );
  return record;
};

export const readCovenant = async (caller: Caller, covenantId: string, version: number) => {
  const sd = subDistrictOf(caller, `covenant ${covenantId}`);
  const found = await getData<Covenant>(keys.covenant(sd, covenantId, version));
  if (found === undefined) throw new NotFoundError(`No covenant ${covenantId} version ${version}.`);
  return found.data;
};

/** The area if the caller may see it (404 otherwise, as the registry answers). */
const visibleArea = (caller: Caller, areaId: string) => loadVisible(caller, 'area', areaId);

/**
 * Records that a passed matter of a closed general meeting of the area adopted a covenant version; it
 * binds the area from the meeting's close.
 */
export const adoptCovenant = async (
  caller: Caller,
  areaId: string,
  input: { covenantId: string; version: number; meetingId: string; matterId: string },
  now: string,
) => {
  const area = await visibleArea(caller, areaId);
  const sd = area.subDistrictId;
  if ((await getData<Covenant>(keys.covenant(sd, input.covenantId, input.version))) === undefined)
    throw new BadRequestError(
      `No covenant ${input.covenantId} version ${input.version}.`,
      problem('/body/version', 'Unknown covenant version'),
    );
  const { closedAt } = await passedMatterOf(sd, areaId, input.meetingId, input.matterId);
  const adoption: Adoption & { recordedAt: string; recordedBy: string } = {
    areaId,
    covenantId: input.covenantId,
    version: input.version,
    meetingId: input.meetingId,
    matterId: input.matterId,
    adoptedOn: closedAt,
    recordedAt: now,
    recordedBy: caller.sub,
  };
  if (!(await putOnce(keys.adoption(sd, areaId, input.meetingId, input.matterId), adoption)))
    throw new ConflictError('This vote adopted a covenant already; another covenant needs its own vote.');
  return adoption;
};

/** The area's adoptions and, for each case type, the rule in force now. */
export const areaCovenants = async (caller: Caller, areaId: string, now: string) => {
  const area = await visibleArea(caller, areaId);
  const adoptions = await adoptionsOf(area.subDistrictId, areaId);
  const covenants = await covenantsOf(area.subDistrictId, adoptions);
  return {
    areaId,
    adoptions: adoptions.sort((a, b) => (a.adoptedOn < b.adoptedOn ? -1 : 1)),
    rulesInForce: Object.fromEntries(
      (Object.keys(DEFAULT_LADDERS) as CaseType[]).map((caseType) => {
        const found = ruleInForce(adoptions, covenants, caseType, now);
        return [caseType, found.ok ? found : null];
      }),
    ),
  };
};

// ---------------------------------------------------------------------------------------------------
// Ladders

export const readLadder = async (caller: Caller, areaId: string, caseType: CaseType) => {
  const area = await visibleArea(caller, areaId);
  return ladderOf(area.subDistrictId, areaId, caseType);
};

/** Tunes the area's ladder within the law's order and bounds; open cases keep the ladder they have. */
export const tuneAreaLadder = async (
  caller: Caller,
  areaId: string,
  caseType: CaseType,
  tuning: LadderTuning,
  now: string,
) => {
  const area = await visibleArea(caller, areaId);
  const tuned = tuneLadder(DEFAULT_LADDERS[caseType], tuning, { areaId, at: now });
  if (!tuned.ok) throw new BadRequestError(`The ladder for ${caseType} cannot be tuned so.`, tuned.errors);
  const key = keys.ladder(area.subDistrictId, areaId, caseType);
  const current = await getData<Ladder>(key);
  if (!(await putAtRevision(key, tuned.ladder, current?.rev ?? 0)))
    throw new ConflictError('The ladder was tuned at the same time; read it and try again.');
  return tuned.ladder;
};

// ---------------------------------------------------------------------------------------------------
// Cases

const newCaseId = (now: string) => `${now.slice(0, 10).replaceAll('-', '')}-${randomUUID().slice(0, 8)}`;

/** Opens a case by staff: the units (or owners) it concerns must be of the area; the rule must bind. */
export const openStaffCase = async (
  caller: Caller,
  areaId: string,
  input: {
    caseType: CaseType;
    ruleId?: string;
    unitIds: string[];
    ownerIds: string[];
    postingBoard?: string;
    description: string;
    observedAt?: string;
    arrearsFen?: number;
  },
  now: string,
) => {
  const area = await visibleArea(caller, areaId);
  const sd = area.subDistrictId;
  const observedAt = input.observedAt ?? now;
  if (Date.parse(observedAt) > Date.parse(now))
    throw new BadRequestError(
      'The case cannot be about the future.',
      problem('/body/observedAt', 'In the future'),
    );
  const problems: { pointer: string; detail: string }[] = [];
  const units = await Promise.all(input.unitIds.map((unitId) => getRecord(sd, 'unit', unitId)));
  units.forEach((unit, i) => {
    if (unit === undefined || unit.areaId !== areaId)
      problems.push({
        pointer: `/body/unitIds/${i}`,
        detail: `No unit ${input.unitIds[i]} in area ${areaId}`,
      });
  });
  const owners = await Promise.all(input.ownerIds.map((ownerId) => getRecord(sd, 'owner', ownerId)));
  owners.forEach((owner, i) => {
    if (owner === undefined || owner.areaId !== areaId)
      problems.push({
        pointer: `/body/ownerIds/${i}`,
        detail: `${input.ownerIds[i]} is not an owner in area ${areaId}`,
      });
  });
  if (problems.length > 0) throw new BadRequestError('The case names people outside the area.', problems);
  const rule = await ruleFor(sd, areaId, input.caseType, observedAt, input.ruleId);
  if (!rule.ok)
    throw new BadRequestError(
      `No rule of the area's covenants binds a ${input.caseType} case observed at ${observedAt}: ${rule.reason}.`,
      problem(input.ruleId === undefined ? '/body/caseType' : '/body/ruleId', rule.reason),
    );
  const ladder = await ladderOf(sd, areaId, input.caseType);
  if ((input.caseType === 'fee-arrears') !== (input.arrearsFen !== undefined))
    throw new BadRequestError(
      'A fee-arrears case states the amount owed (arrearsFen), and only it.',
      problem('/body/arrearsFen', input.caseType === 'fee-arrears' ? 'Required' : 'Only for fee-arrears'),
    );
  const ownerIds = [
    ...new Set([...input.ownerIds, ...units.flatMap((unit) => (unit as RegistryRecord).ownerIds ?? [])]),
  ].sort();
  const record: ResidentCase = {
    caseId: newCaseId(now),
    subDistrictId: sd,
    areaId,
    compoundId: area.compoundId,
    caseType: input.caseType,
    source: { kind: 'staff', by: caller.sub },
    rule,
    concerns: {
      unitIds: [...input.unitIds].sort(),
      ownerIds,
      ...(input.postingBoard === undefined ? {} : { postingBoard: input.postingBoard }),
    },
    description: input.description,
    observedAt,
    ...(input.arrearsFen === undefined ? {} : { arrearsFen: input.arrearsFen }),
    ladder,
    state: openCase(ladder, now, caller.sub, input.description),
    openedAt: now,
  };
  if (!(await storeNewCase(record))) throw new ConflictError('A case with this id exists; try again.');
  return record;
};

/** Whether the caller may see the case: staff of the area see all, an owner only the cases about it. */
const mayRead = (caller: Caller, record: ResidentCase) =>
  !caller.roles.every((role) => role === 'owner') ||
  (caller.ownerId !== undefined && record.concerns.ownerIds.includes(caller.ownerId));

const loadCase = async (caller: Caller, areaId: string, caseId: string) => {
  const area = await visibleArea(caller, areaId);
  const found = await getData<ResidentCase>(keys.case(area.subDistrictId, areaId, caseId));
  if (found === undefined || !mayRead(caller, found.data)) throw new NotFoundError(`No case ${caseId}.`);
  return { area, record: found.data, rev: found.rev };
};

export const readCase = async (caller: Caller, areaId: string, caseId: string) =>
  (await loadCase(caller, areaId, caseId)).record;

export const listCases = async (
  caller: Caller,
  areaId: string,
  filters: { status?: CaseState['status']; caseType?: CaseType },
) => {
  const area = await visibleArea(caller, areaId);
  const all = await casesOf(area.subDistrictId, areaId);
  return all
    .map(({ data }) => data)
    .filter(
      (record) =>
        mayRead(caller, record) &&
        (filters.status === undefined || record.state.status === filters.status) &&
        (filters.caseType === undefined || record.caseType === filters.caseType),
    );
};

const currentStep = (record: ResidentCase) => record.ladder.steps[record.state.stepIndex];

/** Records the current step's notice with its delivery proof; its deadline timer is set first. */
export const recordCaseNotice = async (
  caller: Caller,
  areaId: string,
  caseId: string,
  notice: Notice,
  now: string,
) => {
  const { area, record, rev } = await loadCase(caller, areaId, caseId);
  const step = currentStep(record);
  if (step !== undefined && !caller.roles.includes(ACTOR_ROLE[step.actor]))
    throw new ForbiddenError(`The step ${step.stepId} of this case is the ${step.actor}'s to carry out.`);
  if ('unitIds' in notice.recipients && notice.recipients.unitIds !== undefined) {
    const outside = notice.recipients.unitIds.filter((unitId) => !record.concerns.unitIds.includes(unitId));
    if (outside.length > 0)
      throw new BadRequestError(
        'A notice goes to the households the case concerns.',
        problem('/body/recipients/unitIds', `Not concerned by this case: ${outside.join(', ')}`),
      );
  }
  const moved = recordNotice(record.state, record.ladder, notice, now, caller.sub);
  if (!moved.ok) {
    if (moved.status === 409) throw new ConflictError(moved.reason, problem(moved.pointer, moved.reason));
    throw new BadRequestError(moved.reason, problem(moved.pointer, moved.reason));
  }
  const next: ResidentCase = { ...record, state: moved.state };
  if (moved.state.deadlineAt !== undefined) {
    const event: DeadlineEvent = {
      kind: 'resident-deadline',
      subDistrictId: area.subDistrictId,
      areaId,
      caseId,
      stepIndex: moved.state.stepIndex,
      deadlineAt: moved.state.deadlineAt,
    };
    await deadlineTimers().schedule(timerName(event), moved.state.deadlineAt, event);
  }
  if (!(await putAtRevision(keys.case(area.subDistrictId, areaId, caseId), next, rev)))
    throw new ConflictError('The case changed at the same time; read it and try again.');
  return next;
};

/** Closes a case as remedied (or, for arrears, paid) with what shows it. */
export const remedyCase = async (
  caller: Caller,
  areaId: string,
  caseId: string,
  input: { kind: 'remedied' | 'paid'; detail: string },
  now: string,
) => {
  const { area, record, rev } = await loadCase(caller, areaId, caseId);
  const closed = remedy(record.state, record.ladder, { ...input, at: now, actor: caller.sub });
  if (!closed.ok) {
    if (closed.status === 409) throw new ConflictError(closed.reason, problem(closed.pointer, closed.reason));
    throw new BadRequestError(closed.reason, problem(closed.pointer, closed.reason));
  }
  const next: ResidentCase = { ...record, state: closed.state };
  if (!(await putAtRevision(keys.case(area.subDistrictId, areaId, caseId), next, rev)))
    throw new ConflictError('The case changed at the same time; read it and try again.');
  return next;
};

/** A deadline timer fired: a missed deadline moves the case one step up, recorded as the scheduler's. */
export const onCaseDeadline = async (event: DeadlineEvent, now: string): Promise<boolean> => {
  const key = keys.case(event.subDistrictId, event.areaId, event.caseId);
  for (let attempt = 0; attempt < 3; attempt++) {
    const found = await getData<ResidentCase>(key);
    if (found === undefined) return false;
    const moved = onDeadline(
      found.data.state,
      found.data.ladder,
      { stepIndex: event.stepIndex, deadlineAt: event.deadlineAt },
      now,
      'scheduler',
    );
    if (!moved.changed) return false;
    if (await putAtRevision(key, { ...found.data, state: moved.state }, found.rev)) return true;
  }
  throw new Error(`Case ${event.caseId} kept changing under its deadline timer`);
};

// ---------------------------------------------------------------------------------------------------
// The fee ledger

/**
 * Imports the property company's fee ledger of the area (CSV): every row validated first, one bad row
 * rejects the file with every failing line. Then new or changed rows are stored; a unit in arrears without
 * an open arrears case gets one (when a rule binds), a unit paid up closes its open one as paid. The same
 * file again writes nothing.
 */
export const importFeeLedger = async (caller: Caller, areaId: string, csv: string, now: string) => {
  const area = await visibleArea(caller, areaId);
  const sd = area.subDistrictId;
  const units = await unitsOfArea(sd, areaId);
  const parsed = parseFeeLedger(csv, {
    areaId,
    knownUnitIds: new Set(units.map((unit) => unit.id)),
    today: now.slice(0, 10),
  });
  if (!parsed.ok)
    throw new BadRequestError(
      `The fee ledger has ${parsed.errors.length} invalid line(s); nothing was imported.`,
      parsed.errors.map((error) => ({
        pointer: `/body/lines/${error.line}${error.field ? `/${error.field}` : ''}`,
        detail: `line ${error.line}${error.field ? ` (${error.field})` : ''}: ${error.reason}`,
      })),
    );
  const existing = new Map(
    (await listData<LedgerRecord>(keys.ledgerPartition(sd, areaId))).map(({ data }) => [data.unitId, data]),
  );
  const changed: { key: { pk: string; sk: string }; data: LedgerRecord }[] = [];
  const counts = { created: 0, updated: 0, unchanged: 0 };
  for (const entry of parsed.entries) {
    const record: LedgerRecord = {
      unitId: entry.unitId,
      building: entry.building,
      room: entry.room,
      arrearsFen: entry.arrearsFen,
      ...(entry.since === undefined ? {} : { since: entry.since }),
      ...(entry.months === undefined ? {} : { months: entry.months }),
    };
    const before = existing.get(entry.unitId);
    if (before !== undefined && sameEntry(before, record)) counts.unchanged++;
    else {
      counts[before === undefined ? 'created' : 'updated']++;
      changed.push({ key: keys.ledger(sd, areaId, entry.unitId), data: record });
    }
  }
  await putMany(changed);

  // Cases follow the ledger: one open arrears case per unit in arrears, closed when the unit is paid up.
  const openArrears = new Map(
    (await casesOf(sd, areaId))
      // A referred case is with the court or arbitrator: it is not opened again while the debt stands.
      .filter(({ data }) => data.caseType === 'fee-arrears' && data.state.status !== 'closed')
      .flatMap(({ data, rev }) => data.concerns.unitIds.map((unitId) => [unitId, { data, rev }] as const)),
  );
  const byUnit = new Map(units.map((unit) => [unit.id, unit]));
  const cases = {
    opened: [] as string[],
    closedAsPaid: [] as string[],
    notOpened: undefined as string | undefined,
  };
  const ladder = await ladderOf(sd, areaId, 'fee-arrears');
  const rule = await ruleFor(sd, areaId, 'fee-arrears', now);
  for (const entry of parsed.entries) {
    const open = openArrears.get(entry.unitId);
    if (entry.arrearsFen === 0 && open !== undefined && open.data.state.status === 'open') {
      const closed = remedy(open.data.state, open.data.ladder, {
        kind: 'paid',
        at: now,
        actor: caller.sub,
        detail: 'the fee ledger shows the unit paid up',
      });
      if (
        closed.ok &&
        (await putAtRevision(
          keys.case(sd, areaId, open.data.caseId),
          { ...open.data, state: closed.state },
          open.rev,
        ))
      )
        cases.closedAsPaid.push(open.data.caseId);
    }
    if (entry.arrearsFen > 0 && open === undefined) {
      if (!rule.ok) {
        cases.notOpened = rule.reason;
        continue;
      }
      const unit = byUnit.get(entry.unitId);
      const caseId = `fee-${createHash('sha256').update(`${entry.unitId}/${now}`).digest('hex').slice(0, 16)}`;
      const record: ResidentCase = {
        caseId,
        subDistrictId: sd,
        areaId,
        compoundId: area.compoundId,
        caseType: 'fee-arrears',
        source: { kind: 'ledger', importedAt: now },
        rule,
        concerns: { unitIds: [entry.unitId], ownerIds: [...(unit?.ownerIds ?? [])].sort() },
        description: `Property fees owed: ${entry.arrearsFen} fen${entry.since ? ` since ${entry.since}` : ''}`,
        observedAt: now,
        arrearsFen: entry.arrearsFen,
        ladder,
        state: openCase(ladder, now, caller.sub, 'fee ledger import'),
        openedAt: now,
      };
      if (await storeNewCase(record)) cases.opened.push(caseId);
    }
  }
  return {
    areaId,
    rows: parsed.entries.length,
    inArrears: parsed.inArrears,
    totalArrearsFen: parsed.totalArrearsFen,
    ledger: counts,
    cases: {
      opened: cases.opened.length,
      closedAsPaid: cases.closedAsPaid.length,
      ...(cases.notOpened === undefined ? {} : { notOpened: cases.notOpened }),
    },
  };
};

/** Case statistics of the area (for the evaluation of its committee). */
export const areaStatistics = async (caller: Caller, areaId: string) => {
  const area = await visibleArea(caller, areaId);
  return statisticsOf(area.subDistrictId, areaId);
};
