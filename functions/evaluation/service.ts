/**
 * The evaluation's use cases: indicator systems, cycles, evaluator assignments (with the conflict check
 * against the registry), score sheets, finalising a committee's result (computed indicators from the
 * meetings and disclosures on record), the report, the guidance fund and the disclosures committees post.
 */

import { getResult, listMeetings } from '../meetings/store.js';
import { loadVisible } from '../registry/service.js';
import { getRecord, listAllRecords, parentKeyOf } from '../registry/store.js';
import { statisticsOf } from '../resident/rules.js';
import type { Caller } from '../shared/auth.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, problem } from '../shared/errors.js';
import {
  aggregate,
  type ComputedInputs,
  checkSheet,
  compareYears,
  computeMetric,
  conflictOf,
  DEFAULT_INDICATOR_SYSTEM,
  type Grade,
  gapsOf,
  type IndicatorSystem,
  sheetFractions,
  splitFund,
} from './domain.js';
import type { CommitteeReport } from './report.js';
import { getData, keys, listData, put, putOnce } from './store.js';

export interface Cycle {
  cycleId: string;
  subDistrictId: string;
  year: number;
  systemId: string;
  systemVersion: number;
  disagreementThreshold: number;
  createdAt: string;
  createdBy: string;
}
export interface Assignment {
  cycleId: string;
  committeeId: string;
  areaId: string;
  evaluatorId: string;
  name: string;
  assignedAt: string;
}
interface Sheet {
  evaluatorId: string;
  scores: { indicatorId: string; score: number; evidence: string[]; note?: string }[];
  submittedAt: string;
}
type Aggregated = ReturnType<typeof aggregate>;
export interface FinalResult {
  cycleId: string;
  year: number;
  committeeId: string;
  areaId: string;
  result: Aggregated;
  gaps: ReturnType<typeof gapsOf>;
  followUps: { taskId: string; indicatorId: string; title: string; dueBy: string; status: 'open' | 'done' }[];
  comparison?: ReturnType<typeof compareYears> & { previousYear: number; previous: Aggregated };
  evaluators: string[];
  finalisedAt: string;
  finalisedBy: string;
}

const subDistrictOf = (caller: Caller) => {
  if (caller.subDistrictId === undefined) throw new NotFoundError('No such evaluation.');
  return caller.subDistrictId;
};

// ---------------------------------------------------------------------------------------------------
// Indicator systems

export const systemOf = async (
  sd: string,
  systemId: string,
  version: number,
): Promise<IndicatorSystem | undefined> =>
  systemId === DEFAULT_INDICATOR_SYSTEM.systemId && version === DEFAULT_INDICATOR_SYSTEM.version
    ? DEFAULT_INDICATOR_SYSTEM
    : getData<IndicatorSystem>(keys.system(sd, systemId, version));

export const createSystem = async (caller: Caller, system: IndicatorSystem) => {
  const sd = subDistrictOf(caller);
  if (system.systemId === DEFAULT_INDICATOR_SYSTEM.systemId)
    throw new ConflictError(
      'The default indicator system cannot be replaced; give yours an id of its own.',
      problem('/body/systemId', 'Reserved'),
    );
  if (!(await putOnce(keys.system(sd, system.systemId, system.version), system)))
    throw new ConflictError(
      `Version ${system.version} of ${system.systemId} exists; a changed system is a new version.`,
      problem('/body/version', 'Taken'),
    );
  return system;
};

export const readSystem = async (caller: Caller, systemId: string, version: number) => {
  const system = await systemOf(subDistrictOf(caller), systemId, version);
  if (system === undefined) throw new NotFoundError(`No indicator system ${systemId} version ${version}.`);
  return system;
};

// ---------------------------------------------------------------------------------------------------
// Cycles and assignments

export const createCycle = async (
  caller: Caller,
  input: {
    cycleId: string;
    year: number;
    systemId: string;
    systemVersion: number;
    disagreementThreshold: number;
  },
  now: string,
) => {
  const sd = subDistrictOf(caller);
  if ((await systemOf(sd, input.systemId, input.systemVersion)) === undefined)
    throw new BadRequestError(
      `No indicator system ${input.systemId} version ${input.systemVersion}.`,
      problem('/body/systemId', 'Unknown system'),
    );
  const cycle: Cycle = { ...input, subDistrictId: sd, createdAt: now, createdBy: caller.sub };
  if (!(await putOnce(keys.cycle(sd, input.cycleId), cycle)))
    throw new ConflictError(`Cycle ${input.cycleId} exists.`, problem('/body/cycleId', 'Taken'));
  return cycle;
};

