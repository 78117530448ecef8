/**
 * The merger's use cases: what each actor does through the API, and what each step of the state machine
 * (infra/merger.ts) does through the workflow function. The workflow waits on task tokens; the API's
 * writes answer them. Every answer is idempotent: a token answered twice, or no longer waited on, is no
 * error, and every write that may be repeated is conditional.
 */
import { createHash } from 'node:crypto';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { openMatter } from '../meetings/service.js';
import { getMeeting } from '../meetings/store.js';
import { type Ancestry, inTenancy } from '../registry/domain.js';
import { getRecord } from '../registry/store.js';
import type { Caller } from '../shared/auth.js';
import { onFirstUse } from '../shared/clients.js';
import { requireEnv } from '../shared/env.js';
import { BadRequestError, ConflictError, NotFoundError, problem } from '../shared/errors.js';
import { logger } from '../shared/observability.js';
import {
  type AreaVote,
  type BureauDecision,
  CANCELLED_ERROR,
  type CreateProposalInput,
  canSee,
  mergerMatter,
  type Participation,
  participants,
  type SurveyResult,
} from './domain.js';
import {
  getProposal,
  listEntries,
  type Proposal,
  ProposalTakenError,
  participationEntry,
  putEntryOnce,
  recordEvent,
  createProposal as storeProposal,
  surveyEntry,
  timelineOf,
  updateProposal,
} from './store.js';

const sfn = onFirstUse(() => new SFNClient({}));

/**
 * The proposal's execution name: its id, made unique across sub-districts (proposal ids are a namespace
 * per sub-district, execution names one per state machine) by a digest of the sub-district — at most
 * 63 + 1 + 12 characters of Step Functions' 80.
 */
export const executionName = (subDistrictId: string, proposalId: string) =>
  `${proposalId}.${createHash('sha256').update(subDistrictId).digest('hex').slice(0, 12)}`;

/** Sends a task answer; a token that is no longer waited on (answered, timed out, cancelled) is fine. */
const answer = async (send: () => Promise<unknown>): Promise<boolean> => {
  try {
    await send();
    return true;
  } catch (error) {
    if (error instanceof TaskDoesNotExist || error instanceof InvalidToken || error instanceof TaskTimedOut) {
      logger.warn('The workflow no longer waits for this token', { error: (error as Error).name });
      return false;
    }
    throw error;
  }
};

// ---------------------------------------------------------------------------------------------------
// Tenancy

export { canSee };

export const loadProposal = async (caller: Caller, proposalId: string): Promise<Proposal> => {
  const proposal =
    caller.subDistrictId === undefined ? undefined : await getProposal(caller.subDistrictId, proposalId);
  if (proposal === undefined || !canSee(caller, proposal))
    throw new NotFoundError(`No proposal ${proposalId}.`);
  return proposal;
};

const requireArea = (proposal: Proposal, areaId: string) => {
  if (!proposal.areaIds.includes(areaId))
    throw new NotFoundError(`Area ${areaId} is not part of proposal ${proposal.proposalId}.`);
};

// ---------------------------------------------------------------------------------------------------
// The street office

/**
 * Creates a proposal and starts its execution, named by the proposal id (a repeated start is the same
 * execution). Every area must be the office's, in the named compound and not merged already.
 */
