import { createRequire } from 'node:module';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { StateMachineDefinitionError } from './errors.js';

/** asl-validator 4 is CommonJS without type declarations. */
type AslValidator = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

/**
 * Longest timer Node can arm (2^31-1 ms). AWS has no default task timeout, but aws-local-stepfunctions uses
 * 60 s, which would kill token tasks that wait for people; tasks without one get this instead.
 */
export const MAX_TIMEOUT_SECONDS = 2_147_483;

/** Resource of the Task states that stand in for rewritten Wait states (see `compileStateMachine`). */
export const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::local:wait';

export const DYNAMODB_ACTIONS = ['putItem', 'getItem', 'updateItem', 'deleteItem'] as const;
export type DynamodbAction = (typeof DYNAMODB_ACTIONS)[number];

const LAMBDA_INVOKE = /^arn:aws[\w-]*:states:::lambda:invoke(\.waitForTaskToken)?$/;
const LAMBDA_FUNCTION = /^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$/;
const DYNAMODB = /^arn:aws[\w-]*:states:::dynamodb:(putItem|getItem|updateItem|deleteItem)$/;

export type TaskSpec =
  | {
      kind: 'lambdaInvoke';
      resource: string;
      waitForTaskToken: boolean;
      timeoutSeconds: number;
      heartbeatSeconds?: number;
    }
  | { kind: 'lambdaFunction'; resource: string }
  | { kind: 'dynamodb'; resource: string; action: DynamodbAction }
  | { kind: 'wait'; resource: string };

export interface CompiledStateMachine {
  arn: string;
  name: string;
  roleArn: string;
  /** The definition as given, for DescribeStateMachine. */
  definitionJson: string;
  /** The definition the library runs: defaults filled in, waits scaled, some Wait states rewritten. */
  runnable: StateMachineDefinition;
  /** Task specs by state name (ASL requires state names unique across the whole machine). */
  tasks: Map<string, TaskSpec>;
  /** The original type of every state by name, for history events of rewritten states. */
  stateTypes: Map<string, string>;
  creationDate: Date;
}

export interface CompileOptions {
  waitTimeScale?: number;
  hasDynamodbEndpoint: boolean;
  /**
   * Every Wait state becomes a local wait task, also one with a fixed Seconds, so that its deadline is
   * known and kept: a durable execution resumes a Wait with the time it had left.
   */
  localWaits?: boolean;
}

type Json = Record<string, unknown>;

const UNSUPPORTED_STATE_FIELDS = ['Assign', 'Arguments', 'Output', 'Items'];
const UNSUPPORTED_MAP_FIELDS = [
  'ItemReader',
  'ItemBatcher',
  'ResultWriter',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
  'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath',
];

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a definition (asl-validator 4 plus what the local engine cannot do) and prepares the copy the
 * library runs. Everything that would only fail mid-execution is rejected here, naming the machine and state.
 */
export function compileStateMachine(
  machine: { arn: string; name: string; definition: object; roleArn?: string },
  options: CompileOptions,
): CompiledStateMachine {
  const fail = (message: string): never => {
    throw new StateMachineDefinitionError(machine.name, message);
  };
  if (!isObject(machine.definition)) fail('definition must be a JSON object');
  const original = machine.definition as Json;

  if (original.QueryLanguage === 'JSONata') fail('JSONata is not evaluated locally: use JSONPath');
  // asl-validator writes a QueryLanguage into every state it visits, so it gets its own copy.
  const result = aslValidator(structuredClone(original), { checkArn: true, checkPaths: true });
  if (!result.isValid) fail(`invalid definition: ${result.errorsText('; ')}`);

  const runnable = structuredClone(original);
  const tasks = new Map<string, TaskSpec>();
  const stateTypes = new Map<string, string>();
  const scale = options.waitTimeScale;

  const visit = (states: unknown): void => {
    if (!isObject(states)) return;
    for (const [stateName, state] of Object.entries(states)) {
      if (!isObject(state)) continue;
      const where = `state '${stateName}'`;
      stateTypes.set(stateName, String(state.Type));
      if (state.QueryLanguage === 'JSONata') fail(`${where}: JSONata is not evaluated locally: use JSONPath`);
      for (const field of UNSUPPORTED_STATE_FIELDS) {
        if (field in state) fail(`${where}: '${field}' is not supported locally`);
      }
      if (scale !== undefined && Array.isArray(state.Retry)) {
        for (const retrier of state.Retry as Json[]) {
          retrier.IntervalSeconds = ((retrier.IntervalSeconds as number | undefined) ?? 1) * scale;
          if (typeof retrier.MaxDelaySeconds === 'number') retrier.MaxDelaySeconds *= scale;
        }
      }
      switch (state.Type) {
        case 'Task':
          tasks.set(stateName, compileTask(state, where, options, fail));
          break;
        case 'Wait':
          if (options.localWaits) rewriteWait(state, undefined, stateName, tasks);
          else if (scale !== undefined) rewriteWait(state, scale, stateName, tasks);
          break;
        case 'Map': {
          for (const field of UNSUPPORTED_MAP_FIELDS) {
            if (field in state) fail(`${where}: Map '${field}' is not supported locally`);
          }
          const processor = (state.ItemProcessor ?? state.Iterator) as Json | undefined;
          visit(processor?.States);
          break;
        }
        case 'Parallel':
          for (const branch of (state.Branches as Json[] | undefined) ?? []) visit(branch.States);
          break;
      }
    }
  };
  visit(runnable.States);

  return {
    arn: machine.arn,
    name: machine.name,
    roleArn: machine.roleArn ?? defaultRoleArn(machine.arn),
    definitionJson: JSON.stringify(original),
    runnable: runnable as unknown as StateMachineDefinition,
    tasks,
    stateTypes,
    creationDate: new Date(),
  };
}

