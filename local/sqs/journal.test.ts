import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurableState } from '../durable-state.js';
import { type LocalDynamoDb, startDynamoDbLocal } from '../dynamodb.js';
import { DurableMessageJournal, MAX_DURABLE_MESSAGE_BYTES } from './journal.js';
import { SqsService } from './service.js';
import { withDeadLetters } from './test-support.js';

/**
 * Durable queues at the queue level, against DynamoDB Local: what one service (one run of the cloud)
 * did, a second one built on the same store finds — receive counts, visibility, deletes, dead-letter
 * moves and redrives — as if the process had been killed right after.
 */
describe('SQS journal: messages outlive the service that held them', () => {
  let dynamodb: LocalDynamoDb;
  let state: DurableState;
  const specs = withDeadLetters('orders', 2, { visibilityTimeoutSeconds: 30 });

  /** A new service (a new run) on the stored messages. */
  const reopen = async () => {
    const journal = new DurableMessageJournal(state);
    const service = new SqsService(specs, { journal });
    expect(service.restore(await journal.load())).toEqual([]);
    return service;
  };

  beforeAll(async () => {
    dynamodb = await startDynamoDbLocal({});
    state = await DurableState.open(dynamodb.endpoint);
  }, 60_000);

  afterAll(async () => {
    state?.close();
    await dynamodb?.stop();
  });

  it('keeps sends, receive counts, visibility, deletes and dead-letter moves', async () => {
    const first = await reopen();
    const queue = first.queue('orders');
    const [a, b, c] = ['a', 'b', 'c'].map((body) => queue.send({ body }));
    const [receivedA] = queue.receive(); // a: in flight for 30 s
    const [receivedB] = queue.receive();
    queue.delete(receivedB?.receiptHandle as string); // b: gone
    // c: received twice with no visibility timeout, then moved to the DLQ by the third receive.
    queue.receive({ visibilityTimeoutSeconds: 0 });
    queue.receive({ visibilityTimeoutSeconds: 0 });
    expect(queue.receive({ visibilityTimeoutSeconds: 0 })).toEqual([]);
    await first.flushed();
    first.close();

    const second = await reopen();
    const orders = second.queue('orders');
    const dlq = second.queue('orders-dlq');
    expect(orders.counts()).toEqual({ visible: 0, notVisible: 1, delayed: 0 });
    expect(dlq.size).toBe(1);
    const [dead] = dlq.receive({ visibilityTimeoutSeconds: 0 });
    expect(dead).toMatchObject({ messageId: c?.messageId, body: 'c' });
    expect(dead?.attributes).toMatchObject({
      ApproximateReceiveCount: '3',
      DeadLetterQueueSourceArn: orders.arn,
    });
    expect(b?.messageId).not.toBe(a?.messageId);
    // The handle of a receive before the restart still deletes the message.
    orders.delete(receivedA?.receiptHandle as string);
    expect(orders.size).toBe(0);
    await second.flushed();
    second.close();

    const third = await reopen();
    expect(third.queue('orders').size).toBe(0);
    expect(third.queue('orders-dlq').size).toBe(1);
    third.close();
  });

  it('redrives with StartMessageMoveTask: back in the source queue with a fresh receive count, also after a restart', async () => {
    const first = await reopen();
    const task = first.moveTasks.start(first.queue('orders-dlq').arn);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await first.flushed();
    expect(first.moveTasks.list(first.queue('orders-dlq').arn)[0]).toMatchObject({
      taskHandle: task.taskHandle,
      status: 'COMPLETED',
      approximateNumberOfMessagesMoved: 1,
      approximateNumberOfMessagesToMove: 1,
    });
    first.close();

    const second = await reopen();
    expect(second.queue('orders-dlq').size).toBe(0);
    const [back] = second.queue('orders').receive();
    expect(back).toMatchObject({ body: 'c' });
    expect(back?.attributes.ApproximateReceiveCount).toBe('1');
    expect(back?.attributes.DeadLetterQueueSourceArn).toBeUndefined();
    second.queue('orders').delete(back?.receiptHandle as string);
    await second.flushed();
    second.close();
  });

  it('refuses a message too large to be kept, rather than losing it', async () => {
    const service = await reopen();
    expect(() => service.queue('orders').send({ body: 'x'.repeat(MAX_DURABLE_MESSAGE_BYTES + 1) })).toThrow(
      /keeps messages on disk up to/,
    );
    service.close();
  });
});
