import { z } from 'zod';
import type { ExecutionEngine, ExecutionRecord } from './engine.js';
import { StepFunctionsApiError } from './errors.js';
import type { WireHistoryEvent } from './history.js';

const arn = z.string().min(1).max(2048);
const taskToken = z.string().min(1).max(2048);
const maxResults = z.number().int().min(0).max(1000).optional();
const nextToken = z.string().min(1).max(3096).optional();
const includedData = z.enum(['ALL_DATA', 'METADATA_ONLY']).optional();
const executionStatus = z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']);

/**
 * Request shapes of the supported operations (AWS's own length limits). Unknown members are ignored, as AWS
 * does, so newer SDKs that send extra fields keep working.
 */
const requests = {
  StartExecution: z.object({
    stateMachineArn: arn,
    name: z.string().optional(),
    input: z.string().optional(),
    traceHeader: z.string().max(256).optional(),
  }),
  DescribeExecution: z.object({ executionArn: arn, includedData }),
  ListExecutions: z.object({
    stateMachineArn: arn.optional(),
    mapRunArn: arn.optional(),
    statusFilter: executionStatus.optional(),
    maxResults,
    nextToken,
  }),
  StopExecution: z.object({
    executionArn: arn,
    error: z.string().max(256).optional(),
    cause: z.string().max(32768).optional(),
  }),
  GetExecutionHistory: z.object({
    executionArn: arn,
    maxResults,
    nextToken,
    reverseOrder: z.boolean().optional(),
    includeExecutionData: z.boolean().optional(),
  }),
  SendTaskSuccess: z.object({ taskToken, output: z.string().max(256 * 1024) }),
  SendTaskFailure: z.object({
    taskToken,
    error: z.string().max(256).optional(),
    cause: z.string().max(32768).optional(),
  }),
  SendTaskHeartbeat: z.object({ taskToken }),
  ListStateMachines: z.object({ maxResults, nextToken }),
  DescribeStateMachine: z.object({ stateMachineArn: arn, includedData }),
};

export type OperationName = keyof typeof requests;

const epochSeconds = (date: Date): number => date.getTime() / 1000;

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const detail = result.error.issues
      .map((issue) => `${issue.path.join('.') || 'request'}: ${issue.message}`)
      .join('; ');
    throw new StepFunctionsApiError('ValidationException', detail);
  }
  return result.data;
}

/** Page of `items` from an opaque offset token; a token we did not issue is rejected as AWS does. */
function page<T>(items: T[], limit: number | undefined, token: string | undefined) {
  let offset = 0;
  if (token !== undefined) {
    offset = Number(Buffer.from(token, 'base64url').toString());
    if (!Number.isInteger(offset) || offset < 0)
      throw new StepFunctionsApiError('InvalidToken', 'Invalid Token');
  }
  const size = limit === undefined || limit === 0 ? 100 : limit;
  const end = offset + size;
  return {
    items: items.slice(offset, end),
    ...(end < items.length ? { nextToken: Buffer.from(String(end)).toString('base64url') } : {}),
  };
}

function describeExecution(record: ExecutionRecord, withData: boolean) {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: epochSeconds(record.startDate),
    ...(record.stopDate ? { stopDate: epochSeconds(record.stopDate) } : {}),
    ...(withData ? { input: record.input, inputDetails: { included: true } } : {}),
    ...(withData && record.output !== undefined
      ? { output: record.output, outputDetails: { included: true } }
      : {}),
    ...(record.error !== undefined ? { error: record.error } : {}),
    ...(record.cause !== undefined ? { cause: record.cause } : {}),
  };
}

function withoutData(event: WireHistoryEvent): WireHistoryEvent {
  return Object.fromEntries(
    Object.entries(event).map(([key, value]) => {
      if (!key.endsWith('EventDetails') || typeof value !== 'object' || value === null) return [key, value];
      const { input: _input, output: _output, ...rest } = value as Record<string, unknown>;
      return [key, rest];
    }),
  ) as WireHistoryEvent;
}

