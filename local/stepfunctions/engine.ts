import './polyfill.js';
import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
} from 'aws-local-stepfunctions';
import type { CompiledStateMachine } from './definition.js';
import { StepFunctionsApiError } from './errors.js';
import { type LibraryEvent, toHistoryEvents, type WireHistoryEvent } from './history.js';
import { TaskTokens } from './task-tokens.js';
import { buildTaskHandlers, type TaskDeps } from './tasks.js';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  events: WireHistoryEvent[];
}

interface RunningExecution {
  record: ExecutionRecord;
  /** Our own signal for local waits and token tasks; the library's abort does not reach task handlers. */
  controller: AbortController;
  abort(): void;
}

type Outcome = { ok: true; output: unknown } | { ok: false; error: unknown };

interface LoadedMachine {
  compiled: CompiledStateMachine;
  library: StateMachine;
}

/** AWS: no whitespace, brackets, wildcards, `"#%\^|~`$&,;:/` or control characters; 1 to 80 characters. */
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]{1,80}$/u;
const MAX_INPUT_BYTES = 256 * 1024;

export type EngineDeps = Omit<TaskDeps, 'tokens' | 'tokenPlaceholder'>;

/**
 * Executions of the configured state machines, in memory. Each runs in aws-local-stepfunctions with local
 * handlers for its Task states; this class keeps the AWS-visible record (status, output, history) and the
 * transitions the library does not model (StopExecution, task tokens, idempotent StartExecution).
 */
export class ExecutionEngine {
  readonly tokens = new TaskTokens();
  private readonly machines = new Map<string, LoadedMachine>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, RunningExecution>();
  private readonly tokenPlaceholder = `local-stepfunctions-task-token-${randomUUID()}`;

  constructor(
    machines: CompiledStateMachine[],
    private readonly deps: EngineDeps,
  ) {
    for (const compiled of machines) {
      if (this.machines.has(compiled.arn)) {
        throw new Error(`two state machines share the ARN ${compiled.arn}`);
      }
      // Validated by compileStateMachine (asl-validator 4); the library would re-run its older bundled one.
      const library = new StateMachine(compiled.runnable, { validationOptions: { noValidate: true } });
      this.machines.set(compiled.arn, { compiled, library });
    }
  }

  stateMachines(): CompiledStateMachine[] {
    return [...this.machines.values()].map((machine) => machine.compiled);
  }

  stateMachine(arn: string): CompiledStateMachine {
    return this.loaded(arn).compiled;
  }

