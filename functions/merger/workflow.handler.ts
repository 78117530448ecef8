/**
 * The merger workflow's function: each Lambda task of the state machine (infra/merger.ts) names its
 * action. Tasks that wait for a token keep it on the proposal; the API's writes answer it. Every action is
 * idempotent, as a Step Functions task with retries must be.
 */
import * as z from 'zod';
import { slugSchema } from '../registry/domain.js';
import { logger } from '../shared/observability.js';
import { countVotes, END_STATES, OUTCOMES, statutoryTimeline } from './domain.js';
import { carryOutMerge } from './merge.js';
import * as service from './service.js';
import { getProposal, recordEvent } from './store.js';

const place = { subDistrictId: z.string().min(1), proposalId: slugSchema };
const areaVote = z.object({
  areaId: slugSchema,
  meetingId: slugSchema,
  matterId: z.string().optional(),
  passed: z.boolean(),
  reason: z.enum(['not-passed', 'lapsed', 'error']).optional(),
});

export const workflowEventSchema = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('await'),
    step: z.enum(['survey', 'participation', 'bureau']),
    taskToken: z.string().min(1),
    ...place,
  }),
  z.object({ action: z.literal('begin-votes'), ...place }),
  z.object({
    action: z.literal('open-vote'),
    area: z.object({ areaId: slugSchema, meetingId: slugSchema }),
    taskToken: z.string().min(1),
    ...place,
  }),
  z.object({ action: z.literal('count-votes'), votes: z.array(areaVote), ...place }),
  z.object({ action: z.literal('merge'), passedAreaIds: z.array(slugSchema).min(2), ...place }),
  z.object({ action: z.literal('notice'), ...place }),
  z.object({ action: z.literal('end'), outcome: z.enum(OUTCOMES), ...place }),
]);
export type WorkflowEvent = z.output<typeof workflowEventSchema>;

const now = () => new Date().toISOString();

export const handler = async (raw: unknown) => {
  const event = workflowEventSchema.parse(raw);
  const { subDistrictId, proposalId } = event;
  logger.info('Merger step', { action: event.action, proposalId });
  switch (event.action) {
    case 'await':
      await service.awaitStep(subDistrictId, proposalId, event.step, event.taskToken, now());
      return {};
    case 'begin-votes':
      await service.votesOpened(subDistrictId, proposalId);
      return {};
    case 'open-vote':
      await service.openVote(subDistrictId, proposalId, event.area, event.taskToken, now());
      return {};
    case 'count-votes': {
      await service.recordVotes(subDistrictId, proposalId, event.votes, now());
      return countVotes(event.votes);
    }
    case 'merge': {
      const proposal = await getProposal(subDistrictId, proposalId);
      if (proposal?.decision?.approved !== true) throw new Error(`Proposal ${proposalId} is not approved`);
      await service.setStep(subDistrictId, proposalId, 'merging');
      const report = await carryOutMerge({
        subDistrictId,
        proposalId,
        compoundId: proposal.compoundId,
        newArea: proposal.newArea,
        areaIds: event.passedAreaIds,
        approvedAt: proposal.decision.decidedAt,
      });
      await service.setStep(subDistrictId, proposalId, 'merging', { merge: { ...report } });
      await recordEvent(subDistrictId, proposalId, 'merged', {
        at: now(),
        step: 'merging',
        what: `${event.passedAreaIds.length} areas became ${proposal.newArea.areaId}`,
        actor: 'workflow',
        detail: { ...report },
      });
      return { newAreaId: report.newAreaId };
    }
    case 'notice': {
      const proposal = await getProposal(subDistrictId, proposalId);
      if (proposal?.decision === undefined) throw new Error(`Proposal ${proposalId} has no decision`);
      const noticedAt =
        proposal.founding?.noticedAt !== undefined ? String(proposal.founding.noticedAt) : now();
      const founding = { noticedAt, ...statutoryTimeline(proposal.decision.decidedAt, noticedAt) };
      await service.setStep(subDistrictId, proposalId, 'founding', { founding });
      await recordEvent(subDistrictId, proposalId, 'public-notice', {
        at: noticedAt,
        step: 'founding',
        what: 'public notice of the merged area; founding general meeting scheduled',
        actor: 'workflow',
        detail: founding,
      });
      return founding;
    }
    case 'end': {
      const at = now();
      const ended = await service.setStep(subDistrictId, proposalId, 'ended', {
        outcome: event.outcome,
        endedAt: at,
      });
      await recordEvent(subDistrictId, proposalId, 'ended', {
        at: ended?.endedAt ?? at,
        step: 'ended',
        what: `ended: ${END_STATES[event.outcome]}`,
        actor: 'workflow',
        detail: { outcome: event.outcome },
      });
      return { outcome: event.outcome };
    }
  }
};