const getCycle = async (sd: string, cycleId: string) => getData<Cycle>(keys.cycle(sd, cycleId));

export const assignmentsOf = async (sd: string, cycleId: string) =>
  (await listData<Assignment>(keys.cycle(sd, cycleId).pk, 'ASSIGN#')).map(({ data }) => data);

/** What the caller sees of a cycle: the office everything, an evaluator its own assignments. */
export const readCycle = async (caller: Caller, cycleId: string) => {
  const sd = subDistrictOf(caller);
  const cycle = await getCycle(sd, cycleId);
  if (cycle === undefined) throw new NotFoundError(`No evaluation cycle ${cycleId}.`);
  const all = await assignmentsOf(sd, cycleId);
  const assignments = caller.roles.includes('street-office')
    ? all
    : all.filter((a) => a.evaluatorId === caller.sub);
  if (!caller.roles.includes('street-office') && assignments.length === 0)
    throw new NotFoundError(`No evaluation cycle ${cycleId}.`);
  return { ...cycle, assignments };
};

/**
 * Assigns an evaluator to a committee, refused (409) when the evaluator owns a unit in the committee's
 * area or works for a property company serving it: the registry's owners, units and contracts decide.
 */
export const assign = async (
  caller: Caller,
  cycleId: string,
  input: {
    committeeId: string;
    evaluatorId: string;
    name: string;
    ownerIds: string[];
    employerCompanyId?: string;
  },
  now: string,
) => {
  const sd = subDistrictOf(caller);
  const cycle = await getCycle(sd, cycleId);
  if (cycle === undefined) throw new NotFoundError(`No evaluation cycle ${cycleId}.`);
  const committee = await getRecord(sd, 'committee', input.committeeId);
  if (committee?.areaId === undefined)
    throw new BadRequestError(
      `No committee ${input.committeeId}.`,
      problem('/body/committeeId', 'Unknown committee'),
    );
  const areaId = committee.areaId;
  const area = await getRecord(sd, 'area', areaId);
  const contracts = await listAllRecords<{ companyId: string }>(
    parentKeyOf(sd, { kind: 'area', id: areaId }, 'contract'),
  );
  const companyIds = [
    ...new Set(
      [area?.companyId, ...contracts.map((c) => c.data.companyId)].filter(
        (id): id is string => id !== undefined,
      ),
    ),
  ];
  const owners = await Promise.all(input.ownerIds.map((id) => getRecord(sd, 'owner', id)));
  const units = await listAllRecords(parentKeyOf(sd, { kind: 'area', id: areaId }, 'unit'));
  const ownsHere = units.some((unit) => (unit.ownerIds ?? []).some((id) => input.ownerIds.includes(id)));
  const ownerAreaIds = [
    ...owners.map((owner) => owner?.areaId).filter((id): id is string => id !== undefined),
    ...(ownsHere ? [areaId] : []),
  ];
  const conflict = conflictOf(
    {
      ownerAreaIds,
      ...(input.employerCompanyId === undefined ? {} : { employerCompanyId: input.employerCompanyId }),
    },
    { areaId, companyIds },
  );
  if (conflict !== undefined)
    throw new ConflictError(
      `Conflict of interest: ${conflict.detail}`,
      problem('/body/evaluatorId', conflict.reason),
    );
  const assignment: Assignment = {
    cycleId,
    committeeId: input.committeeId,
    areaId,
    evaluatorId: input.evaluatorId,
    name: input.name,
    assignedAt: now,
  };
  if (!(await putOnce(keys.assignment(sd, cycleId, input.committeeId, input.evaluatorId), assignment)))
    throw new ConflictError(`${input.evaluatorId} is assigned to ${input.committeeId} already.`);
  await put(keys.evaluatorAssignment(sd, input.evaluatorId, cycleId, input.committeeId), assignment);
  return assignment;
};

const assignmentOf = (sd: string, cycleId: string, committeeId: string, evaluatorId: string) =>
  getData<Assignment>(keys.assignment(sd, cycleId, committeeId, evaluatorId));

// ---------------------------------------------------------------------------------------------------
// Scores and results

