import { randomBytes } from 'node:crypto';
import { StepFunctionsApiError, TaskClosedError, TaskFailedError } from './errors.js';

/** How long after TimeoutSeconds the backstop timer retires a token nobody called back. */
const TIMEOUT_MARGIN_MS = 1_000;

interface PendingToken {
  state: 'pending';
  executionArn: string;
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
  heartbeatSeconds?: number;
  heartbeatTimer?: NodeJS.Timeout;
  timeoutTimer?: NodeJS.Timeout;
  /** performance.now() at which the task's TimeoutSeconds ends: a callback from then on is too late. */
  timeoutAt: number;
}

type TokenRecord = PendingToken | { state: 'closed' };

export interface IssueOptions {
  executionArn: string;
  timeoutSeconds: number;
  heartbeatSeconds?: number;
}

/**
 * The callback half of `.waitForTaskToken`, which aws-local-stepfunctions lacks: every token task gets a token
 * and a promise that SendTaskSuccess/Failure settles. Tokens are kept after they close so a late callback gets
 * `TaskTimedOut` (as on AWS) rather than `InvalidToken`.
 */
export class TaskTokens {
  private readonly records = new Map<string, TokenRecord>();
  private readonly byExecution = new Map<string, Set<string>>();

  issue(options: IssueOptions): { token: string; result: Promise<unknown> } {
    return this.adopt(randomBytes(48).toString('base64url'), options);
  }

  /**
   * Makes a token issued by an earlier run of the cloud pending again (an execution resumed after a
   * restart), with what is left of its timeout: SendTaskSuccess/Failure with it settle the task as before.
   */
  adopt(token: string, options: IssueOptions): { token: string; result: Promise<unknown> } {
    let resolve!: (output: unknown) => void;
    let reject!: (error: Error) => void;
    const result = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Heartbeat or stop may reject before the task awaits the promise (it is still invoking the Lambda).
    result.catch(() => undefined);
    const timeoutMs = options.timeoutSeconds * 1000;
    const record: PendingToken = {
      state: 'pending',
      executionArn: options.executionArn,
      resolve,
      reject,
      timeoutAt: performance.now() + timeoutMs,
    };
    if (options.heartbeatSeconds !== undefined) record.heartbeatSeconds = options.heartbeatSeconds;
    // The library races the task against its own TimeoutSeconds timer, armed just after this one, and
    // only its error is a real States.Timeout (one States.TaskFailed may not catch). This timer merely
    // retires the token, well after the library's has fired even on a loaded machine (a margin of 1 ms
    // was not: the look-alike won and was caught). A callback after TimeoutSeconds is refused anyway.
    record.timeoutTimer = setTimeout(
      () => this.settle(token, new TaskFailedError('States.Timeout', 'Task timed out')),
      timeoutMs + TIMEOUT_MARGIN_MS,
    );
    this.records.set(token, record);
    let tokens = this.byExecution.get(options.executionArn);
    if (!tokens) {
      tokens = new Set();
      this.byExecution.set(options.executionArn, tokens);
    }
    tokens.add(token);
    this.armHeartbeat(token, record);
    return { token, result };
  }

  succeed(token: string, output: unknown): void {
    this.settle(token, { output }, true);
  }

  fail(token: string, error: string | undefined, cause: string | undefined): void {
    this.settle(token, new TaskFailedError(error ?? '', cause ?? ''), true);
  }

  /** The execution a pending token belongs to; throws InvalidToken or TaskTimedOut as the callbacks do. */
  ownerOf(token: string): string {
    return this.pending(token).executionArn;
  }

  heartbeat(token: string): void {
    const record = this.pending(token);
    this.armHeartbeat(token, record);
  }

  /** Withdraws a token whose task ended without a callback (the Lambda that should receive it failed). */
  withdraw(token: string): void {
    const record = this.records.get(token);
    if (record?.state === 'pending') this.close(token, record);
  }

  /** Ends every pending token of an execution that stopped, failed or timed out. */
  closeExecution(executionArn: string): void {
    for (const token of this.byExecution.get(executionArn) ?? []) {
      this.settle(token, new TaskClosedError());
    }
    this.byExecution.delete(executionArn);
  }

  closeAll(): void {
    for (const executionArn of [...this.byExecution.keys()]) this.closeExecution(executionArn);
  }

  private pending(token: string): PendingToken {
    const record = this.records.get(token);
    if (!record) throw new StepFunctionsApiError('InvalidToken', 'Invalid Token');
    if (record.state === 'pending' && performance.now() >= record.timeoutAt) this.close(token, record);
    if (this.records.get(token)?.state === 'closed') {
      throw new StepFunctionsApiError(
        'TaskTimedOut',
        "Task Timed Out: 'Provided task does not exist anymore'",
      );
    }
    return record as PendingToken;
  }

  private settle(token: string, outcome: Error | { output: unknown }, fromApi = false): void {
    let record: PendingToken;
    if (fromApi) {
      record = this.pending(token);
    } else {
      const found = this.records.get(token);
      if (found?.state !== 'pending') return;
      record = found;
    }
    this.close(token, record);
    if (outcome instanceof Error) record.reject(outcome);
    else record.resolve(outcome.output);
  }

  private close(token: string, record: PendingToken): void {
    clearTimeout(record.heartbeatTimer);
    clearTimeout(record.timeoutTimer);
    this.records.set(token, { state: 'closed' });
    this.byExecution.get(record.executionArn)?.delete(token);
  }

  private armHeartbeat(token: string, record: PendingToken): void {
    if (record.heartbeatSeconds === undefined) return;
    clearTimeout(record.heartbeatTimer);
    record.heartbeatTimer = setTimeout(
      () => this.settle(token, new TaskFailedError('States.HeartbeatTimeout', 'Task heartbeat timed out')),
      record.heartbeatSeconds * 1000,
    );
  }
}