  start(stateMachineArn: string, name: string | undefined, input: string | undefined): ExecutionRecord {
    const machine = this.loaded(stateMachineArn);
    const executionName = name ?? randomUUID();
    if (!EXECUTION_NAME.test(executionName)) {
      throw new StepFunctionsApiError('InvalidName', `Invalid Name: '${executionName}'`);
    }
    const inputText = input ?? '{}';
    if (Buffer.byteLength(inputText) > MAX_INPUT_BYTES) {
      throw new StepFunctionsApiError('InvalidExecutionInput', 'Input exceeds the 256 KiB limit');
    }
    let parsedInput: unknown;
    try {
      parsedInput = JSON.parse(inputText);
    } catch (error) {
      throw new StepFunctionsApiError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: ${error}`,
      );
    }
    const executionArn = executionArnFor(stateMachineArn, executionName);
    const existing = this.executions.get(executionArn);
    if (existing) {
      // AWS: the same name and input while the first run is open is the same call; anything else is a clash.
      if (existing.status === 'RUNNING' && existing.input === inputText) return existing;
      throw new StepFunctionsApiError(
        'ExecutionAlreadyExists',
        `Execution Already Exists: '${executionArn}'`,
      );
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn,
      name: executionName,
      status: 'RUNNING',
      input: inputText,
      startDate: new Date(),
      events: [],
    };
    this.executions.set(executionArn, record);
    this.run(machine, record, parsedInput);
    return record;
  }

  execution(executionArn: string): ExecutionRecord {
    const record = this.executions.get(executionArn);
    if (!record) {
      throw new StepFunctionsApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    }
    return record;
  }

  /** Newest first, as AWS lists them. */
  list(stateMachineArn: string, statusFilter?: ExecutionStatus): ExecutionRecord[] {
    this.loaded(stateMachineArn);
    return [...this.executions.values()]
      .filter((record) => record.stateMachineArn === stateMachineArn)
      .filter((record) => statusFilter === undefined || record.status === statusFilter)
      .reverse();
  }

  /** Stopping a closed execution changes nothing and answers its stop date. */
  stop(executionArn: string, error?: string, cause?: string): ExecutionRecord {
    const record = this.execution(executionArn);
    const running = this.running.get(executionArn);
    if (record.status !== 'RUNNING' || !running) return record;
    record.status = 'ABORTED';
    record.stopDate = new Date();
    if (error !== undefined) record.error = error;
    if (cause !== undefined) record.cause = cause;
    running.abort();
    this.release(running);
    this.deps.log(`stepfunctions: ${record.name} ABORTED`);
    return record;
  }

  /** Stops every running execution, so no timer or pending task outlives the server. */
  close(): void {
    for (const running of [...this.running.values()]) {
      this.stop(running.record.executionArn, 'States.Aborted', 'local Step Functions closed');
    }
    this.tokens.closeAll();
  }

  private loaded(stateMachineArn: string): LoadedMachine {
    const machine = this.machines.get(stateMachineArn);
    if (!machine) {
      throw new StepFunctionsApiError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${stateMachineArn}'`,
      );
    }
    return machine;
  }

  private run(machine: LoadedMachine, record: ExecutionRecord, input: unknown): void {
    const { compiled, library } = machine;
    const controller = new AbortController();
    const handlers = buildTaskHandlers(
      compiled,
      { executionArn: record.executionArn, signal: controller.signal },
      { ...this.deps, tokens: this.tokens, tokenPlaceholder: this.tokenPlaceholder },
    );
    const execution = library.run(input as Parameters<StateMachine['run']>[0], {
      overrides: { taskResourceLocalHandlers: handlers },
      context: {
        Execution: {
          Id: record.executionArn,
          Name: record.name,
          RoleArn: compiled.roleArn,
          StartTime: record.startDate.toISOString(),
        },
        StateMachine: { Id: compiled.arn, Name: compiled.name },
        Task: { Token: this.tokenPlaceholder },
      },
    });
    const running: RunningExecution = { record, controller, abort: execution.abort };
    this.running.set(record.executionArn, running);
    this.deps.log(`stepfunctions: ${compiled.name} started ${record.name}`);

    const history = this.recordHistory(record, compiled, execution.eventLogs);
    execution.result
      .then(
        (output): Outcome => ({ ok: true, output }),
        (error: unknown): Outcome => ({ ok: false, error }),
      )
      .then(async (outcome) => {
        // The library closes its event log on every ending; waiting for it keeps the history complete
        // by the time DescribeExecution reports the final status.
        await history;
        this.finish(running, outcome);
      })
      .catch((error: unknown) => this.deps.log(`stepfunctions: ${record.name} bookkeeping failed: ${error}`));
  }

  private async recordHistory(
    record: ExecutionRecord,
    machine: CompiledStateMachine,
    events: AsyncGenerator<LibraryEvent>,
  ): Promise<void> {
    const context = {
      machine,
      abortDetails: () => ({
        ...(record.error !== undefined ? { error: record.error } : {}),
        ...(record.cause !== undefined ? { cause: record.cause } : {}),
      }),
    };
    for await (const event of events) {
      for (const historyEvent of toHistoryEvents(event, context)) {
        const id = record.events.length + 1;
        record.events.push({ ...historyEvent, id, previousEventId: id - 1 });
      }
    }
  }

  private finish(running: RunningExecution, outcome: Outcome): void {
    const { record } = running;
    this.release(running);
    if (record.status !== 'RUNNING') return;
    record.stopDate = new Date();
    if (outcome.ok) {
      record.status = 'SUCCEEDED';
      record.output = JSON.stringify(outcome.output ?? null);
    } else if (outcome.error instanceof ExecutionTimeoutError) {
      record.status = 'TIMED_OUT';
      record.error = 'States.Timeout';
      record.cause = 'The execution timed out';
    } else if (outcome.error instanceof ExecutionAbortedError) {
      record.status = 'ABORTED';
    } else {
      record.status = 'FAILED';
      const failure = outcome.error instanceof ExecutionError ? outcome.error.cause : outcome.error;
      if (failure instanceof Error) {
        if (failure.name !== '') record.error = failure.name;
        record.cause = failure.message;
      } else {
        record.error = 'States.Runtime';
        record.cause = String(failure);
      }
    }
    const detail = record.error ? ` ${record.error}` : '';
    this.deps.log(`stepfunctions: ${record.name} ${record.status}${detail}`);
  }

  /** Ends everything the execution still holds: local waits, pending task tokens, the running entry. */
  private release(running: RunningExecution): void {
    this.running.delete(running.record.executionArn);
    running.controller.abort();
    this.tokens.closeExecution(running.record.executionArn);
  }
}

/** `arn:…:stateMachine:Name` → `arn:…:execution:Name:executionName`, the ARN AWS gives standard executions. */
export function executionArnFor(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}
