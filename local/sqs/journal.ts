import { type DurableState, STATE_TABLES, type StateItem } from '../durable-state.js';
import { invalidParameter } from './errors.js';
import type { StoredMessage } from './queue.js';

/** A message as the journal keeps it: which queue holds it, and its whole state. */
export interface JournalEntry {
  queueName: string;
  message: StoredMessage;
}

/**
 * Where a queue reports every change to its messages, so they outlive the process. `record` is called
 * synchronously inside the queue's operation; `flushed` resolves once every change recorded before the
 * call is stored, and an operation is acknowledged only after it (SendMessage, a receive, a delete …).
 */
export interface MessageJournal {
  /** The message's state now (`null`: gone). A move between queues is one record: the queue changes. */
  record(messageId: string, entry: JournalEntry | null): void;
  flushed(): Promise<void>;
  /** Throws SQS's error for a message too large to be kept (DynamoDB's item limit). */
  admit(bytes: number): void;
}

/** Writes in flight at once; each is one BatchWriteItem of up to 25 messages. */
const CONCURRENT_BATCHES = 4;
const BATCH = 25;
const RETRY_MS = 1_000;
/** Body and attributes a message may have to fit one DynamoDB item (400 KB) with its other fields. */
export const MAX_DURABLE_MESSAGE_BYTES = 380_000;
const SORT_KEY = 'message';

interface Dirty {
  entry: JournalEntry | null;
  /** The lowest change number not yet written for this message. */
  seq: number;
}

/**
 * The SQS messages in DynamoDB Local, one item per message keyed by its id (so a redrive to a
 * dead-letter queue, or back, rewrites one item: it cannot be lost or doubled halfway). Changes are
 * coalesced per message and written in batches, up to four at a time, never two writes of one message
 * at once, so the store always ends at each message's latest state.
 */
export class DurableMessageJournal implements MessageJournal {
  private readonly dirty = new Map<string, Dirty>();
  private readonly writing = new Map<string, number>();
  private readonly waiters: { seq: number; resolve: () => void }[] = [];
  private seq = 0;
  private batches = 0;
  private pumpQueued = false;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly state: DurableState,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Every stored message, oldest first (by the order the queues took them in). */
  async load(): Promise<JournalEntry[]> {
    const items = await this.state.scan(STATE_TABLES.sqs);
    return items
      .filter((item) => item.sk === SORT_KEY)
      .map(({ pk: _pk, sk: _sk, queueName, ...message }) => ({
        queueName: String(queueName),
        message: message as unknown as StoredMessage,
      }))
      .sort((a, b) => a.message.order - b.message.order);
  }

  admit(bytes: number): void {
    if (bytes > MAX_DURABLE_MESSAGE_BYTES) {
      throw invalidParameter(
        `One or more parameters are invalid. Reason: the local cloud keeps messages on disk up to ${MAX_DURABLE_MESSAGE_BYTES} bytes (body and attributes); run it with --in-memory for larger ones.`,
      );
    }
  }

  record(messageId: string, entry: JournalEntry | null): void {
    const seq = ++this.seq;
    const previous = this.dirty.get(messageId);
    this.dirty.set(messageId, { entry, seq: previous?.seq ?? seq });
    if (!this.pumpQueued) {
      this.pumpQueued = true;
      // Changes made in one turn (a receive of ten, a redrive) share a batch.
      queueMicrotask(() => {
        this.pumpQueued = false;
        this.pump();
      });
    }
  }

  flushed(): Promise<void> {
    if (this.dirty.size === 0 && this.writing.size === 0) return Promise.resolve();
    const seq = this.seq;
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  /** Stops writing; what is still unwritten is what a crash would have lost (never acknowledged). */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  private pump(): void {
    while (!this.closed && this.batches < CONCURRENT_BATCHES) {
      const batch: [string, Dirty][] = [];
      for (const [messageId, dirty] of this.dirty) {
        if (this.writing.has(messageId)) continue;
        batch.push([messageId, dirty]);
        if (batch.length === BATCH) break;
      }
      if (batch.length === 0) return;
      for (const [messageId, dirty] of batch) {
        this.dirty.delete(messageId);
        this.writing.set(messageId, dirty.seq);
      }
      // Serialized now: the message objects keep changing in memory.
      const writes = batch.map(([messageId, { entry }]) =>
        entry === null ? { delete: { pk: messageId, sk: SORT_KEY } } : { put: this.item(messageId, entry) },
      );
      this.batches++;
      this.state.write(STATE_TABLES.sqs, writes).then(
        () => this.settle(batch, true),
        (error: Error) => {
          this.log(`sqs: storing ${batch.length} message change(s) failed, retrying: ${error.message}`);
          this.settle(batch, false);
        },
      );
    }
  }

  private settle(batch: [string, Dirty][], ok: boolean): void {
    this.batches--;
    for (const [messageId, dirty] of batch) {
      this.writing.delete(messageId);
      if (ok) continue;
      // Not written: back to dirty unless a newer change is already waiting there.
      const newer = this.dirty.get(messageId);
      this.dirty.set(messageId, newer === undefined ? dirty : { entry: newer.entry, seq: dirty.seq });
    }
    this.wake();
    if (ok) this.pump();
    else {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.pump(), RETRY_MS);
    }
  }

  private wake(): void {
    let lowest = Number.POSITIVE_INFINITY;
    for (const { seq } of this.dirty.values()) lowest = Math.min(lowest, seq);
    for (const seq of this.writing.values()) lowest = Math.min(lowest, seq);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i] as { seq: number; resolve: () => void };
      if (waiter.seq < lowest) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  private item(messageId: string, { queueName, message }: JournalEntry): StateItem {
    return { ...message, pk: messageId, sk: SORT_KEY, queueName };
  }
}
