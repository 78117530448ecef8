import type { StateMachine } from 'aws-local-stepfunctions';
import type { CompiledStateMachine } from './definition.js';

/** The library's event type is not exported; take it from `run()`'s signature. */
export type LibraryEvent =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** A HistoryEvent before it is numbered; timestamps in epoch seconds, as on the wire. */
export interface PendingHistoryEvent {
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

export type WireHistoryEvent = PendingHistoryEvent & { id: number; previousEventId: number };

export interface HistoryContext {
  machine: CompiledStateMachine;
  /** StopExecution's error and cause, for the ExecutionAborted event. */
  abortDetails(): { error?: string; cause?: string };
}

const json = (value: unknown): string => JSON.stringify(value ?? null);
const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value ?? null));

/**
 * Translates one aws-local-stepfunctions event into the AWS history events it stands for. The library reports
 * state-level facts only, so this is a subset: execution events, `<Type>StateEntered/Exited`, TaskFailed and
 * TaskTimedOut, Map/Parallel failures and Map iterations. Retries and catches have no AWS event of their own.
 */
export function toHistoryEvents(event: LibraryEvent, context: HistoryContext): PendingHistoryEvent[] {
  const timestamp = event.timestamp / 1000;
  switch (event.type) {
    case 'ExecutionStarted':
      return [
        {
          timestamp,
          type: 'ExecutionStarted',
          executionStartedEventDetails: {
            input: json(event.input),
            inputDetails: { truncated: false },
            roleArn: context.machine.roleArn,
          },
        },
      ];
    case 'ExecutionSucceeded':
      return [
        {
          timestamp,
          type: 'ExecutionSucceeded',
          executionSucceededEventDetails: { output: json(event.output), outputDetails: { truncated: false } },
        },
      ];
    case 'ExecutionFailed':
      return [
        {
          timestamp,
          type: 'ExecutionFailed',
          executionFailedEventDetails: { error: event.Error, cause: text(event.Cause) },
        },
      ];
    case 'ExecutionAborted':
      return [{ timestamp, type: 'ExecutionAborted', executionAbortedEventDetails: context.abortDetails() }];
    case 'ExecutionTimeout':
      return [
        {
          timestamp,
          type: 'ExecutionTimedOut',
          executionTimedOutEventDetails: { error: 'States.Timeout', cause: 'The execution timed out' },
        },
      ];
    case 'StateEntered':
      return [
        {
          timestamp,
          type: `${stateType(event.state, context)}StateEntered`,
          stateEnteredEventDetails: { name: event.state.name, input: json(event.state.input) },
        },
      ];
    case 'StateExited':
      return [
        {
          timestamp,
          type: `${stateType(event.state, context)}StateExited`,
          stateExitedEventDetails: { name: event.state.name, output: json(event.state.output) },
        },
      ];
    case 'StateFailed':
      return stateFailed(event, timestamp, context);
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed': {
      const key = `${event.type[0]?.toLowerCase()}${event.type.slice(1)}EventDetails`;
      return [{ timestamp, type: event.type, [key]: { name: event.parentState.name, index: event.index } }];
    }
    default:
      return [];
  }
}

function stateType(state: { name: string; type: string }, context: HistoryContext): string {
  return context.machine.stateTypes.get(state.name) ?? state.type;
}

function stateFailed(
  event: Extract<LibraryEvent, { type: 'StateFailed' }>,
  timestamp: number,
  context: HistoryContext,
): PendingHistoryEvent[] {
  const type = stateType(event.state, context);
  const task = context.machine.tasks.get(event.state.name);
  if (type === 'Task' && task) {
    const [resourceType, resource] = resourceParts(task.resource);
    const timedOut = event.Error === 'States.Timeout' || event.Error === 'States.HeartbeatTimeout';
    const details = { resourceType, resource, error: event.Error, cause: text(event.Cause) };
    return timedOut
      ? [{ timestamp, type: 'TaskTimedOut', taskTimedOutEventDetails: details }]
      : [{ timestamp, type: 'TaskFailed', taskFailedEventDetails: details }];
  }
  if (type === 'Map' || type === 'Parallel') return [{ timestamp, type: `${type}StateFailed` }];
  return [];
}

/** `arn:aws:states:::lambda:invoke.waitForTaskToken` → `lambda`, `invoke.waitForTaskToken`, as AWS reports. */
function resourceParts(resource: string): [string, string] {
  const service = /^arn:[\w-]+:states:::([\w-]+):(.+)$/.exec(resource);
  if (service?.[1] && service[2]) return [service[1], service[2]];
  return ['lambda', resource];
}