export const submitSheet = async (
  caller: Caller,
  cycleId: string,
  committeeId: string,
  sheet: { scores: Sheet['scores'] },
  now: string,
) => {
  const sd = subDistrictOf(caller);
  const cycle = await getCycle(sd, cycleId);
  const assignment =
    cycle === undefined ? undefined : await assignmentOf(sd, cycleId, committeeId, caller.sub);
  if (cycle === undefined || assignment === undefined)
    throw new NotFoundError(`Committee ${committeeId} is not assigned to you in cycle ${cycleId}.`);
  if ((await getData(keys.result(sd, cycleId, committeeId))) !== undefined)
    throw new ConflictError(`The result of ${committeeId} is final.`);
  const system = (await systemOf(sd, cycle.systemId, cycle.systemVersion)) as IndicatorSystem;
  const checked = checkSheet(system, sheet);
  if (!checked.ok)
    throw new BadRequestError('The score sheet does not fit the indicator system.', checked.errors);
  const stored: Sheet = { evaluatorId: caller.sub, scores: sheet.scores, submittedAt: now };
  await put(keys.sheet(sd, cycleId, committeeId, caller.sub), stored);
  return stored;
};

const yearBounds = (year: number) => ({
  periodStart: new Date(Date.UTC(year, 0, 1) - 8 * 3_600_000).toISOString(),
  periodEnd: new Date(Date.UTC(year + 1, 0, 1) - 8 * 3_600_000).toISOString(),
});

/** The records the computed indicators are computed from: the area's meetings and disclosures of the year. */
const computedInputs = async (sd: string, areaId: string, year: number): Promise<ComputedInputs> => {
  const bounds = yearBounds(year);
  const inYear = (at: string) => at >= bounds.periodStart && at < bounds.periodEnd;
  const meetings: ComputedInputs['meetings'] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await listMeetings(sd, areaId, { limit: 100, exclusiveStartKey: startKey });
    for (const meeting of page.items) {
      if (meeting.status !== 'closed' || meeting.closedAt === undefined || !inYear(meeting.votingClosesAt))
        continue;
      const published = await getResult(meeting);
      const matters = (published?.result.matters ?? []) as { raw?: { quorum?: boolean }; quorum?: boolean }[];
      meetings.push({
        heldAt: meeting.votingClosesAt,
        quorate: matters.some((matter) => matter.raw?.quorum === true || matter.quorum === true),
        noticedAt: meeting.noticePostedAt,
        votingOpensAt: meeting.votingOpensAt,
      });
    }
    startKey = page.lastKey;
  } while (startKey !== undefined);
  const disclosures = (
    await listData<{ kind: string; postedAt: string }>(keys.disclosure(sd, areaId, '', '').pk)
  ).map(({ data }) => data);
  const posted = (kind: string) =>
    disclosures.filter((d) => d.kind === kind && inYear(d.postedAt)).map((d) => d.postedAt);
  return {
    meetings,
    fundDisclosures: posted('maintenance-fund'),
    incomeDisclosures: posted('common-income'),
    ...bounds,
  };
};

const computeResult = async (sd: string, cycle: Cycle, committeeId: string, areaId: string) => {
  const system = (await systemOf(sd, cycle.systemId, cycle.systemVersion)) as IndicatorSystem;
  const sheets = (await listData<Sheet>(keys.cycle(sd, cycle.cycleId).pk, `SHEET#${committeeId}#`)).map(
    ({ data }) => data,
  );
  const rules = new Map(
    system.dimensions.flatMap((d) => d.indicators).map((i) => [i.indicatorId, i.rule] as const),
  );
  const inputs = await computedInputs(sd, areaId, cycle.year);
  const computed = new Map<string, number>();
  for (const [indicatorId, rule] of rules)
    if (rule.kind === 'computed') computed.set(indicatorId, computeMetric(rule.metric, inputs));
  const result = aggregate(
    system,
    sheets.map((sheet) => ({
      evaluatorId: sheet.evaluatorId,
      scores: sheetFractions(system, { scores: sheet.scores }),
    })),
    computed,
    { disagreementThreshold: cycle.disagreementThreshold },
  );
  return { system, sheets, result };
};

/** The previous year's final result of the committee, from the cycle of that year, if any. */
const previousResult = async (sd: string, committeeId: string, year: number) => {
  const earlier = await listData<FinalResult>(`EVALCOMMITTEE#${sd}#${committeeId}`, String(year - 1));
  return earlier[0]?.data;
};

