import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { RunOptions } from 'aws-local-stepfunctions';
import type { CompiledStateMachine, DynamodbAction, TaskSpec } from './definition.js';
import { StatesRuntimeError, TaskClosedError, TaskFailedError } from './errors.js';
import type { TaskTokens } from './task-tokens.js';

type Overrides = NonNullable<RunOptions['overrides']>;
export type LocalHandlers = NonNullable<Overrides['taskResourceLocalHandlers']>;
type LocalHandler = LocalHandlers[string];
type JsonValue = Parameters<LocalHandler>[0];

export interface TaskDeps {
  invokeLambda(functionNameOrArn: string, payload: unknown): Promise<unknown>;
  dynamodb(): DynamoDBClient;
  tokens: TaskTokens;
  /** Stands for `$$.Task.Token` in the context object; each token task swaps in a fresh token. */
  tokenPlaceholder: string;
  waitTimeScale: number;
  log(line: string): void;
}

/** Where a durable execution records what it waits for, before it waits (see engine.ts). */
export interface WaitCheckpoints {
  /** Before the token is handed to the Lambda: resolved once stored. */
  token(stateName: string, wait: TokenWait): Promise<void>;
  /** Before a Wait state sleeps: until when (epoch ms, real time), resolved once stored. */
  wait(stateName: string, until: number): Promise<void>;
}

export interface TokenWait {
  token: string;
  /** Epoch ms at which the task's TimeoutSeconds ends. */
  timeoutAt: number;
}

/** What a resumed execution's first state was waiting for when the cloud stopped. */
export interface ResumedWait {
  stateName: string;
  token?: TokenWait & { outcome?: TokenOutcome };
  waitUntil?: number;
}

/** A callback that was acknowledged (and stored) but had not reached the task before the stop. */
export type TokenOutcome = { output: string } | { error?: string; cause?: string };

export interface TaskExecution {
  executionArn: string;
  /** Aborted when the execution leaves RUNNING. */
  signal: AbortSignal;
  /** Durable executions only. */
  checkpoints?: WaitCheckpoints;
  /** Taken by the first run of its state's handler: it waits on instead of starting over. */
  resume?: ResumedWait;
  /** Records a token task's TaskScheduled history event (its parameters carry the token, as on AWS). */
  scheduled?(stateName: string, spec: Extract<TaskSpec, { kind: 'lambdaInvoke' }>, parameters: Json): void;
}

type Json = Record<string, unknown>;

/**
 * One local handler per Task state of the machine, bound to one execution. The library looks handlers up by
 * state name and passes only the effective input (after InputPath and Parameters), so each handler knows its
 * resource from the compiled spec.
 */
export function buildTaskHandlers(
  machine: CompiledStateMachine,
  execution: TaskExecution,
  deps: TaskDeps,
): LocalHandlers {
  const handlers: LocalHandlers = {};
  for (const [stateName, spec] of machine.tasks) {
    handlers[stateName] = (input) => {
      if (execution.signal.aborted) throw new TaskClosedError();
      const resume = execution.resume?.stateName === stateName ? execution.resume : undefined;
      if (resume !== undefined) {
        execution.resume = undefined;
        if (resume.token !== undefined && spec.kind === 'lambdaInvoke' && spec.waitForTaskToken)
          return resumeToken(spec, resume.token, execution, deps);
        if (resume.waitUntil !== undefined && spec.kind === 'wait')
          return localWait(input, execution.signal, deps.waitTimeScale, resume.waitUntil);
      }
      return runTask(spec, stateName, input, execution, deps);
    };
  }
  return handlers;
}

async function runTask(
  spec: TaskSpec,
  stateName: string,
  input: JsonValue,
  execution: TaskExecution,
  deps: TaskDeps,
): Promise<JsonValue> {
  switch (spec.kind) {
    case 'lambdaFunction':
      return callLambda(deps, spec.resource, input);
    case 'lambdaInvoke':
      return spec.waitForTaskToken
        ? invokeWithToken(spec, stateName, input, execution, deps)
        : invokeLambda(input, deps);
    case 'dynamodb':
      return callDynamodb(deps.dynamodb(), spec.action, input);
    case 'wait':
      return localWait(input, execution.signal, deps.waitTimeScale, undefined, (until) =>
        execution.checkpoints?.wait(stateName, until),
      );
  }
}

