import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import { logger } from '../shared/observability.js';
import { onCaseDeadline } from './service.js';

const deadlineEventSchema = z
  .object({
    kind: z.literal('resident-deadline'),
    subDistrictId: z.string().min(1).max(64),
    areaId: z.string().min(1).max(64),
    caseId: z.string().min(1).max(120),
    stepIndex: z.number().int().min(0).max(20),
    deadlineAt: z.iso.datetime(),
  })
  .strict();

/**
 * Target of the one-time EventBridge schedules a case step gets when its notice is recorded: at the
 * deadline, a case still open on that step (and that deadline) moves up its ladder, recorded as the
 * scheduler's act. Idempotent, so the Scheduler's and Lambda's retries are safe; an event that does not
 * parse is logged and dropped, since retrying cannot mend it.
 */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event: unknown) => {
    const parsed = deadlineEventSchema.safeParse(event);
    if (!parsed.success) {
      logger.error('Unknown resident-code timer event, dropped', { issues: parsed.error.issues });
      return { outcome: 'dropped' };
    }
    const escalated = await onCaseDeadline(parsed.data, new Date().toISOString());
    if (escalated) logger.info('Case moved up its ladder', { caseId: parsed.data.caseId });
    return { outcome: escalated ? 'escalated' : 'nothing-to-do' };
  });