export const createProposal = async (caller: Caller, input: CreateProposalInput, now: string) => {
  const subDistrictId = caller.subDistrictId;
  if (subDistrictId === undefined) throw new NotFoundError(`No compound ${input.compoundId}.`);
  const compound = await getRecord(subDistrictId, 'compound', input.compoundId);
  if (compound === undefined || !inTenancy(caller, { ...compound, kind: 'compound', id: compound.id }))
    throw new BadRequestError(
      `No compound ${input.compoundId}.`,
      problem('/body/compoundId', 'Unknown compound'),
    );
  const areas = await Promise.all(input.areaIds.map((id) => getRecord(subDistrictId, 'area', id)));
  areas.forEach((area, index) => {
    const pointer = `/body/areaIds/${index}`;
    if (area === undefined || !inTenancy(caller, { ...(area as Ancestry), kind: 'area', id: area.id }))
      throw new BadRequestError(
        `No area ${input.areaIds[index]} in this sub-district.`,
        problem(pointer, 'Unknown area'),
      );
    if (area.compoundId !== input.compoundId)
      throw new BadRequestError(
        `Area ${area.id} is in compound ${area.compoundId}, not ${input.compoundId}.`,
        problem(pointer, 'Area of another compound'),
      );
    if ((area.data as { mergedInto?: string }).mergedInto !== undefined)
      throw new ConflictError(`Area ${area.id} was merged already.`, problem(pointer, 'Merged already'));
  });
  if ((await getRecord(subDistrictId, 'area', input.newArea.areaId)) !== undefined)
    throw new ConflictError(`Area ${input.newArea.areaId} exists.`, problem('/body/newArea/areaId', 'Taken'));
  const stateMachineArn = requireEnv('MERGER_STATE_MACHINE_ARN');
  const name = executionName(subDistrictId, input.proposalId);
  const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  const proposal: Proposal = {
    ...input,
    subDistrictId,
    createdBy: caller.sub,
    createdAt: now,
    step: 'survey',
    executionArn,
    tokens: {},
    version: 1,
  };
  try {
    await storeProposal(proposal);
  } catch (error) {
    if (error instanceof ProposalTakenError)
      throw new ConflictError(`Proposal ${input.proposalId} exists.`, problem('/body/proposalId', 'Taken'));
    throw error;
  }
  await recordEvent(subDistrictId, input.proposalId, 'proposed', {
    at: now,
    step: 'survey',
    what: 'proposed',
    actor: caller.sub,
    detail: { areaIds: input.areaIds, newArea: input.newArea },
  });
  try {
    await sfn().send(
      new StartExecutionCommand({
        stateMachineArn,
        name,
        input: JSON.stringify({ subDistrictId, proposalId: input.proposalId }),
      }),
    );
  } catch (error) {
    // The same name and input is the same execution (idempotent); anything else is a real failure.
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
  }
  return proposal;
};

/** Cancels a proposal before the merge is carried out: the waiting step fails with ProposalCancelled. */
export const cancelProposal = async (caller: Caller, proposalId: string, reason: string, now: string) => {
  const proposal = await loadProposal(caller, proposalId);
  if (proposal.outcome !== undefined)
    throw new ConflictError(`Proposal ${proposalId} ended (${proposal.outcome}).`);
  if (proposal.step === 'merging' || proposal.step === 'founding')
    throw new ConflictError('The merge is being carried out; it can no longer be cancelled.');
  const updated = await updateProposal(proposal.subDistrictId, proposalId, (current) =>
    current.cancellation !== undefined
      ? undefined
      : { ...current, cancellation: { reason, at: now, by: caller.sub } },
  );
  if (updated?.cancellation?.at !== now)
    throw new ConflictError(`Proposal ${proposalId} is being cancelled.`);
  await recordEvent(proposal.subDistrictId, proposalId, 'cancel-requested', {
    at: now,
    step: proposal.step,
    what: 'cancellation requested',
    actor: caller.sub,
    detail: { reason },
  });
  await failWaitingTasks(updated);
  return updated;
};

/** Fails every token the proposal holds with ProposalCancelled (the votes' tokens are the meetings'). */
const failWaitingTasks = async (proposal: Proposal) => {
  for (const token of Object.values(proposal.tokens)) {
    if (token === undefined) continue;
    await answer(() =>
      sfn().send(
        new SendTaskFailureCommand({
          taskToken: token,
          error: CANCELLED_ERROR,
          cause: proposal.cancellation?.reason,
        }),
      ),
    );
  }
};

// ---------------------------------------------------------------------------------------------------
// The survey organisation, the committees, the housing bureau