function compileTask(
  state: Json,
  where: string,
  options: CompileOptions,
  fail: (message: string) => never,
): TaskSpec {
  const resource = String(state.Resource);
  if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
    state.TimeoutSeconds = MAX_TIMEOUT_SECONDS;
  }
  const invoke = LAMBDA_INVOKE.exec(resource);
  if (invoke) {
    const parameters = isObject(state.Parameters) ? state.Parameters : {};
    if (!('FunctionName' in parameters) && !('FunctionName.$' in parameters)) {
      fail(`${where}: lambda:invoke needs Parameters.FunctionName`);
    }
    const waitForTaskToken = invoke[1] !== undefined;
    if (waitForTaskToken) {
      if (!JSON.stringify(parameters).includes('$$.Task.Token')) {
        fail(`${where}: a .waitForTaskToken task must pass $$.Task.Token in its Parameters`);
      }
      if (state.TimeoutSecondsPath !== undefined || state.HeartbeatSecondsPath !== undefined) {
        fail(`${where}: TimeoutSecondsPath/HeartbeatSecondsPath on token tasks are not supported locally`);
      }
    }
    return {
      kind: 'lambdaInvoke',
      resource,
      waitForTaskToken,
      timeoutSeconds: typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : MAX_TIMEOUT_SECONDS,
      ...(typeof state.HeartbeatSeconds === 'number' ? { heartbeatSeconds: state.HeartbeatSeconds } : {}),
    };
  }
  if (LAMBDA_FUNCTION.test(resource)) return { kind: 'lambdaFunction', resource };
  const dynamodb = DYNAMODB.exec(resource);
  if (dynamodb) {
    if (!options.hasDynamodbEndpoint) fail(`${where}: ${resource} needs the dynamodbEndpoint option`);
    return { kind: 'dynamodb', resource, action: dynamodb[1] as DynamodbAction };
  }
  return fail(`${where}: resource ${resource} is not supported locally`);
}

/**
 * The library can only replace a Wait's duration with a fixed number, so waits that depend on the input or the
 * clock become local Task states: Parameters hand the handler the evaluated path, which it scales and sleeps.
 */
function rewriteWait(
  state: Json,
  scale: number | undefined,
  stateName: string,
  tasks: Map<string, TaskSpec>,
): void {
  if (typeof state.Seconds === 'number' && scale !== undefined) {
    state.Seconds *= scale;
    return;
  }
  // The local handler scales what it is given (a fixed Seconds included, when every Wait is local).
  const parameters: Json = { 'Input.$': '$' };
  if (typeof state.Seconds === 'number') parameters.Seconds = state.Seconds;
  if (typeof state.SecondsPath === 'string') parameters['Seconds.$'] = state.SecondsPath;
  if (typeof state.Timestamp === 'string') parameters.Timestamp = state.Timestamp;
  if (typeof state.TimestampPath === 'string') parameters['Timestamp.$'] = state.TimestampPath;
  for (const field of ['Seconds', 'SecondsPath', 'Timestamp', 'TimestampPath']) delete state[field];
  Object.assign(state, {
    Type: 'Task',
    Resource: LOCAL_WAIT_RESOURCE,
    Parameters: parameters,
    TimeoutSeconds: MAX_TIMEOUT_SECONDS,
  });
  tasks.set(stateName, { kind: 'wait', resource: LOCAL_WAIT_RESOURCE });
}

function defaultRoleArn(stateMachineArn: string): string {
  const [, partition = 'aws', , , account = '000000000000'] = stateMachineArn.split(':');
  return `arn:${partition}:iam::${account}:role/local-stepfunctions`;
}
