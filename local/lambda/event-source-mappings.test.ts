import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { listen } from '../listen.js';
import { md5Hex } from '../sqs/attributes.js';
import { type Queue, SqsService } from '../sqs/index.js';
import { queueSpec, withDeadLetters } from '../sqs/test-support.js';
import type { EventSourceMappingSpec, FunctionSpec, QueueSpec } from '../template.js';
import { type EventSourceMappings, startEventSourceMappings } from './event-source-mappings.js';
import { type InvocationRecord, LambdaService } from './service.js';

/**
 * The function under the mapping: each record's body says how it fares by its start — `fail` is reported
 * as a failed item, `throw` fails the invocation, `invalid`/`unknown-id` make the partial-batch response
 * invalid.
 * With GATE_URL it first waits for the test to let it go (to hold batches in flight).
 */
const HANDLER = `
export const handler = async (event) => {
  if (process.env.GATE_URL) await fetch(process.env.GATE_URL, { method: 'POST' });
  const any = (prefix) => event.Records.some((record) => record.body.startsWith(prefix));
  if (any('throw')) throw new Error('the whole batch failed');
  if (any('invalid')) return { batchItemFailures: [{ itemIdentifier: '' }] };
  if (any('unknown-id')) return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
  return {
    batchItemFailures: event.Records.filter((record) => record.body.startsWith('fail')).map((record) => ({
      itemIdentifier: record.messageId,
    })),
  };
};
`;

// The function's bundle, written once: the specs (built while tests are collected) point at it.
const assetDir = mkdtempSync(path.join(tmpdir(), 'civic-esm-'));
writeFileSync(path.join(assetDir, 'index.mjs'), HANDLER);
afterAll(() => rmSync(assetDir, { recursive: true, force: true }));

const functionSpec = (functionName: string, environment: Record<string, string> = {}): FunctionSpec => ({
  logicalId: functionName,
  functionName,
  arn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
  assetDir,
  moduleFile: 'index.mjs',
  exportName: 'handler',
  environment,
  timeoutSeconds: 10,
  memorySize: 128,
  maximumRetryAttempts: 2,
});

const mappingSpec = (
  queue: QueueSpec,
  overrides: Partial<EventSourceMappingSpec> = {},
): EventSourceMappingSpec => ({
  logicalId: `${queue.queueName}-mapping`,
  functionName: 'consumer',
  eventSourceArn: queue.arn,
  batchSize: 10,
  maximumBatchingWindowSeconds: 0,
  reportBatchItemFailures: true,
  enabled: true,
  ...overrides,
});

