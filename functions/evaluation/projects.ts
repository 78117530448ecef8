/**
 * Self-governance projects the guidance fund pays for: the committee proposes them within its
 * allocation, the street office approves them, and the committee records what is spent, never more than
 * a project's budget.
 */
import type { Caller } from '../shared/auth.js';
import { BadRequestError, ConflictError, NotFoundError, problem } from '../shared/errors.js';
import { assignmentsOf } from './service.js';
import { getData, keys, listData, putOnce } from './store.js';

interface Project {
  projectId: string;
  committeeId: string;
  title: string;
  description: string;
  budgetFen: number;
  proposedAt: string;
  proposedBy: string;
}
interface Spending {
  amountFen: number;
  description: string;
  receiptRef: string;
  at: string;
  by: string;
}

const projectKey = (sd: string, cycleId: string, committeeId: string, projectId: string) => ({
  pk: keys.cycle(sd, cycleId).pk,
  sk: `PROJECT#${committeeId}#${projectId}`,
});
const entryPrefix = (committeeId: string, projectId: string, what: string) =>
  `PROJECTLOG#${committeeId}#${projectId}#${what}`;

/** The committee's area, if the caller may act for it: the office, or a member of that area. */
const reach = async (caller: Caller, cycleId: string, committeeId: string) => {
  const sd = caller.subDistrictId;
  const assignments =
    sd === undefined ? [] : (await assignmentsOf(sd, cycleId)).filter((a) => a.committeeId === committeeId);
  const areaId = assignments[0]?.areaId;
  if (
    sd === undefined ||
    areaId === undefined ||
    !(caller.roles.includes('street-office') || caller.areaIds.includes(areaId))
  )
    throw new NotFoundError(`No committee ${committeeId} in cycle ${cycleId}.`);
  return sd;
};

const allocationOf = async (sd: string, cycleId: string, committeeId: string) => {
  const fund = await getData<{ allocations: { committeeId: string; fen: number }[] }>(keys.fund(sd, cycleId));
  return fund?.allocations.find((a) => a.committeeId === committeeId)?.fen;
};

const projectsOf = async (sd: string, cycleId: string, committeeId: string) =>
  (await listData<Project>(keys.cycle(sd, cycleId).pk, `PROJECT#${committeeId}#`)).map(({ data }) => data);

const logOf = async <T>(sd: string, cycleId: string, committeeId: string, projectId: string, what: string) =>
  (await listData<T>(keys.cycle(sd, cycleId).pk, entryPrefix(committeeId, projectId, what))).map(
    ({ data }) => data,
  );

export const proposeProject = async (
  caller: Caller,
  cycleId: string,
  committeeId: string,
  input: { projectId: string; title: string; description: string; budgetFen: number },
  now: string,
) => {
  const sd = await reach(caller, cycleId, committeeId);
  const allocated = await allocationOf(sd, cycleId, committeeId);
  if (allocated === undefined || allocated === 0)
    throw new ConflictError(`Committee ${committeeId} has no guidance fund in cycle ${cycleId}.`);
  const committed = (await projectsOf(sd, cycleId, committeeId)).reduce((sum, p) => sum + p.budgetFen, 0);
  if (committed + input.budgetFen > allocated)
    throw new BadRequestError(
      `The projects would need ${committed + input.budgetFen} fen of the ${allocated} allocated.`,
      problem('/body/budgetFen', `At most ${allocated - committed}`),
    );
  const project: Project = { ...input, committeeId, proposedAt: now, proposedBy: caller.sub };
  if (!(await putOnce(projectKey(sd, cycleId, committeeId, input.projectId), project)))
    throw new ConflictError(`Project ${input.projectId} exists.`, problem('/body/projectId', 'Taken'));
  return readProjectIn(sd, cycleId, committeeId, input.projectId);
};

const readProjectIn = async (sd: string, cycleId: string, committeeId: string, projectId: string) => {
  const project = await getData<Project>(projectKey(sd, cycleId, committeeId, projectId));
  if (project === undefined) throw new NotFoundError(`No project ${projectId}.`);
  const approvals = await logOf<{ at: string; by: string }>(sd, cycleId, committeeId, projectId, 'APPROVAL');
  const spending = await logOf<Spending>(sd, cycleId, committeeId, projectId, 'SPEND#');
  const spentFen = spending.reduce((sum, s) => sum + s.amountFen, 0);
  return { ...project, approved: approvals[0], spending, spentFen, leftFen: project.budgetFen - spentFen };
};

export const readProject = async (caller: Caller, cycleId: string, committeeId: string, projectId: string) =>
  readProjectIn(await reach(caller, cycleId, committeeId), cycleId, committeeId, projectId);

export const approveProject = async (
  caller: Caller,
  cycleId: string,
  committeeId: string,
  projectId: string,
  now: string,
) => {
  const sd = await reach(caller, cycleId, committeeId);
  await readProjectIn(sd, cycleId, committeeId, projectId);
  if (
    !(await putOnce(
      { pk: keys.cycle(sd, cycleId).pk, sk: entryPrefix(committeeId, projectId, 'APPROVAL') },
      { at: now, by: caller.sub },
    ))
  )
    throw new ConflictError(`Project ${projectId} is approved already.`);
  return readProjectIn(sd, cycleId, committeeId, projectId);
};

/**
 * Records spending on an approved project, within what is left of its budget. Each record is its own
 * item; two recorded at the same instant by two callers could together pass the budget (a check, then
 * a write), which the office sees in the project's totals.
 */
export const recordSpending = async (
  caller: Caller,
  cycleId: string,
  committeeId: string,
  projectId: string,
  input: { amountFen: number; description: string; receiptRef: string },
  now: string,
) => {
  const sd = await reach(caller, cycleId, committeeId);
  const project = await readProjectIn(sd, cycleId, committeeId, projectId);
  if (project.approved === undefined) throw new ConflictError(`Project ${projectId} is not approved.`);
  if (input.amountFen > project.leftFen)
    throw new BadRequestError(
      `Only ${project.leftFen} fen of the project's budget is left.`,
      problem('/body/amountFen', `At most ${project.leftFen}`),
    );
  const entry: Spending = { ...input, at: now, by: caller.sub };
  if (
    !(await putOnce(
      { pk: keys.cycle(sd, cycleId).pk, sk: `${entryPrefix(committeeId, projectId, 'SPEND#')}${now}` },
      entry,
    ))
  )
    throw new ConflictError('Spending was recorded at the same instant; try again.');
  return readProjectIn(sd, cycleId, committeeId, projectId);
};