function parseOutput(output: string): unknown {
  try {
    return JSON.parse(output);
  } catch (error) {
    throw new StepFunctionsApiError('InvalidOutput', `Invalid Output: ${error}`);
  }
}

/**
 * The operations of the AWS Step Functions API that the project uses, answered from the engine in the shapes
 * the SDK's AWS JSON 1.0 deserializer expects (timestamps as epoch seconds).
 */
export function createOperations(engine: ExecutionEngine): Record<OperationName, (body: unknown) => unknown> {
  return {
    StartExecution: async (body) => {
      const request = parse(requests.StartExecution, body);
      const record = engine.start(request.stateMachineArn, request.name, request.input);
      await engine.flushed(record.executionArn);
      return { executionArn: record.executionArn, startDate: epochSeconds(record.startDate) };
    },
    DescribeExecution: (body) => {
      const request = parse(requests.DescribeExecution, body);
      return describeExecution(
        engine.execution(request.executionArn),
        request.includedData !== 'METADATA_ONLY',
      );
    },
    ListExecutions: (body) => {
      const request = parse(requests.ListExecutions, body);
      if (request.stateMachineArn === undefined) {
        throw new StepFunctionsApiError(
          'ValidationException',
          'stateMachineArn is required (no Map Runs locally)',
        );
      }
      const records = engine.list(request.stateMachineArn, request.statusFilter as ExecutionRecord['status']);
      const { items, ...rest } = page(records, request.maxResults, request.nextToken);
      return {
        executions: items.map((record) => ({
          executionArn: record.executionArn,
          stateMachineArn: record.stateMachineArn,
          name: record.name,
          status: record.status,
          startDate: epochSeconds(record.startDate),
          ...(record.stopDate ? { stopDate: epochSeconds(record.stopDate) } : {}),
        })),
        ...rest,
      };
    },
    StopExecution: async (body) => {
      const request = parse(requests.StopExecution, body);
      const record = engine.stop(request.executionArn, request.error, request.cause);
      await engine.flushed(record.executionArn);
      return { stopDate: epochSeconds(record.stopDate ?? new Date()) };
    },
    GetExecutionHistory: (body) => {
      const request = parse(requests.GetExecutionHistory, body);
      const record = engine.execution(request.executionArn);
      const ordered = request.reverseOrder ? [...record.events].reverse() : record.events;
      const events = request.includeExecutionData === false ? ordered.map(withoutData) : ordered;
      const { items, ...rest } = page(events, request.maxResults, request.nextToken);
      return { events: items, ...rest };
    },
    SendTaskSuccess: async (body) => {
      const request = parse(requests.SendTaskSuccess, body);
      await engine.succeed(request.taskToken, parseOutput(request.output));
      return {};
    },
    SendTaskFailure: async (body) => {
      const request = parse(requests.SendTaskFailure, body);
      await engine.fail(request.taskToken, request.error, request.cause);
      return {};
    },
    SendTaskHeartbeat: (body) => {
      const request = parse(requests.SendTaskHeartbeat, body);
      engine.tokens.heartbeat(request.taskToken);
      return {};
    },
    ListStateMachines: (body) => {
      const request = parse(requests.ListStateMachines, body);
      const { items, ...rest } = page(engine.stateMachines(), request.maxResults, request.nextToken);
      return {
        stateMachines: items.map((machine) => ({
          stateMachineArn: machine.arn,
          name: machine.name,
          type: 'STANDARD',
          creationDate: epochSeconds(machine.creationDate),
        })),
        ...rest,
      };
    },
    DescribeStateMachine: (body) => {
      const request = parse(requests.DescribeStateMachine, body);
      const machine = engine.stateMachine(request.stateMachineArn);
      return {
        stateMachineArn: machine.arn,
        name: machine.name,
        status: 'ACTIVE',
        definition: machine.definitionJson,
        roleArn: machine.roleArn,
        type: 'STANDARD',
        creationDate: epochSeconds(machine.creationDate),
      };
    },
  };
}

export function isOperationName(name: string): name is OperationName {
  return Object.hasOwn(requests, name);
}
