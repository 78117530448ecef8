import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { md5Hex, md5OfAttributes } from './attributes.js';
import type { SqsError } from './errors.js';
import type { Queue } from './queue.js';
import { SqsService } from './service.js';
import { queueSpec, withDeadLetters } from './test-support.js';

// Time is faked: visibility timeouts, delays and retention run at the test's command, not the wall clock.
beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-03-01T08:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

const sqsError = (type: SqsError['type']) => expect.objectContaining({ name: 'SqsError', type });

const one = (queue: Queue, visibilityTimeoutSeconds?: number) => {
  const [message, ...rest] = queue.receive({ maxNumberOfMessages: 10, visibilityTimeoutSeconds });
  expect(rest).toEqual([]);
  if (message === undefined) throw new Error('no message received');
  return message;
};

describe('local SQS queue', () => {
  it('hides a received message for the visibility timeout, then delivers it again with a new receipt handle', () => {
    const queue = new SqsService([queueSpec('orders')]).queue('orders');
    const sent = queue.send({ body: '{"order":1}' });
    expect(sent.md5OfMessageBody).toBe(md5Hex('{"order":1}'));
    expect(sent.md5OfMessageAttributes).toBeUndefined();

    const first = one(queue);
    expect(first).toMatchObject({
      messageId: sent.messageId,
      body: '{"order":1}',
      md5OfBody: sent.md5OfMessageBody,
      messageAttributes: {},
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        ApproximateFirstReceiveTimestamp: String(Date.now()),
        SenderId: '000000000000',
      },
    });
    expect(queue.receive()).toEqual([]);
    expect(queue.counts()).toEqual({ visible: 0, notVisible: 1, delayed: 0 });

    vi.advanceTimersByTime(29_999);
    expect(queue.receive()).toEqual([]);
    vi.advanceTimersByTime(1);
    const second = one(queue);
    expect(second.messageId).toBe(sent.messageId);
    expect(second.receiptHandle).not.toBe(first.receiptHandle);
    expect(second.attributes.ApproximateReceiveCount).toBe('2');
    expect(second.attributes.ApproximateFirstReceiveTimestamp).toBe(
      first.attributes.ApproximateFirstReceiveTimestamp,
    );
  });

  it('ignores a stale receipt handle (the message was received again since) and deletes with the latest', () => {
    const queue = new SqsService([queueSpec('orders')]).queue('orders');
    queue.send({ body: 'a' });
    const first = one(queue, 1);
    vi.advanceTimersByTime(1_000);
    const second = one(queue, 1);

    queue.delete(first.receiptHandle);
    expect(queue.size).toBe(1);
    // Still the latest handle once the message is visible again (nobody received it since): it deletes.
    vi.advanceTimersByTime(1_000);
    queue.delete(second.receiptHandle);
    expect(queue.size).toBe(0);
    // Deleting twice is not an error either.
    queue.delete(second.receiptHandle);
  });

  it('rejects receipt handles that are not this queue’s', () => {
    const service = new SqsService([queueSpec('a'), queueSpec('b')]);
    service.queue('a').send({ body: 'x' });
    const received = one(service.queue('a'));
    expect(() => service.queue('b').delete(received.receiptHandle)).toThrow(
      sqsError('ReceiptHandleIsInvalid'),
    );
    expect(() => service.queue('a').delete('not-a-handle')).toThrow(sqsError('ReceiptHandleIsInvalid'));
  });

  it('delays delivery by the message’s or the queue’s delay', () => {
    const queue = new SqsService([queueSpec('slow', { delaySeconds: 5 })]).queue('slow');
    queue.send({ body: 'queue default' });
    queue.send({ body: 'own delay', delaySeconds: 10 });
    queue.send({ body: 'no delay', delaySeconds: 0 });
    expect(queue.counts()).toEqual({ visible: 1, notVisible: 0, delayed: 2 });
    expect(one(queue).body).toBe('no delay');
    vi.advanceTimersByTime(5_000);
    expect(one(queue).body).toBe('queue default');
    vi.advanceTimersByTime(5_000);
    expect(one(queue).body).toBe('own delay');
    expect(() => queue.send({ body: 'x', delaySeconds: 901 })).toThrow(sqsError('InvalidParameterValue'));
  });

  it('changes a message’s visibility only through its latest receipt handle while it is in flight', () => {
    const queue = new SqsService([queueSpec('orders')]).queue('orders');
    queue.send({ body: 'a' });
    const first = one(queue);
    queue.changeVisibility(first.receiptHandle, 0);
    const second = one(queue);
    expect(() => queue.changeVisibility(first.receiptHandle, 10)).toThrow(sqsError('InvalidParameterValue'));

    queue.changeVisibility(second.receiptHandle, 100);
    vi.advanceTimersByTime(99_999);
    expect(queue.receive()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(() => queue.changeVisibility(second.receiptHandle, 10)).toThrow(sqsError('MessageNotInflight'));
    queue.delete(second.receiptHandle);
    expect(() => queue.changeVisibility(second.receiptHandle, 10)).toThrow(sqsError('InvalidParameterValue'));
  });

  it('moves a message received maxReceiveCount times to the dead-letter queue at its next receive', () => {
    const service = new SqsService(withDeadLetters('ingest', 2));
    const [queue, dlq] = [service.queue('ingest'), service.queue('ingest-dlq')];
    const sent = queue.send({
      body: 'poison',
      messageAttributes: { kind: { DataType: 'String', StringValue: 'p' } },
    });
    const sentAt = Date.now();
    for (let receive = 1; receive <= 2; receive++) {
      expect(one(queue).attributes.ApproximateReceiveCount).toBe(String(receive));
      vi.advanceTimersByTime(30_000);
    }
    expect(queue.receive()).toEqual([]);
    expect(queue.size).toBe(0);

    const dead = one(dlq);
    expect(dead).toMatchObject({
      messageId: sent.messageId,
      body: 'poison',
      messageAttributes: { kind: { DataType: 'String', StringValue: 'p' } },
      // The count goes on, and the sent timestamp is the original one (it keeps counting for retention).
      attributes: {
        ApproximateReceiveCount: '3',
        SentTimestamp: String(sentAt),
        DeadLetterQueueSourceArn: queue.arn,
      },
    });
  });

  it('drops messages older than the retention period, in the dead-letter queue from their first send', () => {
    const [source, dlq] = withDeadLetters('short', 1, { messageRetentionSeconds: 600 });
    const service = new SqsService([source, { ...dlq, messageRetentionSeconds: 900 }]);
    const queue = service.queue('short');
    queue.send({ body: 'kept until 600 s' });
    one(queue, 0);
    queue.receive(); // the second receive moves it
    expect(service.queue('short-dlq').size).toBe(1);
    vi.advanceTimersByTime(899_999);
    expect(service.queue('short-dlq').size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(service.queue('short-dlq').size).toBe(0);

    queue.send({ body: 'expires' });
    vi.advanceTimersByTime(600_000);
    expect(queue.receive()).toEqual([]);
    expect(queue.counts()).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
  });

  it('purges everything, once a minute', () => {
    const queue = new SqsService([queueSpec('orders')]).queue('orders');
    queue.send({ body: 'a' });
    queue.send({ body: 'b' });
    expect(queue.receive()).toHaveLength(1);
    queue.purge();
    expect(queue.size).toBe(0);
    expect(() => queue.purge()).toThrow(sqsError('PurgeQueueInProgress'));
    vi.advanceTimersByTime(60_000);
    queue.purge();
  });

  it('scales visibility timeouts, and only them', () => {
    const queue = new SqsService([queueSpec('fast', { delaySeconds: 2 })], {
      visibilityTimeoutScale: 0.5,
    }).queue('fast');
    queue.send({ body: 'a' });
    vi.advanceTimersByTime(1_999);
    expect(queue.receive()).toEqual([]);
    vi.advanceTimersByTime(1);
    const received = one(queue);
    vi.advanceTimersByTime(14_999);
    expect(queue.receive()).toEqual([]);
    vi.advanceTimersByTime(1);
    queue.changeVisibility(one(queue).receiptHandle, 10);
    vi.advanceTimersByTime(5_000);
    expect(one(queue).messageId).toBe(received.messageId);
  });

  it('validates bodies and attributes as SQS does', () => {
    const queue = new SqsService([queueSpec('small', { maximumMessageSize: 1024 })]).queue('small');
    expect(() => queue.send({ body: 'bell \u0007' })).toThrow(sqsError('InvalidMessageContents'));
    expect(() => queue.send({ body: '\ud800' })).toThrow(sqsError('InvalidMessageContents'));
    expect(() => queue.send({ body: '' })).toThrow(sqsError('MissingParameter'));
    expect(() => queue.send({ body: 'x'.repeat(1025) })).toThrow(sqsError('InvalidParameterValue'));
    expect(() =>
      queue.send({
        body: 'x'.repeat(1000),
        messageAttributes: { n: { DataType: 'String', StringValue: 'y'.repeat(30) } },
      }),
    ).toThrow(sqsError('InvalidParameterValue'));
    expect(() =>
      queue.send({ body: 'x', messageAttributes: { 'AWS.x': { DataType: 'String', StringValue: 'y' } } }),
    ).toThrow(sqsError('InvalidParameterValue'));
    expect(() =>
      queue.send({ body: 'x', messageAttributes: { n: { DataType: 'Number', StringValue: 'twelve' } } }),
    ).toThrow(sqsError('InvalidParameterValue'));
    expect(() => queue.receive({ maxNumberOfMessages: 11 })).toThrow(sqsError('InvalidParameterValue'));
    expect(() => queue.send({ body: '緊急 🚒 fire lane' })).not.toThrow();
  });

  it('computes MD5OfMessageAttributes as AWS does', () => {
    expect(
      md5OfAttributes({
        ordinal: { DataType: 'Number', StringValue: '1' },
        category: { DataType: 'String', StringValue: 'test' },
      }),
    ).toBe('d21ae90c49061e927f57df5f5d72be1f');
    expect(md5OfAttributes({ SellerName: { DataType: 'String', StringValue: 'Example Store' } })).toBe(
      'cd28f3b68aeee4b2eac9c66f2f694b58',
    );
  });

  it('long-polls: returns as soon as a message arrives, or empty when the wait ends', async () => {
    const queue = new SqsService([queueSpec('orders')]).queue('orders');
    const waiting = queue.receiveWait({ waitTimeSeconds: 20 });
    await vi.advanceTimersByTimeAsync(5_000);
    queue.send({ body: 'late' });
    expect((await waiting).map((message) => message.body)).toEqual(['late']);

    const empty = queue.receiveWait({ waitTimeSeconds: 2 });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await empty).toEqual([]);
  });

  it('wakes waiters when an in-flight message becomes visible again', async () => {
    const queue = new SqsService([queueSpec('orders')]).queue('orders');
    queue.send({ body: 'a' });
    one(queue, 7);
    let woken = false;
    const changed = queue.changed().then(() => {
      woken = true;
    });
    await vi.advanceTimersByTimeAsync(6_999);
    expect(woken).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await changed;
    expect(queue.counts().visible).toBe(1);
  });

  it('finds queues by URL (any host), ARN or name', () => {
    const service = new SqsService([queueSpec('orders')]);
    const queue = service.queue('orders');
    expect(service.queue(queue.arn)).toBe(queue);
    expect(service.queue(queue.url)).toBe(queue);
    expect(service.queue('http://127.0.0.1:8085/000000000000/orders')).toBe(queue);
    expect(service.findQueue('http://127.0.0.1:8085/111111111111/orders')).toBeUndefined();
    expect(() => service.queue('missing')).toThrow(sqsError('QueueDoesNotExist'));
  });

  it('refuses FIFO queues and dead-letter queues it does not have', () => {
    expect(() => new SqsService([queueSpec('orders.fifo', { fifo: true })])).toThrow(/FIFO/);
    expect(() => new SqsService([withDeadLetters('orders', 3)[0]])).toThrow(/dead-letter queue/);
  });

  it('never loses or duplicates a message: each one sent ends deleted or in the dead-letter queue', () => {
    type Step =
      | { op: 'send'; count: number }
      | { op: 'receive'; max: number; visibility: number }
      | { op: 'delete'; pick: number }
      | { op: 'wait'; ms: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ op: fc.constant('send' as const), count: fc.integer({ min: 1, max: 4 }) }),
      fc.record({
        op: fc.constant('receive' as const),
        max: fc.integer({ min: 1, max: 10 }),
        visibility: fc.integer({ min: 0, max: 3 }),
      }),
      // Any handle ever issued: often a stale one, which must not delete.
      fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 4_000 }) }),
    );
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 60 }),
        fc.integer({ min: 1, max: 4 }),
        (steps, maxReceiveCount) => {
          const service = new SqsService(withDeadLetters('p', maxReceiveCount));
          const [queue, dlq] = [service.queue('p'), service.queue('p-dlq')];
          const sent = new Set<string>();
          const deleted = new Set<string>();
          const handles: { messageId: string; receiptHandle: string }[] = [];
          for (const s of steps) {
            if (s.op === 'send') {
              for (let i = 0; i < s.count; i++) sent.add(queue.send({ body: `m${sent.size}` }).messageId);
            } else if (s.op === 'receive') {
              handles.push(
                ...queue.receive({ maxNumberOfMessages: s.max, visibilityTimeoutSeconds: s.visibility }),
              );
            } else if (s.op === 'delete') {
              const handle = handles[s.pick % Math.max(1, handles.length)];
              const before = queue.size;
              if (handle !== undefined) queue.delete(handle.receiptHandle);
              if (queue.size < before && handle !== undefined) {
                expect(deleted.has(handle.messageId)).toBe(false);
                deleted.add(handle.messageId);
              }
            } else {
              vi.advanceTimersByTime(s.ms);
            }
            // Every message is in exactly one place: the queue, its dead-letter queue, or deleted.
            expect(queue.size + dlq.size + deleted.size).toBe(sent.size);
          }
          // A consumer that only ever fails: what is left must all reach the dead-letter queue.
          vi.advanceTimersByTime(4_000);
          while (queue.receive({ maxNumberOfMessages: 10, visibilityTimeoutSeconds: 0 }).length > 0);
          expect(queue.size).toBe(0);
          const dead = new Set<string>();
          for (;;) {
            const batch = dlq.receive({ maxNumberOfMessages: 10, visibilityTimeoutSeconds: 60 });
            if (batch.length === 0) break;
            for (const message of batch) dead.add(message.messageId);
          }
          for (const id of sent) expect(dead.has(id) !== deleted.has(id)).toBe(true);
          expect(dead.size + deleted.size).toBe(sent.size);
        },
      ),
      { numRuns: 200 },
    );
  });
});
