import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import { flushMetrics, logger } from '../shared/observability.js';
import { onAbsenceSweep, onTimer, type TimerEvent } from './loop.js';

const timerEventSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('grace'),
      thingName: z.string(),
      scenarioId: z.string(),
      subDistrictId: z.string(),
      compoundId: z.string(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('deadline'),
      violationId: z.string(),
      deadline: z.object({ kind: z.enum(['ack', 'handle']), chainIndex: z.number().int().min(0) }).strict(),
    })
    .strict(),
  z.object({ kind: z.literal('absence-sweep') }).strict(),
]);

/**
 * Target of the one-time EventBridge schedules the loop creates (a grace period that elapsed or a
 * deadline to check) and of the periodic absence sweep. Idempotent: a timer whose condition has moved
 * on does nothing.
 */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(flushMetrics())
  .handler(async (event: unknown) => {
    const parsed = timerEventSchema.safeParse(event);
    if (!parsed.success) {
      logger.error('Unknown timer event, dropped', { issues: parsed.error.issues });
      return { outcome: 'dropped' };
    }
    const now = new Date().toISOString();
    if (parsed.data.kind === 'absence-sweep') return { outcome: 'swept', checked: await onAbsenceSweep(now) };
    await onTimer(parsed.data as TimerEvent, now);
    return { outcome: 'done' };
  });