/**
 * A token task of an execution resumed after a restart: its Lambda already has the token, so it is not
 * invoked again; the token is pending again with what is left of its timeout, and a callback that was
 * acknowledged before the stop settles it at once.
 */
async function resumeToken(
  spec: Extract<TaskSpec, { kind: 'lambdaInvoke' }>,
  wait: NonNullable<ResumedWait['token']>,
  execution: TaskExecution,
  deps: TaskDeps,
): Promise<JsonValue> {
  const { outcome } = wait;
  const { result } = deps.tokens.adopt(wait.token, {
    executionArn: execution.executionArn,
    // An acknowledged callback counts even if the timeout ran out while the cloud was stopped.
    timeoutSeconds: outcome !== undefined ? 60 : Math.max(0, (wait.timeoutAt - Date.now()) / 1000),
    ...(spec.heartbeatSeconds !== undefined ? { heartbeatSeconds: spec.heartbeatSeconds } : {}),
  });
  if (outcome !== undefined) {
    if ('output' in outcome) deps.tokens.succeed(wait.token, JSON.parse(outcome.output));
    else deps.tokens.fail(wait.token, outcome.error, outcome.cause);
  }
  return (await result) as JsonValue;
}

function asParameters(input: JsonValue, what: string): Json {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new StatesRuntimeError(`${what}: Parameters must evaluate to a JSON object`);
  }
  return input as Json;
}

function functionNameOf(parameters: Json): string {
  if (typeof parameters.FunctionName !== 'string' || parameters.FunctionName === '') {
    throw new StatesRuntimeError('lambda:invoke: Parameters.FunctionName must be a non-empty string');
  }
  return parameters.FunctionName;
}

/** `arn:aws:states:::lambda:invoke` answers with the Invoke response, Payload parsed, as on AWS. */
async function invokeLambda(input: JsonValue, deps: TaskDeps): Promise<JsonValue> {
  const parameters = asParameters(input, 'lambda:invoke');
  const functionName = functionNameOf(parameters);
  const payload = parameters.Payload ?? {};
  if (parameters.InvocationType === 'Event') {
    callLambda(deps, functionName, payload).catch((error: unknown) => {
      deps.log(`stepfunctions: async invoke of ${functionName} failed: ${String(error)}`);
    });
    return { Payload: '', StatusCode: 202 };
  }
  const result = await callLambda(deps, functionName, payload);
  return { ExecutedVersion: '$LATEST', Payload: result, StatusCode: 200 };
}

/**
 * `.waitForTaskToken`: the token exists before the Lambda runs (it may call back at once); the Lambda's own
 * result is ignored and the task ends when SendTaskSuccess/Failure, the heartbeat or the timeout settles it.
 */
async function invokeWithToken(
  spec: Extract<TaskSpec, { kind: 'lambdaInvoke' }>,
  stateName: string,
  input: JsonValue,
  execution: TaskExecution,
  deps: TaskDeps,
): Promise<JsonValue> {
  const { token, result } = deps.tokens.issue({
    executionArn: execution.executionArn,
    timeoutSeconds: spec.timeoutSeconds,
    ...(spec.heartbeatSeconds !== undefined ? { heartbeatSeconds: spec.heartbeatSeconds } : {}),
  });
  const parameters = asParameters(replaceString(input, deps.tokenPlaceholder, token), 'lambda:invoke');
  // A durable execution stores the token before anyone can hold it: a callback after a restart finds it.
  if (execution.scheduled !== undefined) {
    // One turn, so the history has this state's entry before its TaskScheduled.
    await new Promise((resolve) => setImmediate(resolve));
    execution.scheduled(stateName, spec, parameters);
  }
  await execution.checkpoints?.token(stateName, {
    token,
    timeoutAt: Date.now() + spec.timeoutSeconds * 1000,
  });
  try {
    await callLambda(deps, functionNameOf(parameters), parameters.Payload ?? {});
  } catch (error) {
    deps.tokens.withdraw(token);
    throw error;
  }
  deps.log(`stepfunctions: ${stateName} waits for its task token`);
  return (await result) as JsonValue;
}

async function callLambda(deps: TaskDeps, functionName: string, payload: unknown): Promise<JsonValue> {
  let result: unknown;
  try {
    result = await deps.invokeLambda(functionName, payload);
  } catch (error) {
    throw lambdaFailure(error);
  }
  return toJson(result);
}

