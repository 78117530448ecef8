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
import type { Checkpoint, ExecutionStore, StoredExecution } from './persistence.js';
import { TaskTokens } from './task-tokens.js';
import { buildTaskHandlers, type ResumedWait, type TaskDeps, type WaitCheckpoints } from './tasks.js';

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

export type EngineDeps = Omit<TaskDeps, 'tokens' | 'tokenPlaceholder'> & {
  /**
   * Keeps executions across restarts (absent: in memory only). The machines must then be compiled with
   * `localWaits`, so that every Wait's deadline is known.
   */
  store?: ExecutionStore;
};

/** What a durable execution keeps besides its record: where it stands, and what is stored already. */
interface Durability {
  checkpoint?: Checkpoint;
  /** History events stored so far. */
  storedEvents: number;
  /** Saves, one after the other. */
  writes: Promise<void>;
}

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
  private readonly durability = new Map<string, Durability>();
  private readonly tokenPlaceholder = `local-stepfunctions-task-token-${randomUUID()}`;
  private closed = false;

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
    if (this.deps.store !== undefined) {
      this.durability.set(executionArn, { storedEvents: 0, writes: Promise.resolve() });
      this.checkpoint(record, {
        stateName: String(machine.compiled.runnable.StartAt),
        input: inputText,
        enteredAt: Date.now(),
      });
    }
    this.run(machine, record, parsedInput);
    return record;
  }

  /**
   * Resolves once what the execution did so far is stored (at once when executions are in memory):
   * StartExecution, StopExecution and the task callbacks answer after it.
   */
  flushed(executionArn: string): Promise<void> {
    return this.durability.get(executionArn)?.writes ?? Promise.resolve();
  }

  /** SendTaskSuccess: stored with the execution's checkpoint before the task is settled. */
  async succeed(token: string, output: unknown): Promise<void> {
    await this.storeOutcome(token, { output: JSON.stringify(output ?? null) });
    this.tokens.succeed(token, output);
  }

  /** SendTaskFailure: stored like SendTaskSuccess. */
  async fail(token: string, error: string | undefined, cause: string | undefined): Promise<void> {
    await this.storeOutcome(token, {
      ...(error !== undefined ? { error } : {}),
      ...(cause !== undefined ? { cause } : {}),
    });
    this.tokens.fail(token, error, cause);
  }

  private async storeOutcome(token: string, outcome: NonNullable<Checkpoint['token']>['outcome']) {
    const executionArn = this.tokens.ownerOf(token);
    const durable = this.durability.get(executionArn);
    const record = this.executions.get(executionArn);
    if (durable?.checkpoint?.token?.token !== token || record === undefined) return;
    durable.checkpoint.token.outcome = outcome;
    await this.save(record);
  }

  /**
   * Executions stored by an earlier run: finished ones answer DescribeExecution and GetExecutionHistory
   * as before; running ones resume from their checkpoint — the state they were in, entered again with
   * its input (a token task waits on with the same token, a Wait with the time it had left).
   */
  async restore(): Promise<void> {
    const store = this.deps.store;
    if (store === undefined) return;
    for (const { execution: stored, events } of await store.load()) {
      const record: ExecutionRecord = {
        executionArn: stored.executionArn,
        stateMachineArn: stored.stateMachineArn,
        name: stored.name,
        status: stored.status,
        input: stored.input,
        ...(stored.output !== undefined ? { output: stored.output } : {}),
        ...(stored.error !== undefined ? { error: stored.error } : {}),
        ...(stored.cause !== undefined ? { cause: stored.cause } : {}),
        startDate: new Date(stored.startDate),
        ...(stored.stopDate !== undefined ? { stopDate: new Date(stored.stopDate) } : {}),
        events,
      };
      this.executions.set(record.executionArn, record);
      if (record.status !== 'RUNNING') continue;
      const durable: Durability = {
        checkpoint: stored.checkpoint,
        storedEvents: events.length,
        writes: Promise.resolve(),
      };
      this.durability.set(record.executionArn, durable);
      const machine = this.machines.get(record.stateMachineArn);
      if (machine === undefined || stored.checkpoint === undefined) {
        record.status = 'FAILED';
        record.stopDate = new Date();
        record.error = 'States.Runtime';
        record.cause =
          machine === undefined
            ? 'The local cloud restarted without this state machine'
            : 'The local cloud restarted and found no checkpoint to resume from';
        this.deps.log(`stepfunctions: ${record.name} cannot resume: ${record.cause}`);
        await this.save(record);
        continue;
      }
      this.resume(machine, record, stored.checkpoint);
    }
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
    if (this.deps.store !== undefined) void this.save(record);
    return record;
  }

  /** Stops every running execution, so no timer or pending task outlives the server. */
  close(): void {
    for (const running of [...this.running.values()]) {
      // A durable execution is not stopped by a stop of the cloud: it stays RUNNING where it is stored.
      if (this.deps.store !== undefined) {
        running.controller.abort();
        running.abort();
        this.running.delete(running.record.executionArn);
        continue;
      }
      this.stop(running.record.executionArn, 'States.Aborted', 'local Step Functions closed');
    }
    this.closed = true;
    this.tokens.closeAll();
  }

  /** Resolves once every execution's saves so far are done. */
  async flushedAll(): Promise<void> {
    await Promise.all([...this.durability.values()].map((durable) => durable.writes));
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

  /**
   * Runs the machine again from the checkpoint's state: the same definition with StartAt moved there
   * (derived here from the template's, not a copy), the state's stored input, and what is left of the
   * token's and the execution's timeouts.
   */
  private resume(machine: LoadedMachine, record: ExecutionRecord, checkpoint: Checkpoint): void {
    const definition = structuredClone(machine.compiled.runnable) as unknown as {
      StartAt: string;
      TimeoutSeconds?: number;
      States: Record<string, Record<string, unknown>>;
    };
    definition.StartAt = checkpoint.stateName;
    const now = Date.now();
    if (typeof definition.TimeoutSeconds === 'number') {
      const ends = record.startDate.getTime() + definition.TimeoutSeconds * 1000;
      definition.TimeoutSeconds = Math.max(0.001, (ends - now) / 1000);
    }
    const state = definition.States[checkpoint.stateName];
    if (checkpoint.token !== undefined && state !== undefined && checkpoint.token.outcome === undefined) {
      state.TimeoutSeconds = Math.max(0.001, (checkpoint.token.timeoutAt - now) / 1000);
    }
    const library = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
    const resume: ResumedWait = {
      stateName: checkpoint.stateName,
      ...(checkpoint.token !== undefined ? { token: checkpoint.token } : {}),
      ...(checkpoint.waitUntil !== undefined ? { waitUntil: checkpoint.waitUntil } : {}),
    };
    this.deps.log(`stepfunctions: ${record.name} resumes in ${checkpoint.stateName}`);
    this.run({ compiled: machine.compiled, library }, record, JSON.parse(checkpoint.input), resume);
  }

  private run(machine: LoadedMachine, record: ExecutionRecord, input: unknown, resume?: ResumedWait): void {
    const { compiled, library } = machine;
    const controller = new AbortController();
    const handlers = buildTaskHandlers(
      compiled,
      {
        executionArn: record.executionArn,
        signal: controller.signal,
        ...(this.deps.store !== undefined ? { checkpoints: this.waitCheckpoints(record) } : {}),
        ...(resume !== undefined ? { resume } : {}),
        scheduled: (_stateName, spec, parameters) => {
          const [, resourceType = 'lambda', resource = spec.resource] =
            /^arn:[\w-]+:states:::([\w-]+):(.+)$/.exec(spec.resource) ?? [];
          const id = record.events.length + 1;
          record.events.push({
            timestamp: Date.now() / 1000,
            type: 'TaskScheduled',
            taskScheduledEventDetails: {
              resourceType,
              resource,
              region: record.stateMachineArn.split(':')[3] ?? 'us-east-1',
              parameters: JSON.stringify(parameters),
              timeoutInSeconds: spec.timeoutSeconds,
              ...(spec.heartbeatSeconds !== undefined ? { heartbeatInSeconds: spec.heartbeatSeconds } : {}),
            },
            id,
            previousEventId: id - 1,
          });
        },
      },
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

    const history = this.recordHistory(record, compiled, execution.eventLogs, resume !== undefined);
    execution.result
      .then(
        (output): Outcome => ({ ok: true, output }),
        (error: unknown): Outcome => ({ ok: false, error }),
      )
      .then(async (outcome) => {
        // The library closes its event log on every ending; waiting for it keeps the history complete
        // by the time DescribeExecution reports the final status.
        await history;
        // A durable execution cut off by a stop of the cloud stays as it is stored: RUNNING.
        if (this.closed && this.deps.store !== undefined) return;
        this.finish(running, outcome);
        if (this.deps.store !== undefined) await this.save(record);
      })
      .catch((error: unknown) => this.deps.log(`stepfunctions: ${record.name} bookkeeping failed: ${error}`));
  }

  private async recordHistory(
    record: ExecutionRecord,
    machine: CompiledStateMachine,
    events: AsyncGenerator<LibraryEvent>,
    resumed: boolean,
  ): Promise<void> {
    const topLevel = new Set(Object.keys(machine.runnable.States));
    const context = {
      machine,
      abortDetails: () => ({
        ...(record.error !== undefined ? { error: record.error } : {}),
        ...(record.cause !== undefined ? { cause: record.cause } : {}),
      }),
    };
    for await (const event of events) {
      // A resumed run starts the library again; the execution itself started once.
      if (resumed && event.type === 'ExecutionStarted') continue;
      for (const historyEvent of toHistoryEvents(event, context)) {
        const id = record.events.length + 1;
        record.events.push({ ...historyEvent, id, previousEventId: id - 1 });
      }
      // Synchronously with the event, so a task handler that yields once sees its own state's entry.
      if (
        this.deps.store !== undefined &&
        !this.closed &&
        event.type === 'StateEntered' &&
        !('index' in event && event.index !== undefined) &&
        topLevel.has(event.state.name)
      ) {
        this.checkpoint(record, {
          stateName: event.state.name,
          input: JSON.stringify(event.state.input ?? null),
          enteredAt: event.timestamp,
        });
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

  /** A new checkpoint (a top-level state entered), stored in turn. */
  private checkpoint(record: ExecutionRecord, checkpoint: Checkpoint): void {
    const durable = this.durability.get(record.executionArn);
    if (durable === undefined) return;
    durable.checkpoint = checkpoint;
    void this.save(record);
  }

  /**
   * What the task handlers of a durable execution record before they wait: the token (before the
   * Lambda gets it) or the Wait's end, added to the checkpoint of the state they run in. A state nested
   * in a Map or Parallel has no checkpoint of its own: its top-level state is run again on resume.
   */
  private waitCheckpoints(record: ExecutionRecord): WaitCheckpoints {
    const current = async (stateName: string) => {
      // One turn: the history reader has then seen the StateEntered the library queued before the call.
      await new Promise((resolve) => setImmediate(resolve));
      const durable = this.durability.get(record.executionArn);
      return durable?.checkpoint?.stateName === stateName ? durable.checkpoint : undefined;
    };
    return {
      token: async (stateName, wait) => {
        const checkpoint = await current(stateName);
        if (checkpoint === undefined) return;
        checkpoint.token = { ...wait };
        await this.save(record);
      },
      wait: async (stateName, until) => {
        const checkpoint = await current(stateName);
        if (checkpoint === undefined) return;
        checkpoint.waitUntil = until;
        await this.save(record);
      },
    };
  }

  /** Stores the record, its checkpoint and the history events not stored yet, after earlier saves. */
  private save(record: ExecutionRecord): Promise<void> {
    const store = this.deps.store;
    const durable = this.durability.get(record.executionArn);
    if (store === undefined || durable === undefined) return Promise.resolve();
    durable.writes = durable.writes.then(async () => {
      const events = record.events.slice(durable.storedEvents);
      const running = record.status === 'RUNNING';
      const stored: StoredExecution = {
        executionArn: record.executionArn,
        stateMachineArn: record.stateMachineArn,
        name: record.name,
        status: record.status,
        input: record.input,
        output: record.output,
        error: record.error,
        cause: record.cause,
        startDate: record.startDate.getTime(),
        stopDate: record.stopDate?.getTime(),
        ...(running && durable.checkpoint !== undefined
          ? { checkpoint: structuredClone(durable.checkpoint) }
          : {}),
      };
      try {
        await store.save(stored, events);
        durable.storedEvents += events.length;
      } catch (error) {
        this.deps.log(`stepfunctions: storing ${record.name} failed: ${(error as Error).message}`);
      }
    });
    return durable.writes;
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
