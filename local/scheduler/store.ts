import { randomUUID } from 'node:crypto';
import type { CloudClock } from '../clock.js';
import type { LambdaService } from '../lambda/service.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../template.js';
import { isoSeconds, nextFire, parseSchedulerExpression, type SchedulerExpression } from './expression.js';

/** A restJson1 error: the SDK picks the exception class from `x-amzn-ErrorType`. */
export class SchedulerApiError extends Error {
  override readonly name = 'SchedulerApiError';
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

export const validation = (message: string) => new SchedulerApiError(400, 'ValidationException', message);
export const notFound = (message: string) => new SchedulerApiError(404, 'ResourceNotFoundException', message);

export type ScheduleState = 'ENABLED' | 'DISABLED';
export type ActionAfterCompletion = 'NONE' | 'DELETE';

export interface ScheduleTarget {
  Arn: string;
  RoleArn: string;
  Input?: string;
  RetryPolicy?: { MaximumEventAgeInSeconds?: number; MaximumRetryAttempts?: number };
  DeadLetterConfig?: { Arn?: string };
}

/** What CreateSchedule and UpdateSchedule carry (UpdateSchedule replaces every field). */
export interface ScheduleDefinition {
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  Target: ScheduleTarget;
  FlexibleTimeWindow: { Mode: 'OFF' | 'FLEXIBLE'; MaximumWindowInMinutes?: number };
  StartDate?: Date;
  EndDate?: Date;
  Description?: string;
  State?: ScheduleState;
  KmsKeyArn?: string;
  ActionAfterCompletion?: ActionAfterCompletion;
}

export interface ScheduleRecord {
  name: string;
  groupName: string;
  arn: string;
  definition: ScheduleDefinition;
  timeZone: string;
  state: ScheduleState;
  actionAfterCompletion: ActionAfterCompletion;
  creationDate: Date;
  lastModificationDate: Date;
  clientToken?: string;
  expression: SchedulerExpression;
  /** Where rate() intervals are counted from when there is no StartDate: creation or last update. */
  anchor: number;
  lastFired?: number;
  completed: boolean;
  timer?: NodeJS.Timeout;
}

/** A schedule as it is stored: its definition and where it stands (times in epoch milliseconds). */
export interface StoredSchedule {
  name: string;
  groupName: string;
  definition: Omit<ScheduleDefinition, 'StartDate' | 'EndDate'> & { StartDate?: number; EndDate?: number };
  state: ScheduleState;
  actionAfterCompletion: ActionAfterCompletion;
  creationDate: number;
  lastModificationDate: number;
  clientToken?: string;
  anchor: number;
  lastFired?: number;
  completed: boolean;
}

/**
 * Where schedules are kept to outlive the process (local/scheduler/persistence.ts). `put` and `remove`
 * are called in order for one schedule; the store waits for them before CreateSchedule, UpdateSchedule
 * and DeleteSchedule answer, and records a firing once its delivery has settled.
 */
export interface SchedulePersistence {
  put(schedule: StoredSchedule): Promise<void>;
  remove(groupName: string, name: string): Promise<void>;
}

export interface SchedulerStoreOptions {
  /** `invokeAsync` may return the invocation's settling (retries included): a firing is stored after it. */
  lambda: {
    invokeAsync(nameOrArn: string, event: unknown): void | Promise<void>;
    spec: LambdaService['spec'];
  };
  /** Keeps schedules across restarts (absent: in memory only). */
  persistence?: SchedulePersistence;
  /** Schedule groups that exist besides `default`; undefined accepts any group name. */
  groups?: string[];
  /** Multiplies rate() intervals (0.001 turns a minute into 60 ms); at() and cron() keep the clock's time. */
  timeScale?: number;
  /**
   * The cloud's clock (real time when absent): schedules fire when it reaches their time, and every
   * schedule is re-armed when it advances, so a one-time schedule it jumped past fires at once.
   */
  clock?: CloudClock;
  log?: (line: string) => void;
}

/** setTimeout's limit (about 24.8 days); longer waits are taken in steps. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export const scheduleArnOf = (groupName: string, name: string) =>
  `arn:aws:scheduler:${LOCAL_REGION}:${LOCAL_ACCOUNT}:schedule/${groupName}/${name}`;

/**
 * The schedules, held in memory, each armed with its own timer. Firing delivers the target's Input
 * (context attributes substituted, then parsed as JSON) to the Lambda function as an Event invocation,
 * so Lambda's async retries and on-failure destination apply from there. Times (creation, at(), cron(),
 * StartDate, EndDate) are read on the cloud's clock; the timers wait in real time for it to get there.
 */
export class SchedulerStore {
  private readonly schedules = new Map<string, ScheduleRecord>();
  private readonly groups?: Set<string>;
  private closed = false;
  private readonly unsubscribe?: () => void;
  /** Stored writes, one after the other, so the last one of a schedule is its state. */
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly options: SchedulerStoreOptions) {
    if (options.groups !== undefined) this.groups = new Set(['default', ...options.groups]);
    this.unsubscribe = options.clock?.onAdvance(() => {
      for (const record of [...this.schedules.values()]) if (record.timer !== undefined) this.arm(record);
    });
  }