/**
 * A function error as Step Functions reports it: Error is the Lambda errorType, Cause the JSON error document.
 */
function lambdaFailure(error: unknown): TaskFailedError {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as {
    errorType?: unknown;
    errorMessage?: unknown;
    name?: unknown;
    message?: unknown;
    stack?: unknown;
    trace?: unknown;
  };
  const errorType =
    typeof shape.errorType === 'string'
      ? shape.errorType
      : error instanceof Error
        ? error.name
        : 'Lambda.Unknown';
  const errorMessage =
    typeof shape.errorMessage === 'string'
      ? shape.errorMessage
      : typeof shape.message === 'string'
        ? shape.message
        : String(error);
  const trace = Array.isArray(shape.trace)
    ? shape.trace
    : typeof shape.stack === 'string'
      ? shape.stack.split('\n')
      : [];
  return new TaskFailedError(errorType, JSON.stringify({ errorType, errorMessage, trace }));
}

async function callDynamodb(
  client: DynamoDBClient,
  action: DynamodbAction,
  input: JsonValue,
): Promise<JsonValue> {
  const parameters = asParameters(input, `dynamodb:${action}`) as never;
  try {
    const { $metadata: _metadata, ...output } = await sendDynamodb(client, action, parameters);
    return toJson(output);
  } catch (error) {
    if (error instanceof Error) throw new TaskFailedError(`DynamoDB.${error.name}`, error.message);
    throw error;
  }
}

function sendDynamodb(client: DynamoDBClient, action: DynamodbAction, parameters: never) {
  switch (action) {
    case 'putItem':
      return client.send(new PutItemCommand(parameters));
    case 'getItem':
      return client.send(new GetItemCommand(parameters));
    case 'updateItem':
      return client.send(new UpdateItemCommand(parameters));
    case 'deleteItem':
      return client.send(new DeleteItemCommand(parameters));
  }
}

/** A Wait rewritten as a Task (see definition.ts): Parameters carry `Input` and `Seconds` or `Timestamp`. */
async function localWait(
  input: JsonValue,
  signal: AbortSignal,
  scale: number,
  resumedUntil?: number,
  record?: (until: number) => Promise<void> | undefined,
): Promise<JsonValue> {
  const parameters = asParameters(input, 'Wait');
  if (resumedUntil !== undefined) {
    await sleep(resumedUntil - Date.now(), signal);
    if (signal.aborted) throw new TaskClosedError();
    return (parameters.Input ?? null) as JsonValue;
  }
  let ms = 0;
  if (parameters.Seconds !== undefined) {
    const seconds = parameters.Seconds;
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
      throw new StatesRuntimeError('Wait: SecondsPath must point to a non-negative integer');
    }
    ms = seconds * 1000;
  } else if (parameters.Timestamp !== undefined) {
    const at = typeof parameters.Timestamp === 'string' ? Date.parse(parameters.Timestamp) : Number.NaN;
    if (Number.isNaN(at)) throw new StatesRuntimeError('Wait: Timestamp must be an ISO-8601 timestamp');
    ms = Math.max(0, at - Date.now());
  }
  await record?.(Date.now() + ms * scale);
  await sleep(ms * scale, signal);
  if (signal.aborted) throw new TaskClosedError();
  return (parameters.Input ?? null) as JsonValue;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        sleep(ms - MAX_TIMER_MS, signal).then(resolve);
      },
      Math.min(ms, MAX_TIMER_MS),
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Replaces a placeholder inside every string of a JSON value (tokens may be embedded via States.Format). */
function replaceString(value: JsonValue, placeholder: string, replacement: string): JsonValue {
  if (typeof value === 'string') return value.split(placeholder).join(replacement);
  if (Array.isArray(value)) return value.map((item) => replaceString(item, placeholder, replacement));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, replaceString(item, placeholder, replacement)]),
    );
  }
  return value;
}

/** JSON as the state machine would see it after a network hop: undefined → null, bytes → base64. */
export function toJson(value: unknown): JsonValue {
  if (value === undefined) return null;
  const text = JSON.stringify(value, (_key, item: unknown) =>
    item instanceof Uint8Array ? Buffer.from(item).toString('base64') : item,
  );
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}
