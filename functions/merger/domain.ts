/**
 * The area merger (联小建大): rules that need no I/O — the inputs of every actor, the proposal's steps
 * and endings, which areas go on to a vote and to the housing bureau, and the statutory timeline after
 * an approved merger (Shanghai Residential Property Management Regulation 2020, art. 10, 33–34, and the
 * founding-meeting steps of the city's guidance).
 */
import * as z from 'zod';
import { slugSchema } from '../registry/domain.js';
import type { Caller, Role } from '../shared/auth.js';

export { slugSchema };

const DAY_MS = 86_400_000;
const text = (max: number) => z.string().trim().min(1).max(max);

/** Who does what in a merger. */
export const MERGER_ROLES = {
  /** Create, follow and cancel proposals. */
  propose: ['street-office'],
  /** Upload the third-party survey's results (the survey organisation, on the office's commission). */
  survey: ['street-office', 'evaluator'],
  /** Decide whether an area takes part: its owners' committee. */
  participate: ['committee-member'],
  /** Approve or reject the merger. */
  decide: ['housing-bureau'],
  /** Read proposals and their timelines. */
  read: ['street-office', 'housing-bureau', 'committee-member', 'evaluator'],
} as const satisfies Record<string, readonly Role[]>;

export const MIN_AREAS = 2;
export const MAX_AREAS = 20;

export const createProposalSchema = z
  .object({
    proposalId: slugSchema,
    title: text(200),
    compoundId: slugSchema,
    areaIds: z
      .array(slugSchema)
      .min(MIN_AREAS, `A merger joins at least ${MIN_AREAS} areas`)
      .max(MAX_AREAS)
      .refine((ids) => new Set(ids).size === ids.length, 'An area is named twice'),
    /** The area the merged areas become. */
    newArea: z.object({ areaId: slugSchema, name: text(100) }).strict(),
    /** The adjustment plan the owners vote on. */
    plan: text(4000),
  })
  .strict()
  .refine((proposal) => !proposal.areaIds.includes(proposal.newArea.areaId), {
    message: 'The new area needs an id of its own',
    path: ['newArea', 'areaId'],
  });
export type CreateProposalInput = z.output<typeof createProposalSchema>;

export const surveyResultSchema = z
  .object({
    organisation: text(200),
    households: z.number().int().min(1).max(100_000),
    respondents: z.number().int().min(0).max(100_000),
    inFavour: z.number().int().min(0).max(100_000),
    /** Where the full report is kept (document management, a scan). */
    reportReference: text(500),
  })
  .strict()
  .refine((survey) => survey.respondents <= survey.households, {
    message: 'More respondents than households',
    path: ['respondents'],
  })
  .refine((survey) => survey.inFavour <= survey.respondents, {
    message: 'More in favour than respondents',
    path: ['inFavour'],
  });
export type SurveyResult = z.output<typeof surveyResultSchema>;

/** An area's committee decides whether it takes part; an opt-out carries its reason and is final. */
export const participationSchema = z
  .object({
    takesPart: z.boolean(),
    /** Taking part: the area's noticed general meeting in which the plan is voted (the matter is opened there). */
    meetingId: slugSchema.optional(),
    /** Opting out: why. */
    reason: text(1000).optional(),
  })
  .strict()
  .superRefine((decision, ctx) => {
    if (decision.takesPart && decision.meetingId === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['meetingId'],
        message: 'Taking part names the meeting that votes',
      });
    if (decision.takesPart && decision.reason !== undefined)
      ctx.addIssue({ code: 'custom', path: ['reason'], message: 'A reason is given for opting out only' });
    if (!decision.takesPart && decision.reason === undefined)
      ctx.addIssue({ code: 'custom', path: ['reason'], message: 'An opt-out gives its reason' });
    if (!decision.takesPart && decision.meetingId !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['meetingId'],
        message: 'An area that opts out names no meeting',
      });
  });
export type Participation = z.output<typeof participationSchema>;

export const bureauDecisionSchema = z
  .object({
    approved: z.boolean(),
    /** The bureau's document number. */
    reference: text(200),
    /** Why it rejects (required then). */
    reasons: text(2000).optional(),
    remarks: text(2000).optional(),
  })
  .strict()
  .refine((decision) => decision.approved || decision.reasons !== undefined, {
    message: 'A rejection gives its reasons',
    path: ['reasons'],
  });
export type BureauDecision = z.output<typeof bureauDecisionSchema>;

export const cancelSchema = z.object({ reason: text(1000) }).strict();