  /**
   * Schedules read back at start: re-armed from where they stood, so a one-time schedule whose time
   * passed while the cloud was stopped fires now, once, and a recurring one goes on from its next time.
   * A schedule that no longer validates (its target function left the template) is kept but not armed.
   */
  restore(schedules: StoredSchedule[]): void {
    for (const stored of schedules) {
      const definition: ScheduleDefinition = {
        ...stored.definition,
        StartDate:
          stored.definition.StartDate === undefined ? undefined : new Date(stored.definition.StartDate),
        EndDate: stored.definition.EndDate === undefined ? undefined : new Date(stored.definition.EndDate),
      };
      let checked: { expression: SchedulerExpression; timeZone: string };
      try {
        checked = this.check(definition);
      } catch (error) {
        this.options.log?.(
          `scheduler: stored schedule ${stored.groupName}/${stored.name} is not re-armed: ${(error as Error).message}`,
        );
        continue;
      }
      const record: ScheduleRecord = {
        name: stored.name,
        groupName: stored.groupName,
        arn: scheduleArnOf(stored.groupName, stored.name),
        definition,
        timeZone: checked.timeZone,
        state: stored.state,
        actionAfterCompletion: stored.actionAfterCompletion,
        creationDate: new Date(stored.creationDate),
        lastModificationDate: new Date(stored.lastModificationDate),
        clientToken: stored.clientToken,
        expression: checked.expression,
        anchor: stored.anchor,
        lastFired: stored.lastFired,
        completed: stored.completed,
      };
      this.schedules.set(this.key(record.groupName, record.name), record);
      this.arm(record);
    }
  }

  /** Resolves once every schedule change so far is stored (at once without persistence). */
  flushed(): Promise<void> {
    return this.writes;
  }

  /** Stores the schedule as it now is: its record, or its removal if it is gone. */
  private persist(record: ScheduleRecord): void {
    const persistence = this.options.persistence;
    if (persistence === undefined) return;
    const present = this.schedules.get(this.key(record.groupName, record.name)) === record;
    const { definition } = record;
    const stored: StoredSchedule = {
      name: record.name,
      groupName: record.groupName,
      definition: {
        ...definition,
        StartDate: definition.StartDate?.getTime(),
        EndDate: definition.EndDate?.getTime(),
      },
      state: record.state,
      actionAfterCompletion: record.actionAfterCompletion,
      creationDate: record.creationDate.getTime(),
      lastModificationDate: record.lastModificationDate.getTime(),
      clientToken: record.clientToken,
      anchor: record.anchor,
      lastFired: record.lastFired,
      completed: record.completed,
    };
    this.writes = this.writes
      .then(() => (present ? persistence.put(stored) : persistence.remove(record.groupName, record.name)))
      .catch((error: Error) =>
        this.options.log?.(
          `scheduler: storing ${record.groupName}/${record.name} failed (it is kept in memory): ${error.message}`,
        ),
      );
  }

  /** Epoch milliseconds on the cloud's clock. */
  private now(): number {
    return this.options.clock?.now() ?? Date.now();
  }

  private key(groupName: string, name: string) {
    return `${groupName}/${name}`;
  }

  private requireGroup(groupName: string) {
    if (this.groups !== undefined && !this.groups.has(groupName))
      throw notFound(`Schedule group ${groupName} does not exist.`);
  }

