import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';

/** One structured logger per function; the service name comes from POWERTOOLS_SERVICE_NAME. */
export const logger = new Logger();

/**
 * One metrics buffer per function, written as CloudWatch embedded metric format (EMF): one log line per
 * invocation, which CloudWatch turns into metrics without an API call. Namespace `civic-cell`, dimension
 * `service` from POWERTOOLS_SERVICE_NAME. Pure, so bundles that record no metric leave it out.
 */
export const metrics = /* @__PURE__ */ new Metrics({ namespace: 'civic-cell' });

/** What an operator of the deployed stack watches (README, "Operating it"). */
export type MetricName =
  /** Device messages stored as telemetry, after the registry check. */
  | 'TelemetryAccepted'
  /** Device messages stored as rejected telemetry: unknown, decommissioned or misplaced things, bad payloads. */
  | 'TelemetryRejected'
  /** Device messages handed back to the ingest queue to be received again (then its dead-letter queue). */
  | 'TelemetryRetried'
  | 'ViolationsOpened'
  /** Deadlines a case missed: escalated, or at the chain's last step with nobody to escalate to. */
  | 'WorkOrdersOverdue'
  | 'WorkOrdersEscalated';

/** Adds to a count of this invocation; flushed by `flushMetrics`. */
export const count = (name: MetricName, value = 1): void => {
  metrics.addMetric(name, MetricUnit.Count, value);
};

/**
 * Writes the invocation's metrics when it ends, returned or thrown, as Powertools' `logMetrics` does,
 * but nothing when it recorded none: `logMetrics` then logs a warning, and most timer invocations (a
 * deadline met in time, a sweep that finds nobody silent) record none.
 */
export const flushMetrics = (): MiddlewareObj => {
  const flush = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
};
