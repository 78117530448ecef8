import { randomUUID } from 'node:crypto';
import { invalidParameter, SqsError } from './errors.js';
import type { Queue } from './queue.js';

export type MoveTaskStatus = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

/** One message move task, as ListMessageMoveTasks describes it. */
export interface MoveTask {
  taskHandle: string;
  sourceArn: string;
  destinationArn?: string;
  maxNumberOfMessagesPerSecond?: number;
  status: MoveTaskStatus;
  approximateNumberOfMessagesMoved: number;
  approximateNumberOfMessagesToMove: number;
  startedTimestamp: number;
  failureReason?: string;
}

/** AWS's ceiling for MaxNumberOfMessagesPerSecond. */
const MAX_RATE = 500;
/** ListMessageMoveTasks answers at most the 10 most recent tasks of a queue. */
const KEPT_PER_QUEUE = 10;

interface Queues {
  findQueue(ref: string): Queue | undefined;
  readonly queues: Queue[];
}

/**
 * SQS's dead-letter queue redrive (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask):
 * a task moves the messages visible in a dead-letter queue back to the queue each came from
 * (DeadLetterQueueSourceArn), or all to a given destination, in the background, at a given rate or as
 * fast as it can. A moved message keeps its id, body and attributes; its receive count starts again.
 * Each move is one change of the message's stored item (in its new queue), so a crash never loses or
 * doubles one; a task itself ends with the process (start it again: it moves what is left).
 */
export class MessageMoveTasks {
  private readonly tasks = new Map<string, MoveTask[]>();
  private readonly cancelled = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly queues: Queues) {}

  start(sourceArn: string, destinationArn?: string, maxNumberOfMessagesPerSecond?: number): MoveTask {
    const source = this.queues.findQueue(sourceArn);
    if (source === undefined || !sourceArn.startsWith('arn:'))
      throw new SqsError(
        'ResourceNotFoundException',
        'The resource that you specified for the SourceArn parameter doesn\u2019t exist.',
      );
    if (!this.queues.queues.some((queue) => queue.spec.deadLetter?.targetArn === source.arn)) {
      throw new SqsError(
        'UnsupportedOperation',
        `Source queue must be configured as a Dead Letter Queue: ${sourceArn} is no queue's dead-letter queue.`,
      );
    }
    let destination: Queue | undefined;
    if (destinationArn !== undefined) {
      destination = destinationArn.startsWith('arn:') ? this.queues.findQueue(destinationArn) : undefined;
      if (destination === undefined)
        throw new SqsError(
          'ResourceNotFoundException',
          'The resource that you specified for the DestinationArn parameter doesn\u2019t exist.',
        );
      if (destination === source)
        throw invalidParameter('Source queue and destination queue must be different.');
    }
    const rate = maxNumberOfMessagesPerSecond;
    if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > MAX_RATE)) {
      throw invalidParameter(
        `Value ${rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and ${MAX_RATE}.`,
      );
    }
    const history = this.tasks.get(source.arn) ?? [];
    if (history.some((task) => task.status === 'RUNNING' || task.status === 'CANCELLING')) {
      throw new SqsError(
        'UnsupportedOperation',
        'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
      );
    }
    const task: MoveTask = {
      taskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn: source.arn })).toString(
        'base64',
      ),
      sourceArn: source.arn,
      ...(destination === undefined ? {} : { destinationArn: destination.arn }),
      ...(rate === undefined ? {} : { maxNumberOfMessagesPerSecond: rate }),
      status: 'RUNNING',
      approximateNumberOfMessagesMoved: 0,
      approximateNumberOfMessagesToMove: source.counts().visible,
      startedTimestamp: Date.now(),
    };
    this.tasks.set(source.arn, [task, ...history].slice(0, KEPT_PER_QUEUE));
    const run = this.run(task, source, destination).finally(() => this.running.delete(run));
    this.running.add(run);
    return task;
  }

  /** The most recent tasks of a source queue, newest first. */
  list(sourceArn: string, maxResults = 1): MoveTask[] {
    const source = sourceArn.startsWith('arn:') ? this.queues.findQueue(sourceArn) : undefined;
    if (source === undefined)
      throw new SqsError(
        'ResourceNotFoundException',
        'The resource that you specified for the SourceArn parameter doesn\u2019t exist.',
      );
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > KEPT_PER_QUEUE)
      throw invalidParameter(
        `Value ${maxResults} for parameter MaxResults is invalid. Reason: Must be between 1 and 10.`,
      );
    return (this.tasks.get(source.arn) ?? []).slice(0, maxResults);
  }

  cancel(taskHandle: string): MoveTask {
    const task = [...this.tasks.values()].flat().find((candidate) => candidate.taskHandle === taskHandle);
    if (task === undefined) throw new SqsError('ResourceNotFoundException', 'Task does not exist.');
    if (task.status !== 'RUNNING')
      throw new SqsError(
        'UnsupportedOperation',
        `Only a RUNNING task can be cancelled; this one is ${task.status}.`,
      );
    task.status = 'CANCELLING';
    this.cancelled.add(taskHandle);
    return task;
  }

  /** Ends every task (their moved messages stay moved). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.running]);
  }

  private async run(task: MoveTask, source: Queue, destination: Queue | undefined): Promise<void> {
    const perTurn = task.maxNumberOfMessagesPerSecond ?? MAX_RATE;
    for (;;) {
      let moved = 0;
      while (moved < perTurn) {
        if (this.closed || this.cancelled.has(task.taskHandle)) {
          task.status = 'CANCELLED';
          return;
        }
        const message = source.takeForMove();
        if (message === undefined) {
          await source.flushed();
          task.status = 'COMPLETED';
          return;
        }
        const target =
          destination ??
          (message.deadLetterQueueSourceArn === undefined
            ? undefined
            : this.queues.findQueue(message.deadLetterQueueSourceArn));
        if (target === undefined) {
          // Back where it was: a message sent to the dead-letter queue directly has no queue to go back to.
          source.moveIn(message);
          await source.flushed();
          task.status = 'FAILED';
          task.failureReason = `Message ${message.messageId} has no source queue to move back to (it was not dead-lettered by a redrive policy); give a DestinationArn.`;
          return;
        }
        target.moveIn(message);
        task.approximateNumberOfMessagesMoved++;
        moved++;
      }
      await source.flushed();
      // A rate is a number of messages per second; without one, a short pause lets consumers run.
      await new Promise((resolve) =>
        task.maxNumberOfMessagesPerSecond === undefined ? setImmediate(resolve) : setTimeout(resolve, 1_000),
      );
    }
  }
}