  get(groupName: string, name: string): ScheduleRecord {
    this.requireGroup(groupName);
    const record = this.schedules.get(this.key(groupName, name));
    if (record === undefined) throw notFound(`Schedule ${name} does not exist.`);
    return record;
  }

  list(filter: { groupName?: string; namePrefix?: string; state?: ScheduleState }): ScheduleRecord[] {
    return [...this.schedules.values()]
      .filter(
        (record) =>
          (filter.groupName === undefined || record.groupName === filter.groupName) &&
          (filter.namePrefix === undefined || record.name.startsWith(filter.namePrefix)) &&
          (filter.state === undefined || record.state === filter.state),
      )
      .sort((a, b) => (this.key(a.groupName, a.name) < this.key(b.groupName, b.name) ? -1 : 1));
  }

  /** Checks a definition as CreateSchedule/UpdateSchedule would, and reads its expression. */
  private check(definition: ScheduleDefinition): { expression: SchedulerExpression; timeZone: string } {
    const timeZone = definition.ScheduleExpressionTimezone ?? 'UTC';
    let expression: SchedulerExpression;
    try {
      expression = parseSchedulerExpression(definition.ScheduleExpression, timeZone);
    } catch (error) {
      throw validation(
        `Invalid Schedule Expression ${definition.ScheduleExpression}: ${(error as Error).message}`,
      );
    }
    const { StartDate, EndDate, FlexibleTimeWindow, Target } = definition;
    if (StartDate !== undefined && EndDate !== undefined && EndDate.getTime() <= StartDate.getTime())
      throw validation('The EndDate must be after the StartDate.');
    if (FlexibleTimeWindow.Mode === 'FLEXIBLE' && FlexibleTimeWindow.MaximumWindowInMinutes === undefined)
      throw validation('MaximumWindowInMinutes is required when the FlexibleTimeWindow Mode is FLEXIBLE.');
    if (FlexibleTimeWindow.Mode === 'OFF' && FlexibleTimeWindow.MaximumWindowInMinutes !== undefined)
      throw validation('MaximumWindowInMinutes must not be set when the FlexibleTimeWindow Mode is OFF.');
    // Stricter than AWS, which accepts any ARN and fails at invocation: locally only the template's
    // functions can be targets, and their payload must be JSON.
    if (!/^arn:aws[a-z-]*:lambda:/.test(Target.Arn))
      throw validation(`Target ${Target.Arn}: the local scheduler invokes Lambda functions only.`);
    try {
      this.options.lambda.spec(Target.Arn);
    } catch (error) {
      throw validation(`Target ${Target.Arn}: ${(error as Error).message}`);
    }
    if (Target.Input !== undefined) {
      try {
        JSON.parse(substitute(Target.Input, { arn: '', time: 0, executionId: '', attempt: 1 }));
      } catch {
        throw validation('Target.Input must be JSON for a Lambda function target.');
      }
    }
    return { expression, timeZone };
  }

  create(
    groupName: string,
    name: string,
    definition: ScheduleDefinition,
    clientToken?: string,
  ): ScheduleRecord {
    if (this.closed) throw new SchedulerApiError(500, 'InternalServerException', 'The scheduler is closed.');
    this.requireGroup(groupName);
    const key = this.key(groupName, name);
    const existing = this.schedules.get(key);
    if (existing !== undefined) {
      // A retried request (same client token) gets the schedule it already created.
      if (clientToken !== undefined && existing.clientToken === clientToken) return existing;
      throw new SchedulerApiError(409, 'ConflictException', `Schedule ${name} already exists.`);
    }
    const { expression, timeZone } = this.check(definition);
    const now = new Date(this.now());
    const record: ScheduleRecord = {
      name,
      groupName,
      arn: scheduleArnOf(groupName, name),
      definition,
      timeZone,
      state: definition.State ?? 'ENABLED',
      actionAfterCompletion: definition.ActionAfterCompletion ?? 'NONE',
      creationDate: now,
      lastModificationDate: now,
      clientToken,
      expression,
      anchor: now.getTime(),
      completed: false,
    };
    this.schedules.set(key, record);
    this.arm(record);
    this.persist(record);
    return record;
  }

