import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT, type QueueSpec } from '../template.js';
import {
  attributesSize,
  checkCharacters,
  checkMessageAttributes,
  type MessageAttributes,
  md5Hex,
  md5OfAttributes,
} from './attributes.js';
import { invalidParameter, SqsError } from './errors.js';
import type { MessageJournal } from './journal.js';

/** A message's system attributes, as ReceiveMessage returns them for `All` (epoch milliseconds as strings). */
export interface MessageSystemAttributes {
  ApproximateReceiveCount: string;
  SentTimestamp: string;
  SenderId: string;
  ApproximateFirstReceiveTimestamp: string;
  AWSTraceHeader?: string;
  /** Set on a message the redrive policy moved into a dead-letter queue: the queue it came from. */
  DeadLetterQueueSourceArn?: string;
}

export interface ReceivedMessage {
  messageId: string;
  /** Valid for this receive only: after the message is received again it no longer deletes it. */
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  attributes: MessageSystemAttributes;
  messageAttributes: MessageAttributes;
  md5OfMessageAttributes?: string;
}

export interface SendMessageInput {
  body: string;
  /** Overrides the queue's DelaySeconds (0–900). Never scaled. */
  delaySeconds?: number;
  messageAttributes?: MessageAttributes;
  /** The one system attribute a sender may set (X-Ray's trace header). */
  awsTraceHeader?: string;
}

export interface SendMessageResult {
  messageId: string;
  md5OfMessageBody: string;
  md5OfMessageAttributes?: string;
  md5OfMessageSystemAttributes?: string;
}

export interface ReceiveOptions {
  /** 1–10; default 1, as ReceiveMessage. */
  maxNumberOfMessages?: number;
  /** Overrides the queue's visibility timeout for these messages (0–43200 s, scaled like it). */
  visibilityTimeoutSeconds?: number;
}

export interface QueueCounts {
  /** ApproximateNumberOfMessages: receivable now. */
  visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received and not yet deleted or visible again. */
  notVisible: number;
  /** ApproximateNumberOfMessagesDelayed: sent with a delay that has not passed. */
  delayed: number;
}

export interface QueueOptions {
  /** Multiplies every visibility timeout (queue default, ReceiveMessage's, ChangeMessageVisibility's). */
  visibilityTimeoutScale: number;
  /** Where every change to a message is recorded, to outlive the process; none: in memory only. */
  journal?: MessageJournal;
}

/** A message as the queue holds it (and the journal stores it). */
export interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: MessageAttributes;
  md5OfMessageAttributes?: string;
  awsTraceHeader?: string;
  deadLetterQueueSourceArn?: string;
  sentTimestamp: number;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  /** Epoch ms from which the message can be received (delay, then each visibility timeout). */
  visibleAt: number;
  /** The nonce of the latest receive: only the receipt handle carrying it deletes the message. */
  receipt?: string;
  /** Where the message stands among the others (a queue returns the oldest first), across restarts. */
  order: number;
}

let lastOrder = 0;
/** Increasing, also across restarts: epoch microseconds, one more than the last when they collide. */
const nextOrder = () => {
  lastOrder = Math.max(Date.now() * 1000, lastOrder + 1);
  return lastOrder;
};

const MAX_VISIBILITY_TIMEOUT = 43_200;
const MAX_DELAY = 900;
const PURGE_INTERVAL_MS = 60_000;

const checkRange = (name: string, value: number, min: number, max: number) => {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(
      `Value ${value} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`,
    );
  }
};

/**
 * One standard SQS queue in memory, with AWS's semantics: delays, visibility timeouts with a receipt
 * handle per receive, retention, purge, and the redrive policy (a message received `maxReceiveCount`
 * times moves to the dead-letter queue at its next receive instead of being delivered). Messages come
 * back oldest first, which a standard queue allows but does not promise.
 */