export const finalise = async (caller: Caller, cycleId: string, committeeId: string, now: string) => {
  const sd = subDistrictOf(caller);
  const cycle = await getCycle(sd, cycleId);
  if (cycle === undefined) throw new NotFoundError(`No evaluation cycle ${cycleId}.`);
  const assignments = (await assignmentsOf(sd, cycleId)).filter((a) => a.committeeId === committeeId);
  if (assignments.length === 0) throw new NotFoundError(`No committee ${committeeId} in cycle ${cycleId}.`);
  const areaId = assignments[0]?.areaId as string;
  const { system, sheets, result } = await computeResult(sd, cycle, committeeId, areaId);
  const missing = assignments
    .filter((a) => !sheets.some((s) => s.evaluatorId === a.evaluatorId))
    .map((a) => a.evaluatorId);
  if (missing.length > 0) throw new ConflictError(`Waiting for the scores of ${missing.join(', ')}.`);
  if (result.disagreements.length > 0)
    throw new ConflictError(
      `The evaluators disagree on ${result.disagreements.join(', ')}: reconcile (each re-submits a sheet) before finalising.`,
      result.disagreements.map((id) => ({
        pointer: `/indicators/${id}`,
        detail: 'Disagreement beyond the threshold',
      })),
    );
  const gaps = gapsOf(system, result, now);
  const previous = await previousResult(sd, committeeId, cycle.year);
  const final: FinalResult = {
    cycleId,
    year: cycle.year,
    committeeId,
    areaId,
    result,
    gaps,
    followUps: gaps.map((gap, index) => ({
      taskId: `${cycleId}.${committeeId}.${index + 1}`,
      indicatorId: gap.indicatorId,
      title: gap.title,
      dueBy: gap.dueBy,
      status: 'open' as const,
    })),
    ...(previous === undefined
      ? {}
      : {
          comparison: {
            ...compareYears(previous.result, result),
            previousYear: previous.year,
            previous: previous.result,
          },
        }),
    evaluators: assignments.map((a) => a.evaluatorId),
    finalisedAt: now,
    finalisedBy: caller.sub,
  };
  if (!(await putOnce(keys.result(sd, cycleId, committeeId), final)))
    throw new ConflictError(`The result of ${committeeId} in ${cycleId} is final already.`);
  await put({ pk: `EVALCOMMITTEE#${sd}#${committeeId}`, sk: `${cycle.year}#${cycleId}` }, final);
  return final;
};

// ---------------------------------------------------------------------------------------------------
// The report

/** Who reads a committee's report: the office, its assigned evaluators, the committee's members. */
export const reportOf = async (
  caller: Caller,
  cycleId: string,
  committeeId: string,
  now: string,
): Promise<CommitteeReport> => {
  const sd = subDistrictOf(caller);
  const cycle = await getCycle(sd, cycleId);
  const assignments =
    cycle === undefined
      ? []
      : (await assignmentsOf(sd, cycleId)).filter((a) => a.committeeId === committeeId);
  const areaId = assignments[0]?.areaId;
  const allowed =
    areaId !== undefined &&
    (caller.roles.includes('street-office') ||
      (caller.roles.includes('evaluator') && assignments.some((a) => a.evaluatorId === caller.sub)) ||
      (caller.roles.includes('committee-member') && caller.areaIds.includes(areaId)));
  if (cycle === undefined || areaId === undefined || !allowed)
    throw new NotFoundError(`No report for ${committeeId} in cycle ${cycleId}.`);
  const final = await getData<FinalResult>(keys.result(sd, cycleId, committeeId));
  const computedNow = final === undefined ? await computeResult(sd, cycle, committeeId, areaId) : undefined;
  const system = (await systemOf(sd, cycle.systemId, cycle.systemVersion)) as IndicatorSystem;
  const result = final?.result ?? (computedNow?.result as Aggregated);
  const sheets =
    computedNow?.sheets ??
    (await listData<Sheet>(keys.cycle(sd, cycleId).pk, `SHEET#${committeeId}#`)).map(({ data }) => data);
  const area = await getRecord(sd, 'area', areaId);
  const per = new Map(result.perIndicator.map((p) => [p.indicatorId, p] as const));
  const gaps = final?.gaps ?? gapsOf(system, result, now);
  return {
    committee: {
      committeeId,
      areaId,
      ...(typeof area?.data.name === 'string' ? { areaName: area.data.name } : {}),
      ...(area?.compoundId ? { compoundId: area.compoundId } : {}),
    },
    cycle: {
      cycleId,
      year: cycle.year,
      systemId: cycle.systemId,
      systemVersion: cycle.systemVersion,
      ...(final ? { finalisedAt: final.finalisedAt } : {}),
    },
    status: final === undefined ? 'open' : 'finalised',
    scoreHundredths: result.scoreHundredths,
    grade: result.grade,
    evaluators: assignments.map((a) => ({ evaluatorId: a.evaluatorId, name: a.name })),
    dimensions: system.dimensions.map((dimension) => ({
      dimensionId: dimension.dimensionId,
      title: dimension.title,
      indicators: dimension.indicators.map((indicator) => {
        const p = per.get(indicator.indicatorId);
        return {
          indicatorId: indicator.indicatorId,
          title: indicator.title,
          weight: indicator.weight,
          fraction: p?.fraction ?? 0,
          pointsHundredths: p?.pointsHundredths ?? 0,
          computed: indicator.rule.kind === 'computed',
          veto: indicator.veto === true,
          vetoFailed: p?.vetoFailed ?? false,
          disagreement: p?.disagreement ?? false,
          evidence: sheets.flatMap((sheet) =>
            sheet.scores.filter((s) => s.indicatorId === indicator.indicatorId).flatMap((s) => s.evidence),
          ),
        };
      }),
    })),
    vetoed: result.vetoed,
    disagreements: result.disagreements,
    gaps: gaps.map((gap) => ({
      indicatorId: gap.indicatorId,
      title: gap.title,
      pointsLostHundredths: gap.pointsLostHundredths,
      ...(gap.advice ? { advice: gap.advice } : {}),
      dueBy: gap.dueBy,
    })),
    followUps: final?.followUps ?? [],
    ...(final?.comparison
      ? {
          comparison: {
            previousYear: final.comparison.previousYear,
            previousScoreHundredths: final.comparison.previous.scoreHundredths,
            previousGrade: final.comparison.previous.grade,
            scoreChangeHundredths: final.comparison.scoreChangeHundredths,
            gradeChange: final.comparison.gradeChange,
          },
        }
      : {}),
    ...(await fundOf(sd, cycleId, committeeId, cycle.year)),
    residentCases: await statisticsOf(sd, areaId),
    generatedAt: now,
  };
};

