import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { logger } from '../shared/observability.js';
import { decideIngest, ruleEventSchema } from './domain.js';
import { recordIngest } from './store.js';

/**
 * Target of the ingest TopicRule (invoked asynchronously by AWS IoT). A message that is not valid
 * telemetry is recorded as rejected with its reason and the function succeeds, so bad devices never
 * cause retries; only infrastructure failures throw, and those go to the failure destination.
 */
export const handler = middy()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event: unknown) => {
    const parsed = ruleEventSchema.safeParse(event);
    if (!parsed.success) {
      // The rule SQL shapes this event; a mismatch is a deployment bug, not device input.
      throw new Error(`Ingest rule event does not match the expected shape: ${parsed.error.message}`);
    }
    const ruleEvent = parsed.data;
    const topic =
      ruleEvent.topic ?? `dt/civic/${ruleEvent.compoundId}/${ruleEvent.thingName}/${ruleEvent.signal}`;
    const decision = decideIngest(ruleEvent);
    const stored = await recordIngest(decision, {
      clientId: ruleEvent.clientId,
      topic,
      payloadBase64: ruleEvent.payload,
    });
    if (decision.kind === 'rejected') {
      logger.warn('Rejected telemetry', { topic, clientId: ruleEvent.clientId, reason: decision.reason });
    }
    return { outcome: decision.kind, duplicate: !stored };
  });