  update(groupName: string, name: string, definition: ScheduleDefinition): ScheduleRecord {
    const record = this.get(groupName, name);
    const { expression, timeZone } = this.check(definition);
    const now = new Date(this.now());
    clearTimeout(record.timer);
    Object.assign(record, {
      definition,
      timeZone,
      expression,
      state: definition.State ?? 'ENABLED',
      actionAfterCompletion: definition.ActionAfterCompletion ?? 'NONE',
      lastModificationDate: now,
      anchor: now.getTime(),
      lastFired: undefined,
      completed: false,
      timer: undefined,
    });
    this.arm(record);
    this.persist(record);
    return record;
  }

  delete(groupName: string, name: string): void {
    const record = this.get(groupName, name);
    this.remove(record);
    this.persist(record);
  }

  private remove(record: ScheduleRecord) {
    clearTimeout(record.timer);
    record.timer = undefined;
    this.schedules.delete(this.key(record.groupName, record.name));
  }

  /** Schedules with a timer set: enabled and not completed. */
  pending(): number {
    let count = 0;
    for (const record of this.schedules.values()) if (record.timer !== undefined) count++;
    return count;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    for (const record of this.schedules.values()) {
      clearTimeout(record.timer);
      record.timer = undefined;
    }
  }

  private arm(record: ScheduleRecord): void {
    clearTimeout(record.timer);
    record.timer = undefined;
    if (this.closed || record.state === 'DISABLED' || record.completed) return;
    const now = this.now();
    const next = nextFire({
      expression: record.expression,
      timeZone: record.timeZone,
      now,
      anchor: record.definition.StartDate?.getTime() ?? record.anchor,
      startDate: record.definition.StartDate?.getTime(),
      endDate: record.definition.EndDate?.getTime(),
      lastFired: record.lastFired,
      timeScale: this.options.timeScale,
    });
    if (next === 'done') {
      this.complete(record);
      return;
    }
    const at = 'fire' in next ? next.fire : next.recheck;
    const delay = Math.max(0, at - now);
    const timer = setTimeout(
      () => {
        if (record.timer !== timer) return;
        record.timer = undefined;
        if (delay > MAX_TIMEOUT_MS || !('fire' in next)) this.arm(record);
        else this.fire(record, next.fire);
      },
      Math.min(delay, MAX_TIMEOUT_MS),
    );
    timer.unref();
    record.timer = timer;
  }

  /**
   * Delivers, and re-arms. With persistence the firing is stored once its delivery has settled (the
   * function ran, or its async retries ended): a crash before that fires it again at the next start —
   * at least once, as EventBridge Scheduler delivers, and every timer target is idempotent.
   */
  private fire(record: ScheduleRecord, scheduledTime: number): void {
    record.lastFired = scheduledTime;
    const delivered = this.deliver(record, scheduledTime);
    if (this.schedules.get(this.key(record.groupName, record.name)) === record) this.arm(record);
    if (this.options.persistence !== undefined)
      void Promise.resolve(delivered).then(() => {
        if (!this.closed) this.persist(record);
      });
  }

  /** A one-time schedule that fired, or a recurring one past its end date. */
  private complete(record: ScheduleRecord): void {
    record.completed = true;
    if (record.actionAfterCompletion === 'DELETE') {
      this.remove(record);
      this.options.log?.(`scheduler: ${record.groupName}/${record.name} completed and deleted`);
    }
  }

  private deliver(record: ScheduleRecord, scheduledTime: number): void | Promise<void> {
    const { Target } = record.definition;
    try {
      const input =
        Target.Input === undefined
          ? '{}'
          : substitute(Target.Input, {
              arn: record.arn,
              time: scheduledTime,
              executionId: randomUUID(),
              attempt: 1,
            });
      return this.options.lambda.invokeAsync(Target.Arn, JSON.parse(input));
    } catch (error) {
      this.options.log?.(
        `scheduler: ${record.groupName}/${record.name} → ${Target.Arn}: ${(error as Error).message}`,
      );
    }
  }
}

/** Scheduler's context attributes, replaced in the Input before delivery. */
const substitute = (
  input: string,
  context: { arn: string; time: number; executionId: string; attempt: number },
): string =>
  input
    .replaceAll('<aws.scheduler.schedule-arn>', context.arn)
    .replaceAll('<aws.scheduler.scheduled-time>', isoSeconds(context.time))
    .replaceAll('<aws.scheduler.execution-id>', context.executionId)
    .replaceAll('<aws.scheduler.attempt-number>', String(context.attempt));