const fundOf = async (sd: string, cycleId: string, committeeId: string, year: number) => {
  const fund = await getData<{ allocations: { committeeId: string; fen: number }[] }>(keys.fund(sd, cycleId));
  const allocation = fund?.allocations.find((a) => a.committeeId === committeeId);
  return allocation === undefined ? {} : { fund: { year, allocatedFen: allocation.fen } };
};

// ---------------------------------------------------------------------------------------------------
// The guidance fund and disclosures

export const allocateFund = async (
  caller: Caller,
  cycleId: string,
  input: { budgetFen: number; weights: Record<Grade, number>; capsFen: Record<Grade, number> },
  now: string,
) => {
  const sd = subDistrictOf(caller);
  const cycle = await getCycle(sd, cycleId);
  if (cycle === undefined) throw new NotFoundError(`No evaluation cycle ${cycleId}.`);
  const results = (await listData<FinalResult>(keys.cycle(sd, cycleId).pk, 'RESULT#')).map(
    ({ data }) => data,
  );
  const committees = [...new Set((await assignmentsOf(sd, cycleId)).map((a) => a.committeeId))];
  const unfinished = committees.filter((id) => !results.some((r) => r.committeeId === id));
  if (unfinished.length > 0)
    throw new ConflictError(`Not every committee is finalised: ${unfinished.join(', ')}.`);
  const split = splitFund(
    input.budgetFen,
    results.map((r) => ({ committeeId: r.committeeId, grade: r.result.grade })),
    input.weights,
    input.capsFen,
  );
  const fund = { cycleId, year: cycle.year, ...input, ...split, allocatedAt: now, allocatedBy: caller.sub };
  if (!(await putOnce(keys.fund(sd, cycleId), fund)))
    throw new ConflictError(`The fund of ${cycleId} is allocated already.`);
  return fund;
};

export const postDisclosure = async (
  caller: Caller,
  areaId: string,
  input: { kind: 'maintenance-fund' | 'common-income'; period: string; documentRef: string },
  now: string,
) => {
  const area = await loadVisible(caller, 'area', areaId);
  if (
    caller.roles.includes('committee-member') &&
    !caller.areaIds.includes(areaId) &&
    !caller.roles.includes('street-office')
  )
    throw new ForbiddenError('Only the area’s own committee posts its disclosures.');
  const disclosure = { ...input, areaId, postedAt: now, postedBy: caller.sub };
  if (!(await putOnce(keys.disclosure(area.subDistrictId, areaId, input.kind, now), disclosure)))
    throw new ConflictError('A disclosure of this kind was posted at the same instant.');
  return disclosure;
};
