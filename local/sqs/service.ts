import { LOCAL_ACCOUNT, type QueueSpec } from '../template.js';
import { SqsError } from './errors.js';
import type { JournalEntry, MessageJournal } from './journal.js';
import { MessageMoveTasks } from './move-tasks.js';
import { Queue } from './queue.js';

export interface SqsServiceOptions {
  /**
   * Multiplies visibility timeouts, and nothing else (delays, retention, long polls keep real time), so
   * tests see a failed message come back without waiting a minute. Default 1.
   */
  visibilityTimeoutScale?: number;
  /** Where every message change is recorded to outlive the process (absent: in memory only). */
  journal?: MessageJournal;
}

/** The account's queues, found by URL, ARN or name. They come from the template: none are created later. */
export class SqsService {
  private readonly byName = new Map<string, Queue>();
  private readonly byArn = new Map<string, Queue>();
  /** StartMessageMoveTask's tasks: redrives out of the dead-letter queues. */
  readonly moveTasks = new MessageMoveTasks(this);
  readonly journal?: MessageJournal;

  constructor(specs: QueueSpec[], options: SqsServiceOptions = {}) {
    const visibilityTimeoutScale = options.visibilityTimeoutScale ?? 1;
    if (!Number.isFinite(visibilityTimeoutScale) || visibilityTimeoutScale < 0) {
      throw new RangeError(
        `visibilityTimeoutScale must be a finite number ≥ 0, got ${visibilityTimeoutScale}`,
      );
    }
    this.journal = options.journal;
    for (const spec of specs) {
      if (spec.fifo) throw new Error(`${spec.queueName}: FIFO queues are not supported locally`);
      const queue = new Queue(spec, { visibilityTimeoutScale, journal: options.journal });
      this.byName.set(queue.name, queue);
      this.byArn.set(queue.arn, queue);
    }
    for (const queue of this.byName.values()) {
      const targetArn = queue.spec.deadLetter?.targetArn;
      if (targetArn === undefined) continue;
      queue.deadLetterQueue = this.byArn.get(targetArn);
      if (queue.deadLetterQueue === undefined)
        throw new Error(`${queue.name}: dead-letter queue ${targetArn} does not exist`);
    }
  }

  get queues(): Queue[] {
    return [...this.byName.values()];
  }

  /** The queue a URL (any host: only `/<account>/<name>` counts), an ARN or a name designates, if any. */
  findQueue(ref: string): Queue | undefined {
    if (ref.startsWith('arn:')) return this.byArn.get(ref);
    if (!/^https?:\/\//.test(ref)) return this.byName.get(ref);
    if (!URL.canParse(ref)) return undefined;
    const [account, name, ...rest] = new URL(ref).pathname.split('/').filter((part) => part !== '');
    return account === LOCAL_ACCOUNT && name !== undefined && rest.length === 0
      ? this.byName.get(name)
      : undefined;
  }

  /** Like findQueue, but throws what SQS answers for a queue URL that names no queue. */
  queue(ref: string): Queue {
    if (/^https?:\/\//.test(ref) && !URL.canParse(ref))
      throw new SqsError('InvalidAddress', `The address ${ref} is not valid for this endpoint.`);
    const queue = this.findQueue(ref);
    if (queue === undefined) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  /**
   * Puts stored messages back in their queues (oldest first), at start. Messages of a queue the
   * template no longer has are returned: the caller decides (the local cloud drops them, saying so).
   */
  restore(entries: JournalEntry[]): JournalEntry[] {
    const orphans: JournalEntry[] = [];
    for (const entry of entries) {
      const queue = this.byName.get(entry.queueName);
      if (queue === undefined) orphans.push(entry);
      else queue.restore(entry.message);
    }
    return orphans;
  }

  /** Resolves once every message change so far is stored; undefined when the queues are in memory only. */
  flushed(): Promise<void> | undefined {
    return this.journal?.flushed();
  }

  close(): void {
    void this.moveTasks.close();
    for (const queue of this.byName.values()) queue.close();
  }
}
