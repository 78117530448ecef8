import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import { logger } from '../shared/observability.js';
import { openCaseForViolation } from './from-violation.js';
import { onCaseDeadline } from './service.js';

const id = (max: number) => z.string().min(1).max(max);
const timerEventSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('resident-deadline'),
      subDistrictId: id(64),
      areaId: id(64),
      caseId: id(120),
      stepIndex: z.number().int().min(0).max(20),
      deadlineAt: z.iso.datetime(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('open-from-violation'),
      subDistrictId: id(64),
      compoundId: id(64),
      areaId: id(64).optional(),
      scenarioId: id(64),
      violationId: id(200),
      thingName: id(128),
      zoneId: id(64),
      building: z.string().max(20).optional(),
      floor: z.number().int().optional(),
      observedAt: z.iso.datetime({ offset: true }),
    })
    .strict(),
]);

/**
 * Target of the resident code's one-time EventBridge schedules: a case step's deadline (a case still
 * open on that step and deadline moves up its ladder, recorded as the scheduler's act), and a violation
 * the sensors found that is a resident-code case too (its case is opened, once). Idempotent, so the
 * Scheduler's and Lambda's retries are safe; an event that does not parse is logged and dropped, since
 * retrying cannot mend it.
 */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event: unknown) => {
    const parsed = timerEventSchema.safeParse(event);
    if (!parsed.success) {
      logger.error('Unknown resident-code timer event, dropped', { issues: parsed.error.issues });
      return { outcome: 'dropped' };
    }
    const now = new Date().toISOString();
    if (parsed.data.kind === 'open-from-violation') {
      const { kind: _kind, ...input } = parsed.data;
      const outcome = await openCaseForViolation(input, now);
      logger.info(outcome.opened ? 'Resident-code case opened' : 'No resident-code case', {
        violationId: input.violationId,
        ...outcome,
      });
      return { outcome: outcome.opened ? 'opened' : 'not-opened' };
    }
    const escalated = await onCaseDeadline(parsed.data, now);
    if (escalated) logger.info('Case moved up its ladder', { caseId: parsed.data.caseId });
    return { outcome: escalated ? 'escalated' : 'nothing-to-do' };
  });