export const uploadSurvey = async (
  caller: Caller,
  proposalId: string,
  areaId: string,
  survey: SurveyResult,
  now: string,
) => {
  const proposal = await loadProposal(caller, proposalId);
  requireArea(proposal, areaId);
  if (proposal.step !== 'survey' || proposal.outcome !== undefined)
    throw new ConflictError(`The survey of proposal ${proposalId} is over.`);
  const stored = await putEntryOnce(proposal.subDistrictId, proposalId, surveyEntry(areaId), {
    ...survey,
    areaId,
    uploadedBy: caller.sub,
    uploadedAt: now,
  });
  if (!stored) throw new ConflictError(`The survey of area ${areaId} was uploaded already.`);
  await recordEvent(proposal.subDistrictId, proposalId, `survey-${areaId}`, {
    at: now,
    step: 'survey',
    what: 'survey results uploaded',
    actor: caller.sub,
    areaId,
    detail: { organisation: survey.organisation, respondents: survey.respondents, inFavour: survey.inFavour },
  });
  await settleSurvey(proposal.subDistrictId, proposalId);
  return { areaId, ...survey };
};

/** Ends the survey step once every area has results (by whoever comes last: an upload or the task). */
const settleSurvey = async (subDistrictId: string, proposalId: string) => {
  const proposal = await getProposal(subDistrictId, proposalId);
  const token = proposal?.tokens.survey;
  if (proposal === undefined || token === undefined) return;
  const surveys = await listEntries<SurveyResult & { areaId: string }>(subDistrictId, proposalId, 'AREA#');
  const done = surveys.filter(({ entry }) => entry.endsWith('#survey')).map(({ data }) => data);
  if (done.length < proposal.areaIds.length) {
    await answer(() => sfn().send(new SendTaskHeartbeatCommand({ taskToken: token })));
    return;
  }
  await answer(() =>
    sfn().send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ surveyed: done.length }) }),
    ),
  );
};

export const recordParticipation = async (
  caller: Caller,
  proposalId: string,
  areaId: string,
  decision: Participation,
  now: string,
) => {
  const proposal = await loadProposal(caller, proposalId);
  requireArea(proposal, areaId);
  if (!caller.areaIds.includes(areaId))
    throw new NotFoundError(`No area ${areaId} of yours in this proposal.`);
  if (proposal.step !== 'participation' || proposal.outcome !== undefined)
    throw new ConflictError(
      proposal.step === 'survey'
        ? 'The survey is still running; areas decide after it.'
        : `Participation in proposal ${proposalId} is decided.`,
    );
  const decided = await listEntries(proposal.subDistrictId, proposalId, participationEntry(areaId));
  if (decided.length > 0) throw new ConflictError(`Area ${areaId} decided already; the decision is final.`);
  if (decision.takesPart && decision.meetingId !== undefined) {
    const meeting = await getMeeting(proposal.subDistrictId, decision.meetingId);
    if (meeting === undefined || meeting.areaId !== areaId)
      throw new BadRequestError(
        `No meeting ${decision.meetingId} in area ${areaId}.`,
        problem('/body/meetingId', 'Unknown meeting'),
      );
    if (meeting.status !== 'noticed')
      throw new ConflictError(
        `Meeting ${decision.meetingId} is ${meeting.status}; the plan needs a noticed meeting.`,
      );
  }
  const stored = await putEntryOnce(proposal.subDistrictId, proposalId, participationEntry(areaId), {
    ...decision,
    areaId,
    decidedBy: caller.sub,
    decidedAt: now,
  });
  if (!stored) throw new ConflictError(`Area ${areaId} decided already; the decision is final.`);
  await recordEvent(proposal.subDistrictId, proposalId, `participation-${areaId}`, {
    at: now,
    step: 'participation',
    what: decision.takesPart ? 'takes part' : 'opted out',
    actor: caller.sub,
    areaId,
    detail: decision.takesPart ? { meetingId: decision.meetingId } : { reason: decision.reason },
  });
  await settleParticipation(proposal.subDistrictId, proposalId);
  return { areaId, ...decision };
};