/** The steps a proposal goes through, in order, and the ways it ends. */
export type ProposalStep = 'survey' | 'participation' | 'votes' | 'bureau' | 'merging' | 'founding' | 'ended';
export const OUTCOMES = ['merged', 'rejected', 'lapsed', 'too-few-passed', 'cancelled'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The named end state of the state machine for each outcome. */
export const END_STATES: Record<Outcome, string> = {
  merged: 'Merged',
  rejected: 'RejectedByBureau',
  lapsed: 'ApprovalLapsed',
  'too-few-passed': 'TooFewAreasPassed',
  cancelled: 'Cancelled',
};

/** The error a waiting task is failed with when the office cancels the proposal. */
export const CANCELLED_ERROR = 'ProposalCancelled';

/**
 * How long each waiting step may take (the state machine's TimeoutSeconds) and how long it may go
 * without a sign of progress (HeartbeatSeconds). Survey uploads and participation decisions heartbeat
 * their step; a general meeting (15 days' notice, at most 90 days' voting) and the bureau answer once,
 * so their heartbeat bound is the timeout less a day: a task that outlives it has lost its answerer.
 */
export const WAITS = {
  survey: { timeoutDays: 180, heartbeatDays: 60 },
  participation: { timeoutDays: 120, heartbeatDays: 60 },
  vote: { timeoutDays: 120, heartbeatDays: 119 },
  bureau: { timeoutDays: 60, heartbeatDays: 59 },
} as const;
/** The error the meetings feature fails a matter's task with (functions/meetings/close.ts). */
export const NOT_PASSED_ERROR = 'MatterNotPassed';

export interface AreaVote {
  areaId: string;
  meetingId: string;
  matterId?: string;
  passed: boolean;
  /** Why a vote did not pass: the meeting's result, or no result in time. */
  reason?: 'not-passed' | 'lapsed' | 'error';
}

/** The matter each taking-part area's general meeting votes on (art. 278 (9), > 1/2 + > 1/2). */
export const mergerMatter = (proposal: { proposalId: string; title: string; plan: string }) => ({
  matterId: `merger-${proposal.proposalId}`.slice(0, 63),
  kind: 'resolution' as const,
  item: 9 as const,
  title: `Adjusting the property management area: ${proposal.title}`.slice(0, 200),
  description: proposal.plan,
});

/** Whether the proposal goes to the housing bureau: at least two areas passed (a merger of one is none). */
export const countVotes = (votes: readonly AreaVote[]) => {
  const passed = votes.filter((vote) => vote.passed).map((vote) => vote.areaId);
  return {
    passedAreaIds: passed,
    failedAreaIds: votes.filter((v) => !v.passed).map((v) => v.areaId),
    proceeds: passed.length >= MIN_AREAS,
  };
};

/** Every area answered: the areas that take part, and the ones that opted out. */
export const participants = (
  areaIds: readonly string[],
  decisions: ReadonlyMap<string, Participation>,
): { complete: boolean; taking: { areaId: string; meetingId: string }[]; optedOut: string[] } => {
  const taking: { areaId: string; meetingId: string }[] = [];
  const optedOut: string[] = [];
  for (const areaId of areaIds) {
    const decision = decisions.get(areaId);
    if (decision === undefined) continue;
    if (decision.takesPart && decision.meetingId !== undefined)
      taking.push({ areaId, meetingId: decision.meetingId });
    else optedOut.push(areaId);
  }
  return { complete: taking.length + optedOut.length === areaIds.length, taking, optedOut };
};

const plusDays = (at: string, days: number) => new Date(Date.parse(at) + days * DAY_MS).toISOString();

/**
 * The statutory timeline once the merger is approved and noticed: the old committees deregister within
 * 30 days and the sub-district files the change within 20 (art. 33–34); the merged area's founding
 * general meeting follows the city's steps — a preparatory group formed within 60 days, its members
 * posted for 7 days, the meeting's materials posted 15 days before it, the meeting held within 90 days of
 * the group's forming. Dates are the latest each step may happen.
 */
export const statutoryTimeline = (approvedAt: string, noticedAt: string) => {
  const preparatoryGroupBy = plusDays(noticedAt, 60);
  const firstMeetingBy = plusDays(preparatoryGroupBy, 90);
  return {
    committeesDeregisterBy: plusDays(approvedAt, 30),
    filingBy: plusDays(approvedAt, 20),
    preparatoryGroupBy,
    membersPostedFor: { days: 7, until: plusDays(preparatoryGroupBy, 7) },
    materialsPostedBy: plusDays(firstMeetingBy, -15),
    firstMeetingBy,
  };
};

/**
 * Whether the caller may see a proposal: the office, the housing bureau and the evaluators of its
 * sub-district, and committee members of one of its areas.
 */
export const canSee = (
  caller: Caller,
  proposal: { subDistrictId: string; areaIds: readonly string[] },
): boolean => {
  if (caller.subDistrictId !== proposal.subDistrictId) return false;
  if (
    caller.roles.some((role) => role === 'street-office' || role === 'housing-bureau' || role === 'evaluator')
  )
    return true;
  return (
    caller.roles.includes('committee-member') && proposal.areaIds.some((id) => caller.areaIds.includes(id))
  );
};
