import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { Queue, ReceivedMessage, SqsService } from '../sqs/index.js';
import { type EventSourceMappingSpec, LOCAL_REGION } from '../template.js';
import type { LambdaService } from './service.js';

export interface EventSourceMappingsOptions {
  mappings: EventSourceMappingSpec[];
  sqs: Pick<SqsService, 'queue'>;
  lambda: Pick<LambdaService, 'invoke' | 'spec'>;
  log?: (line: string) => void;
}

export interface EventSourceMappings {
  /** Batches handed to their function and not yet settled (deleted or left to come back). */
  readonly inFlight: number;
  /** Resolves once no batch is in flight. */
  idle(): Promise<void>;
  /** Stops polling; batches already invoked finish first. */
  stop(): Promise<void>;
}

/**
 * Lambda starts five concurrent pollers per SQS mapping and scales up from there; locally five is the
 * ceiling unless ScalingConfig.MaximumConcurrency sets another.
 */
const DEFAULT_CONCURRENCY = 5;
/** One ReceiveMessage returns at most ten messages; bigger batches take several within the window. */
const MAX_RECEIVE = 10;

const toRecord = (message: ReceivedMessage, eventSourceARN: string): SQSRecord => ({
  messageId: message.messageId,
  receiptHandle: message.receiptHandle,
  body: message.body,
  attributes: message.attributes,
  messageAttributes: Object.fromEntries(
    Object.entries(message.messageAttributes).map(([name, value]) => [
      name,
      {
        ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
        ...(value.BinaryValue === undefined
          ? {}
          : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
        stringListValues: [],
        binaryListValues: [],
        dataType: value.DataType,
      },
    ]),
  ),
  ...(message.md5OfMessageAttributes === undefined
    ? {}
    : { md5OfMessageAttributes: message.md5OfMessageAttributes }),
  md5OfBody: message.md5OfBody,
  eventSource: 'aws:sqs',
  eventSourceARN,
  awsRegion: LOCAL_REGION,
});

/**
 * The message ids to keep (not delete) after a successful invocation with ReportBatchItemFailures, or
 * 'all' when the response is not a valid partial-batch response: Lambda then treats the whole batch as
 * failed. A null response, or one with no or an empty `batchItemFailures`, means every record succeeded.
 */
const failedItems = (response: unknown, batch: ReceivedMessage[]): Set<string> | 'all' => {
  if (response === null || response === undefined) return new Set();
  if (typeof response !== 'object' || Array.isArray(response)) return 'all';
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const ids = new Set(batch.map((message) => message.messageId));
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
};

/**
 * Lambda's SQS pollers for the template's event source mappings. Each enabled mapping runs up to its
 * concurrency of pollers; a poller waits (on the queue's changes, not a timer) for visible messages,
 * gathers a batch — at once, or for up to the batching window when there is one — and invokes the
 * function synchronously with the SQS event. A successful batch is deleted, but for the records the
 * function reports as failed (with ReportBatchItemFailures); a failed invocation leaves the whole batch to
 * come back after its visibility timeout, and to the dead-letter queue after maxReceiveCount receives.
 */
export const startEventSourceMappings = (options: EventSourceMappingsOptions): EventSourceMappings => {
  const log = options.log ?? (() => undefined);
  const stopping = new AbortController();
  const inFlight = new Set<Promise<void>>();

  const collect = async (mapping: EventSourceMappingSpec, queue: Queue): Promise<ReceivedMessage[]> => {
    const signal = stopping.signal;
    const windowMs = mapping.maximumBatchingWindowSeconds * 1000;
    // By message id: a message whose visibility timeout ends within the window is received again, and
    // then only its new receipt handle deletes it.
    const batch = new Map<string, ReceivedMessage>();
    let windowEnds: number | undefined;
    while (!signal.aborted && batch.size < mapping.batchSize) {
      const max = Math.min(MAX_RECEIVE, mapping.batchSize - batch.size);
      for (const message of queue.receive({ maxNumberOfMessages: max }))
        batch.set(message.messageId, message);
      if (batch.size === 0) {
        if (queue.closed) break;
        await queue.changed({ signal });
        continue;
      }
      if (windowMs === 0 || batch.size >= mapping.batchSize) break;
      windowEnds ??= Date.now() + windowMs;
      const remaining = windowEnds - Date.now();
      if (remaining <= 0) break;
      await queue.changed({ signal, timeoutMs: remaining });
    }
    return [...batch.values()];
  };

  const deliver = async (mapping: EventSourceMappingSpec, queue: Queue, batch: ReceivedMessage[]) => {
    const event: SQSEvent = { Records: batch.map((message) => toRecord(message, queue.arn)) };
    let response: unknown;
    try {
      response = await options.lambda.invoke(mapping.functionName, event);
    } catch (error) {
      log(
        `event source ${mapping.logicalId}: ${mapping.functionName} failed on a batch of ${batch.length}, which returns after the visibility timeout: ${(error as Error).message}`,
      );
      return;
    }
    const failed = mapping.reportBatchItemFailures ? failedItems(response, batch) : new Set<string>();
    if (failed === 'all') {
      log(
        `event source ${mapping.logicalId}: ${mapping.functionName} returned an invalid batchItemFailures response; the whole batch of ${batch.length} counts as failed`,
      );
      return;
    }
    for (const message of batch) if (!failed.has(message.messageId)) queue.delete(message.receiptHandle);
    // Durable queues: the batch is settled once its deletes are stored.
    const flushed = queue.flushed();
    if (flushed !== undefined) await flushed;
  };

  const poll = async (mapping: EventSourceMappingSpec, queue: Queue) => {
    // A closed queue answers every wait at once: polling it would spin.
    while (!stopping.signal.aborted && !queue.closed) {
      const batch = await collect(mapping, queue);
      if (batch.length === 0) continue;
      // Durable queues: the receives (counts, visibility) are stored before the function sees the batch,
      // so a crash during the invocation still counts toward the redrive policy.
      const flushed = queue.flushed();
      const settled = (
        flushed === undefined
          ? deliver(mapping, queue, batch)
          : flushed.then(() => deliver(mapping, queue, batch))
      ).finally(() => inFlight.delete(settled));
      inFlight.add(settled);
      await settled;
    }
  };

  // Every function and queue is checked before the first poller starts.
  const active = options.mappings
    .filter((mapping) => mapping.enabled)
    .map((mapping) => {
      options.lambda.spec(mapping.functionName);
      return { mapping, queue: options.sqs.queue(mapping.eventSourceArn) };
    });
  const pollers = active.flatMap(({ mapping, queue }) =>
    Array.from({ length: mapping.maximumConcurrency ?? DEFAULT_CONCURRENCY }, () =>
      poll(mapping, queue).catch((error: Error) =>
        log(`event source ${mapping.logicalId}: a poller stopped: ${error.stack ?? error.message}`),
      ),
    ),
  );

  return {
    get inFlight() {
      return inFlight.size;
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    async stop() {
      stopping.abort();
      await Promise.allSettled(pollers);
    },
  };
};