describe('SQS event source mapping', () => {
  let sqs: SqsService;
  let mappings: EventSourceMappings | undefined;
  let batches: SQSEvent['Records'][] = [];
  const consumer = (environment: Record<string, string> = {}) =>
    new LambdaService([functionSpec('consumer', environment)], {
      baseEnvironment: { PATH: process.env.PATH ?? '' },
      onInvocation: (record: InvocationRecord) => batches.push((record.event as SQSEvent).Records),
    });
  // One warm execution environment for the tests, as a deployed function keeps one.
  const lambda = consumer();
  afterAll(() => lambda.stop());

  /** Queues whose visibility timeouts pass a hundred times faster (30 s in 300 ms), and the mapping. */
  const start = (queues: QueueSpec[], mapping: EventSourceMappingSpec, service = lambda) => {
    sqs = new SqsService(queues, { visibilityTimeoutScale: 0.01 });
    batches = [];
    mappings = startEventSourceMappings({ mappings: [mapping], sqs, lambda: service });
    return sqs.queue(mapping.eventSourceArn);
  };

  const stop = async () => {
    await mappings?.stop();
    mappings = undefined;
    sqs.close();
  };

  /** Until every message is deleted or moved on and no batch is in flight. */
  const settled = async (queue: Queue) => {
    for (;;) {
      await mappings?.idle();
      if (queue.size === 0 && mappings?.inFlight === 0) return;
      if (mappings?.inFlight === 0) await queue.changed();
    }
  };

  const deliveries = () => {
    const count = new Map<string, number>();
    for (const record of batches.flat()) count.set(record.body, (count.get(record.body) ?? 0) + 1);
    return Object.fromEntries([...count].sort());
  };

  const bodiesIn = (queue: Queue) =>
    queue
      .receive({ maxNumberOfMessages: 10 })
      .map((message) => message.body)
      .sort();

  afterEach(stop);

  it('delivers what is visible in batches of up to BatchSize, in the SQS event shape, and deletes them', async () => {
    const spec = queueSpec('telemetry');
    const queue = start([spec], mappingSpec(spec, { reportBatchItemFailures: false }));
    const sent = Array.from({ length: 25 }, (_, i) => queue.send({ body: `{"seq":${i}}` }));
    await settled(queue);

    expect(batches.map((batch) => batch.length).sort((a, b) => a - b)).toEqual([5, 10, 10]);
    expect(
      batches
        .flat()
        .map((record) => record.messageId)
        .sort(),
    ).toEqual(sent.map((message) => message.messageId).sort());
    const record = batches[0]?.[0];
    expect(Object.keys(record ?? {}).sort()).toEqual(
      [
        'messageId',
        'receiptHandle',
        'body',
        'attributes',
        'messageAttributes',
        'md5OfBody',
        'eventSource',
        'eventSourceARN',
        'awsRegion',
      ].sort(),
    );
    expect(record).toMatchObject({
      messageAttributes: {},
      md5OfBody: md5Hex(record?.body ?? ''),
      eventSource: 'aws:sqs',
      eventSourceARN: spec.arn,
      awsRegion: 'us-east-1',
      attributes: {
        ApproximateReceiveCount: '1',
        SenderId: '000000000000',
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      },
    });
  });

  it('fills a batch within the batching window, or delivers what it has when the window ends', async () => {
    const spec = queueSpec('windowed');
    const queue = start(
      [spec],
      mappingSpec(spec, { batchSize: 5, maximumBatchingWindowSeconds: 1, maximumConcurrency: 1 }),
    );
    queue.send({ body: 'a1' });
    queue.send({ body: 'a2' });
    await new Promise((resolve) => setImmediate(resolve));
    for (const body of ['a3', 'a4', 'a5']) queue.send({ body });
    await settled(queue);
    queue.send({ body: 'b1' });
    await settled(queue);
    expect(batches.map((batch) => batch.map((record) => record.body))).toEqual([
      ['a1', 'a2', 'a3', 'a4', 'a5'],
      ['b1'],
    ]);
  });

  it('with ReportBatchItemFailures deletes all but the failed items, which come back and then go to the DLQ', async () => {
    const [spec, dlq] = withDeadLetters('partial', 2);
    const queue = start([spec, dlq], mappingSpec(spec));
    for (const body of ['ok-1', 'fail-1', 'ok-2', 'fail-2']) queue.send({ body });
    await settled(queue);
    expect(deliveries()).toEqual({ 'fail-1': 2, 'fail-2': 2, 'ok-1': 1, 'ok-2': 1 });
    expect(bodiesIn(sqs.queue(dlq.arn))).toEqual(['fail-1', 'fail-2']);
  });

  it.each(['invalid', 'unknown-id'])(
    'counts the whole batch as failed when batchItemFailures is not valid (%s)',
    async (poison) => {
      const [spec, dlq] = withDeadLetters('invalid', 2);
      const queue = start([spec, dlq], mappingSpec(spec));
      queue.send({ body: poison });
      queue.send({ body: 'ok' });
      await settled(queue);
      expect(deliveries()).toEqual({ [poison]: 2, ok: 2 });
      expect(bodiesIn(sqs.queue(dlq.arn))).toEqual([poison, 'ok'].sort());
    },
  );

  it('without ReportBatchItemFailures deletes the whole batch after a successful invocation', async () => {
    const spec = queueSpec('plain');
    const queue = start([spec], mappingSpec(spec, { reportBatchItemFailures: false }));
    queue.send({ body: 'fail-1' });
    queue.send({ body: 'ok' });
    await settled(queue);
    expect(deliveries()).toEqual({ 'fail-1': 1, ok: 1 });
  });

  it('leaves the whole batch when the function fails, and redrives it after maxReceiveCount receives', async () => {
    const [spec, dlq] = withDeadLetters('failing', 3);
    const queue = start([spec, dlq], mappingSpec(spec));
    queue.send({ body: 'throw' });
    queue.send({ body: 'ok' });
    await settled(queue);
    expect(deliveries()).toEqual({ ok: 3, throw: 3 });
    expect(batches.at(-1)?.map((record) => record.attributes.ApproximateReceiveCount)).toEqual(['3', '3']);
    const dead = sqs.queue(dlq.arn).receive({ maxNumberOfMessages: 10 });
    expect(dead.map((message) => message.attributes.DeadLetterQueueSourceArn)).toEqual([spec.arn, spec.arn]);
  });

  describe('concurrency', () => {
    /** Holds every invocation at its first step until released; counts how many wait at once. */
    let gate: { url: string; waiting: http.ServerResponse[]; most: number; close(): Promise<void> };
    let reached: (() => void) | undefined;

    beforeAll(async () => {
      const waiting: http.ServerResponse[] = [];
      const server = http.createServer((req, res) => {
        req.resume();
        waiting.push(res);
        gate.most = Math.max(gate.most, waiting.length);
        reached?.();
      });
      const listening = await listen(server);
      gate = { url: `${listening.endpoint}/gate`, waiting, most: 0, close: () => listening.close() };
    });
    afterAll(() => gate.close());

    const releaseAll = async (queue: Queue) => {
      while (queue.size > 0 || (mappings?.inFlight ?? 0) > 0) {
        for (const res of gate.waiting.splice(0)) res.end();
        await new Promise<void>((resolve) => {
          reached = resolve;
          setTimeout(resolve, 20);
        });
      }
    };

    it.each([
      { maximumConcurrency: 2, expected: 2 },
      { maximumConcurrency: undefined, expected: 5 },
    ])(
      'keeps at most $expected batches in flight (MaximumConcurrency $maximumConcurrency)',
      async ({ maximumConcurrency, expected }) => {
        gate.most = 0;
        const spec = queueSpec(`concurrent-${expected}`);
        const gated = consumer({ GATE_URL: gate.url });
        onTestFinished(() => gated.stop());
        const queue = start([spec], mappingSpec(spec, { batchSize: 1, maximumConcurrency }), gated);
        for (let i = 0; i < 12; i++) queue.send({ body: `m${i}` });
        while (gate.waiting.length < expected) await new Promise<void>((resolve) => (reached = resolve));
        expect(mappings?.inFlight).toBe(expected);
        expect(queue.counts()).toEqual({ visible: 12 - expected, notVisible: expected, delayed: 0 });
        await releaseAll(queue);
        expect(batches).toHaveLength(12);
        expect(gate.most).toBe(expected);
      },
    );
  });

  it('settles every message exactly once: deleted after its first successful delivery, or in the DLQ', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('ok', 'fail', 'throw', 'invalid'), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 10 }),
        async (kinds, batchSize) => {
          const [spec, dlq] = withDeadLetters('property', 2);
          const queue = start([spec, dlq], mappingSpec(spec, { batchSize }));
          const sent = kinds.map((kind, i) => queue.send({ body: `${kind}-${i}` }).messageId);
          await settled(queue);
          const dead = new Set(
            sqs
              .queue(dlq.arn)
              .receive({ maxNumberOfMessages: 10 })
              .concat(sqs.queue(dlq.arn).receive({ maxNumberOfMessages: 10 }))
              .map((message) => message.messageId),
          );
          // What each delivery should have done with each record, from the bodies in its batch.
          const outcomes = new Map<string, boolean[]>();
          for (const batch of batches) {
            const poisoned = batch.some(({ body }) => body.startsWith('throw') || body.startsWith('invalid'));
            for (const { messageId, body } of batch) {
              const succeeded = !poisoned && !body.startsWith('fail');
              outcomes.set(messageId, [...(outcomes.get(messageId) ?? []), succeeded]);
            }
          }
          for (const id of sent) {
            const deliveries = outcomes.get(id) ?? [];
            const firstSuccess = deliveries.indexOf(true);
            if (firstSuccess === -1) {
              // Never succeeded: delivered maxReceiveCount times, then moved to the DLQ.
              expect(deliveries).toHaveLength(2);
              expect(dead.has(id)).toBe(true);
            } else {
              // Deleted at its first success: not delivered again, not in the DLQ.
              expect(firstSuccess).toBe(deliveries.length - 1);
              expect(dead.has(id)).toBe(false);
            }
          }
          await stop();
        },
      ),
      { numRuns: 6 },
    );
  });
});