const participationOf = async (proposal: Proposal) => {
  const entries = await listEntries<Participation & { areaId: string }>(
    proposal.subDistrictId,
    proposal.proposalId,
    'AREA#',
  );
  const decisions = new Map(
    entries
      .filter(({ entry }) => entry.endsWith('#participation'))
      .map(({ data }) => [data.areaId, data] as const),
  );
  return participants(proposal.areaIds, decisions);
};

const settleParticipation = async (subDistrictId: string, proposalId: string) => {
  const proposal = await getProposal(subDistrictId, proposalId);
  const token = proposal?.tokens.participation;
  if (proposal === undefined || token === undefined) return;
  const outcome = await participationOf(proposal);
  if (!outcome.complete) {
    await answer(() => sfn().send(new SendTaskHeartbeatCommand({ taskToken: token })));
    return;
  }
  await answer(() =>
    sfn().send(
      new SendTaskSuccessCommand({
        taskToken: token,
        output: JSON.stringify({ areas: outcome.taking, optedOut: outcome.optedOut }),
      }),
    ),
  );
};

export const decide = async (caller: Caller, proposalId: string, decision: BureauDecision, now: string) => {
  const proposal = await loadProposal(caller, proposalId);
  if (proposal.decision !== undefined) throw new ConflictError(`Proposal ${proposalId} was decided already.`);
  if (proposal.step !== 'bureau' || proposal.outcome !== undefined || proposal.tokens.bureau === undefined)
    throw new ConflictError(`Proposal ${proposalId} does not wait for the bureau's decision.`);
  const updated = await updateProposal(proposal.subDistrictId, proposalId, (current) =>
    current.decision !== undefined
      ? undefined
      : { ...current, decision: { ...decision, decidedAt: now, decidedBy: caller.sub } },
  );
  if (updated?.decision?.decidedAt !== now || updated.decision.decidedBy !== caller.sub)
    throw new ConflictError(`Proposal ${proposalId} was decided already.`);
  await recordEvent(proposal.subDistrictId, proposalId, 'bureau-decision', {
    at: now,
    step: 'bureau',
    what: decision.approved ? 'approved by the housing bureau' : 'rejected by the housing bureau',
    actor: caller.sub,
    detail: { ...decision },
  });
  const token = updated.tokens.bureau as string;
  await answer(() =>
    sfn().send(
      new SendTaskSuccessCommand({
        taskToken: token,
        output: JSON.stringify({ approved: decision.approved }),
      }),
    ),
  );
  return updated;
};

// ---------------------------------------------------------------------------------------------------
// Reading

/** The proposal as its readers see it (no task tokens). */
export const present = ({ tokens, ...proposal }: Proposal) => ({
  ...proposal,
  waitingFor: Object.keys(tokens).filter((step) => tokens[step as keyof typeof tokens] !== undefined),
});

/** The timeline: the feature's own events and the execution's state transitions, in time order. */
export const timeline = async (caller: Caller, proposalId: string) => {
  const proposal = await loadProposal(caller, proposalId);
  const events = await timelineOf(proposal.subDistrictId, proposalId);
  const execution = await describeExecution(proposal.executionArn);
  return {
    proposalId,
    step: proposal.step,
    outcome: proposal.outcome,
    execution,
    events,
  };
};

