import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { logger } from '../shared/observability.js';
import { decideIngest, type IngestDecision, ruleEventSchema, workOrderReportSchema } from './domain.js';
import { cachedDeviceDirectory, evaluateDeviceMessage, onWorkOrderReport } from './loop.js';
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
    let decision: IngestDecision = decideIngest(ruleEvent);
    const device = decision.kind === 'accepted' ? await cachedDeviceDirectory(decision.thingName) : undefined;
    if (decision.kind === 'accepted') {
      const reason =
        device === undefined
          ? `unknown thing ${decision.thingName}: not in the device registry`
          : device.status !== 'active'
            ? `thing ${decision.thingName} is decommissioned`
            : device.compoundId !== decision.compoundId
              ? `thing ${decision.thingName} belongs to another compound, not ${decision.compoundId}`
              : undefined;
      if (reason !== undefined)
        decision = {
          kind: 'rejected',
          compoundId: decision.compoundId,
          reason,
          receivedAt: decision.receivedAt,
        };
    }
    const stored = await recordIngest(decision, {
      clientId: ruleEvent.clientId,
      topic,
      payloadBase64: ruleEvent.payload,
    });
    if (decision.kind === 'rejected') {
      logger.warn('Rejected telemetry', { topic, clientId: ruleEvent.clientId, reason: decision.reason });
    }
    // A redelivered message was handled the first time: the loop sees every message once.
    if (decision.kind === 'accepted' && stored && device !== undefined) {
      const now = new Date().toISOString();
      if (device.type === 'handheld' && (decision.signal === 'ack' || decision.signal === 'handled')) {
        const report = workOrderReportSchema.safeParse(decision.fields);
        if (report.success) {
          await onWorkOrderReport(
            { ...report.data, kind: decision.signal, actor: `handheld:${device.thingName}` },
            now,
          ).catch((error: Error) =>
            logger.warn('Work order report refused', { thingName: device.thingName, reason: error.message }),
          );
        }
      } else {
        await evaluateDeviceMessage(device, decision, now);
      }
    }
    return { outcome: decision.kind, duplicate: !stored };
  });
