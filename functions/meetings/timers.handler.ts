import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import { logger } from '../shared/observability.js';
import { closeVoting } from './close.js';
import { openVoting } from './service.js';

const timerEventSchema = z
  .object({
    kind: z.enum(['open-voting', 'close-voting']),
    subDistrictId: z.string().min(1).max(64),
    meetingId: z.string().min(1).max(63),
  })
  .strict();

/**
 * Target of the one-time EventBridge schedules a meeting gets when it is noticed: voting opens (the roll
 * is frozen) and voting closes (the tally is published). Idempotent, so the Scheduler's and Lambda's
 * retries are safe; an event that does not parse is logged and dropped, since retrying cannot mend it.
 */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event: unknown) => {
    const parsed = timerEventSchema.safeParse(event);
    if (!parsed.success) {
      logger.error('Unknown meeting timer event, dropped', { issues: parsed.error.issues });
      return { outcome: 'dropped' };
    }
    const { kind, subDistrictId, meetingId } = parsed.data;
    const now = new Date().toISOString();
    if (kind === 'open-voting') {
      const meeting = await openVoting(subDistrictId, meetingId, now);
      return { outcome: meeting?.status ?? 'no-such-meeting' };
    }
    try {
      await closeVoting(subDistrictId, meetingId, now);
      return { outcome: 'closed' };
    } catch (error) {
      // A meeting that was never stored (its notice failed after the timers were set) has nothing to close.
      if (error instanceof ConflictError || error instanceof NotFoundError) {
        logger.warn('Meeting close timer found nothing to do', {
          meetingId,
          reason: (error as Error).message,
        });
        return { outcome: 'nothing-to-do' };
      }
      throw error;
    }
  });