const describeExecution = async (executionArn: string) => {
  try {
    const described = await sfn().send(new DescribeExecutionCommand({ executionArn }));
    const states: { at: string; state: string; type: string }[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn().send(
        new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
      );
      for (const event of page.events ?? []) {
        const state = stateOf(event);
        if (state !== undefined)
          states.push({ at: event.timestamp?.toISOString() ?? '', state, type: event.type ?? '' });
      }
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return {
      status: described.status,
      startDate: described.startDate?.toISOString(),
      stopDate: described.stopDate?.toISOString(),
      error: described.error,
      states,
    };
  } catch (error) {
    logger.warn('The execution could not be read', { executionArn, error: (error as Error).name });
    return undefined;
  }
};

const stateOf = (event: HistoryEvent): string | undefined =>
  event.stateEnteredEventDetails?.name ?? event.stateExitedEventDetails?.name;

// ---------------------------------------------------------------------------------------------------
// The workflow's steps (workflow.handler.ts)

export type WaitingStep = 'survey' | 'participation' | 'bureau';

/** A waiting step begins: its token is kept for whoever answers it, and it may be answerable already. */
export const awaitStep = async (
  subDistrictId: string,
  proposalId: string,
  step: WaitingStep,
  token: string,
  now: string,
) => {
  const updated = await updateProposal(subDistrictId, proposalId, (current) =>
    current.tokens[step] === token ? undefined : { ...current, step, tokens: { [step]: token } },
  );
  if (updated === undefined) throw new Error(`No proposal ${proposalId} in ${subDistrictId}`);
  await recordEvent(subDistrictId, proposalId, `waiting-${step}`, {
    at: now,
    step,
    what: `waiting for the ${step}`,
    actor: 'workflow',
  });
  if (updated.cancellation !== undefined) {
    await failWaitingTasks(updated);
    return;
  }
  if (step === 'survey') await settleSurvey(subDistrictId, proposalId);
  if (step === 'participation') await settleParticipation(subDistrictId, proposalId);
};

export const votesOpened = async (subDistrictId: string, proposalId: string) => {
  await updateProposal(subDistrictId, proposalId, (current) =>
    current.step === 'votes' ? undefined : { ...current, step: 'votes', tokens: {} },
  );
};

/**
 * Opens the plan as a matter of an area's noticed general meeting, which answers the task token when
 * its result is published. Run again (a retry, a restart) it finds its matter there and does nothing.
 */
export const openVote = async (
  subDistrictId: string,
  proposalId: string,
  area: { areaId: string; meetingId: string },
  token: string,
  now: string,
) => {
  const proposal = await getProposal(subDistrictId, proposalId);
  if (proposal === undefined) throw new Error(`No proposal ${proposalId} in ${subDistrictId}`);
  const matter = mergerMatter(proposal);
  const updated = await updateProposal(subDistrictId, proposalId, (current) =>
    current.tokens[`vote:${area.areaId}`] === token
      ? undefined
      : { ...current, tokens: { ...current.tokens, [`vote:${area.areaId}`]: token } },
  );
  if (updated?.cancellation !== undefined) return failWaitingTasks(updated);
  const meeting = await getMeeting(subDistrictId, area.meetingId);
  if (!meeting?.matters.some((existing) => existing.matterId === matter.matterId))
    await openMatter(
      subDistrictId,
      area.meetingId,
      matter,
      {
        taskToken: token,
        requestedBy: { feature: 'merger', reference: proposalId },
      },
      now,
    );
  await recordEvent(subDistrictId, proposalId, `vote-opened-${area.areaId}`, {
    at: now,
    step: 'votes',
    what: 'the plan is a matter of the general meeting',
    actor: 'workflow',
    areaId: area.areaId,
    detail: { meetingId: area.meetingId, matterId: matter.matterId },
  });
};

export const recordVotes = async (
  subDistrictId: string,
  proposalId: string,
  votes: AreaVote[],
  now: string,
) => {
  await updateProposal(subDistrictId, proposalId, (current) => ({ ...current, votes }));
  for (const vote of votes)
    await recordEvent(subDistrictId, proposalId, `vote-${vote.areaId}`, {
      at: now,
      step: 'votes',
      what: vote.passed
        ? 'the general meeting passed the plan'
        : `the plan did not pass (${vote.reason ?? 'not-passed'})`,
      actor: 'workflow',
      areaId: vote.areaId,
      detail: { meetingId: vote.meetingId },
    });
};

export const setStep = (
  subDistrictId: string,
  proposalId: string,
  step: Proposal['step'],
  extra: Partial<Proposal> = {},
) => updateProposal(subDistrictId, proposalId, (current) => ({ ...current, step, tokens: {}, ...extra }));
