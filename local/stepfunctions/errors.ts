/**
 * An error answered to the SDK in AWS's JSON 1.0 shape. `type` becomes `__type`, which the SDK turns into
 * its named exception class (`ExecutionDoesNotExist`, `InvalidToken` …), so callers can test for it as on AWS.
 */
export class StepFunctionsApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = 'StepFunctionsApiError';
  }
}

/** Thrown by `startStepFunctions` when a state machine cannot run locally: fail at start, not mid-execution. */
export class StateMachineDefinitionError extends Error {
  constructor(
    readonly stateMachineName: string,
    message: string,
  ) {
    super(`state machine '${stateMachineName}': ${message}`);
    this.name = 'StateMachineDefinitionError';
  }
}

/**
 * A task's failure as Step Functions sees it: `name` is the ASL error matched by Retry/Catch, `message` the
 * cause string (the library builds the Catch output as `{ Error: name, Cause: message }`).
 */
export class TaskFailedError extends Error {
  constructor(errorName: string, cause: string) {
    super(cause);
    this.name = errorName;
  }
}

/**
 * Ends a task whose execution was stopped or closed. The library reads `isRetryable`/`isCatchable`, so a
 * stopped execution neither retries its Lambda nor wanders into a Catch branch after StopExecution.
 */
export class TaskClosedError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(message = 'execution is no longer running') {
    super(message);
    this.name = 'States.Runtime';
  }
}

/** A runtime error AWS reports as `States.Runtime`: neither retried nor caught, like the library's own. */
export class StatesRuntimeError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(message: string) {
    super(message);
    this.name = 'States.Runtime';
  }
}