export class Queue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly createdAt = Date.now();
  /** Set by the service once every queue exists. */
  deadLetterQueue?: Queue;
  private readonly messages = new Map<string, StoredMessage>();
  private readonly listeners = new Set<() => void>();
  private wakeTimer?: NodeJS.Timeout;
  private nextExpiry = Number.POSITIVE_INFINITY;
  private lastPurge = Number.NEGATIVE_INFINITY;
  private isClosed = false;

  constructor(
    readonly spec: QueueSpec,
    private readonly options: QueueOptions,
  ) {
    this.name = spec.queueName;
    this.url = spec.url;
    this.arn = spec.arn;
  }

  send(input: SendMessageInput): SendMessageResult {
    const { body } = input;
    if (body === '')
      throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    checkCharacters(body, 'message body');
    const delaySeconds = input.delaySeconds ?? this.spec.delaySeconds;
    checkRange('DelaySeconds', delaySeconds, 0, MAX_DELAY);
    const messageAttributes = input.messageAttributes ?? {};
    checkMessageAttributes(messageAttributes);
    const size = Buffer.byteLength(body) + attributesSize(messageAttributes);
    if (size > this.spec.maximumMessageSize) {
      throw invalidParameter(
        `One or more parameters are invalid. Reason: Message must be shorter than ${this.spec.maximumMessageSize} bytes.`,
      );
    }
    this.options.journal?.admit(size);
    const systemAttributes: MessageAttributes =
      input.awsTraceHeader === undefined
        ? {}
        : { AWSTraceHeader: { DataType: 'String', StringValue: input.awsTraceHeader } };
    const now = Date.now();
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5Hex(body),
      messageAttributes,
      md5OfMessageAttributes: md5OfAttributes(messageAttributes),
      awsTraceHeader: input.awsTraceHeader,
      sentTimestamp: now,
      receiveCount: 0,
      visibleAt: now + delaySeconds * 1000,
      order: 0,
    };
    this.store(message);
    return {
      messageId: message.messageId,
      md5OfMessageBody: message.md5OfBody,
      md5OfMessageAttributes: message.md5OfMessageAttributes,
      md5OfMessageSystemAttributes: md5OfAttributes(systemAttributes),
    };
  }

  /** Receives what is visible now (no waiting): each message becomes invisible for the visibility timeout. */
  receive(options: ReceiveOptions = {}): ReceivedMessage[] {
    const max = options.maxNumberOfMessages ?? 1;
    checkRange('MaxNumberOfMessages', max, 1, 10);
    const visibilitySeconds = options.visibilityTimeoutSeconds ?? this.spec.visibilityTimeoutSeconds;
    checkRange('VisibilityTimeout', visibilitySeconds, 0, MAX_VISIBILITY_TIMEOUT);
    const now = Date.now();
    this.expire(now);
    const received: ReceivedMessage[] = [];
    for (const message of this.messages.values()) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      const redrive = this.spec.deadLetter;
      if (redrive !== undefined && message.receiveCount >= redrive.maxReceiveCount) {
        this.moveToDeadLetterQueue(message);
        continue;
      }
      message.receiveCount++;
      message.firstReceiveTimestamp ??= now;
      message.receipt = randomUUID();
      message.visibleAt = now + this.scaled(visibilitySeconds);
      this.journal(message);
      received.push(this.received(message));
    }
    if (received.length > 0) this.notify();
    return received;
  }

  /**
   * ReceiveMessage with long polling: waits up to `waitTimeSeconds` (default: the queue's
   * ReceiveMessageWaitTimeSeconds) for a message, returning as soon as there is one.
   */
  async receiveWait(
    options: ReceiveOptions & { waitTimeSeconds?: number; signal?: AbortSignal } = {},
  ): Promise<ReceivedMessage[]> {
    const waitSeconds = options.waitTimeSeconds ?? this.spec.receiveMessageWaitTimeSeconds;
    checkRange('WaitTimeSeconds', waitSeconds, 0, 20);
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const messages = this.receive(options);
      const remaining = deadline - Date.now();
      if (messages.length > 0 || remaining <= 0 || this.isClosed || options.signal?.aborted) return messages;
      await this.changed({ signal: options.signal, timeoutMs: remaining });
    }
  }

  /**
   * Deletes the message the receipt handle was issued for. A handle from an earlier receive of a message
   * received again since, or of a message already deleted, is accepted and does nothing, as on AWS.
   */
  delete(receiptHandle: string): void {
    const { messageId, receipt } = this.parseReceiptHandle(receiptHandle);
    const message = this.messages.get(messageId);
    if (message === undefined || message.receipt !== receipt) return;
    this.messages.delete(messageId);
    this.journal(message, true);
    this.notify();
  }

  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): void {
    checkRange('VisibilityTimeout', visibilityTimeoutSeconds, 0, MAX_VISIBILITY_TIMEOUT);
    const { messageId, receipt } = this.parseReceiptHandle(receiptHandle);
    const now = Date.now();
    this.expire(now);
    const message = this.messages.get(messageId);
    if (message === undefined || message.receipt !== receipt) {
      throw invalidParameter(
        `Value ${receiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
    if (message.visibleAt <= now) {
      throw new SqsError('MessageNotInflight', 'The message referred to is not in flight.');
    }
    message.visibleAt = now + this.scaled(visibilityTimeoutSeconds);
    this.journal(message);
    this.notify();
  }

  /** Deletes every message, in flight or not; AWS allows one purge a minute. */
  purge(): void {
    const now = Date.now();
    if (now - this.lastPurge < PURGE_INTERVAL_MS) {
      throw new SqsError(
        'PurgeQueueInProgress',
        `Only one PurgeQueue operation on ${this.name} is allowed every 60 seconds.`,
      );
    }
    this.lastPurge = now;
    for (const message of this.messages.values()) this.journal(message, true);
    this.messages.clear();
    this.notify();
  }

  counts(): QueueCounts {
    const now = Date.now();
    this.expire(now);
    const counts: QueueCounts = { visible: 0, notVisible: 0, delayed: 0 };
    for (const message of this.messages.values()) {
      if (message.visibleAt <= now) counts.visible++;
      else if (message.receiveCount > 0) counts.notVisible++;
      else counts.delayed++;
    }
    return counts;
  }

  /** Every message the queue holds: visible, in flight or delayed. */
  get size(): number {
    this.expire(Date.now());
    return this.messages.size;
  }

  /**
   * Resolves at the queue's next change: a message sent, received, deleted, moved in by a redrive, made
   * visible again (its visibility timeout or delay ran out) — or on abort, timeout or close. Consumers
   * wait on this instead of polling.
   */
  changed(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    const { signal, timeoutMs } = options;
    return new Promise<void>((resolve) => {
      if (this.isClosed || signal?.aborted) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        this.listeners.delete(done);
        signal?.removeEventListener('abort', done);
        clearTimeout(timer);
        resolve();
      };
      this.listeners.add(done);
      signal?.addEventListener('abort', done, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
      this.armWakeTimer();
    });
  }

  /** Ends every wait, now and later; the messages are dropped with the queue. */
  close(): void {
    this.isClosed = true;
    this.notify();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  private get retentionMs(): number {
    return this.spec.messageRetentionSeconds * 1000;
  }

  private scaled(seconds: number): number {
    return Math.round(seconds * 1000 * this.options.visibilityTimeoutScale);
  }

  /**
   * Resolves once every change made so far is stored (none: the queue is in memory only, and nothing
   * waits). Operations are acknowledged after it: SendMessage, a receive, a delete, a visibility change.
   */
  flushed(): Promise<void> | undefined {
    return this.options.journal?.flushed();
  }

  /** Messages read back from the journal at start, oldest first: as they were, receive counts and all. */
  restore(message: StoredMessage): void {
    lastOrder = Math.max(lastOrder, message.order);
    this.messages.set(message.messageId, message);
    this.nextExpiry = Math.min(this.nextExpiry, message.sentTimestamp + this.retentionMs);
  }

  /**
   * Takes the oldest visible message out for a message move task (StartMessageMoveTask), unjournaled:
   * the destination's `moveIn` records it in its new queue, in the same turn.
   */
  takeForMove(): StoredMessage | undefined {
    const now = Date.now();
    this.expire(now);
    for (const message of this.messages.values()) {
      if (message.visibleAt > now) continue;
      this.messages.delete(message.messageId);
      this.notify();
      return message;
    }
    return undefined;
  }

  /**
   * A message a move task brings in (a redrive from a dead-letter queue): the same message id, body and
   * attributes, received never (its receive count starts again, so the redrive policy gives it its full
   * number of receives), sent now, visible at once.
   */
  moveIn(message: StoredMessage): void {
    const now = Date.now();
    this.store({
      ...message,
      deadLetterQueueSourceArn: undefined,
      receiveCount: 0,
      firstReceiveTimestamp: undefined,
      receipt: undefined,
      sentTimestamp: now,
      visibleAt: now,
    });
  }

  private journal(message: StoredMessage, gone = false): void {
    this.options.journal?.record(message.messageId, gone ? null : { queueName: this.name, message });
  }

  private store(message: StoredMessage): void {
    message.order = nextOrder();
    this.messages.set(message.messageId, message);
    this.journal(message);
    this.nextExpiry = Math.min(this.nextExpiry, message.sentTimestamp + this.retentionMs);
    this.notify();
  }

  /** Keeps identity, body, attributes, receive count and (as for standard queues) the sent timestamp. */
  private moveToDeadLetterQueue(message: StoredMessage): void {
    const target = this.deadLetterQueue;
    if (target === undefined) throw new Error(`${this.name}: dead-letter queue not wired`);
    // One journal record: the message's item changes queue (the delete below is superseded by the store).
    this.messages.delete(message.messageId);
    this.journal(message, true);
    target.store({
      ...message,
      deadLetterQueueSourceArn: this.arn,
      receipt: undefined,
      visibleAt: Date.now(),
    });
  }

  /** Drops messages past the retention period; scans only once the earliest of them is due. */
  private expire(now: number): void {
    if (now < this.nextExpiry) return;
    this.nextExpiry = Number.POSITIVE_INFINITY;
    for (const message of this.messages.values()) {
      const expiry = message.sentTimestamp + this.retentionMs;
      if (expiry <= now) {
        this.messages.delete(message.messageId);
        this.journal(message, true);
      } else this.nextExpiry = Math.min(this.nextExpiry, expiry);
    }
  }

  private received(message: StoredMessage): ReceivedMessage {
    return {
      messageId: message.messageId,
      receiptHandle: Buffer.from(`${this.arn} ${message.messageId} ${message.receipt}`).toString('base64'),
      body: message.body,
      md5OfBody: message.md5OfBody,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentTimestamp),
        SenderId: LOCAL_ACCOUNT,
        ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp),
        ...(message.awsTraceHeader === undefined ? {} : { AWSTraceHeader: message.awsTraceHeader }),
        ...(message.deadLetterQueueSourceArn === undefined
          ? {}
          : { DeadLetterQueueSourceArn: message.deadLetterQueueSourceArn }),
      },
      messageAttributes: message.messageAttributes,
      md5OfMessageAttributes: message.md5OfMessageAttributes,
    };
  }

  private parseReceiptHandle(receiptHandle: string): { messageId: string; receipt: string } {
    const [arn, messageId, receipt, ...rest] = Buffer.from(receiptHandle, 'base64')
      .toString('utf8')
      .split(' ');
    if (arn !== this.arn || messageId === undefined || receipt === undefined || rest.length > 0) {
      throw new SqsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`,
      );
    }
    return { messageId, receipt };
  }

  private notify(): void {
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    for (const listener of [...this.listeners]) listener();
  }

  /** While someone waits, a timer fires when the next delayed or in-flight message becomes visible. */
  private armWakeTimer(): void {
    if (this.wakeTimer !== undefined || this.isClosed) return;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const message of this.messages.values()) {
      if (message.visibleAt > now && message.visibleAt < next) next = message.visibleAt;
    }
    if (next === Number.POSITIVE_INFINITY) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.notify();
    }, next - now);
    // Waiters keep the process alive through their own handles (sockets, the poller's caller), not this.
    this.wakeTimer.unref();
  }
}
