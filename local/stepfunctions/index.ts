import { listen } from '../listen.js';
import './polyfill.js';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createOperations, isOperationName } from './api.js';
import { compileStateMachine } from './definition.js';
import { ExecutionEngine } from './engine.js';
import { StepFunctionsApiError } from './errors.js';
import type { ExecutionStore } from './persistence.js';

export { StateMachineDefinitionError, StepFunctionsApiError } from './errors.js';
export { DurableExecutions, type ExecutionStore } from './persistence.js';

export interface LocalStateMachine {
  arn: string;
  name: string;
  /** ASL JSON, already resolved: ARNs are plain strings. */
  definition: object;
  roleArn?: string;
}

export interface StepFunctionsOptions {
  /** 0 = a free port on 127.0.0.1. */
  port: number;
  stateMachines: LocalStateMachine[];
  /** Invoke a Lambda function by ARN or name the way Lambda's Invoke (RequestResponse) does; rejects with the function error. */
  invokeLambda(functionNameOrArn: string, payload: unknown): Promise<unknown>;
  /** Endpoint of the local DynamoDB for `arn:aws:states:::dynamodb:*` tasks; required only if a machine uses them. */
  dynamodbEndpoint?: string;
  /**
   * Multiplies every Wait state's duration and every Retry interval (seconds) so tests can shorten them;
   * 0 skips them. Default: real time. Task TimeoutSeconds and HeartbeatSeconds are never scaled.
   */
  waitTimeScale?: number;
  /**
   * Keeps executions across restarts: every one is stored as it moves (a checkpoint at each top-level
   * state, the token before its Lambda gets it, a Wait's end), and at start running ones resume.
   */
  store?: ExecutionStore;
  log?: (line: string) => void;
}

const TARGET_PREFIX = 'AWSStepFunctions.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const MAX_BODY_BYTES = 2 * 1024 * 1024;

/**
 * Serves the AWS Step Functions API (AWS JSON 1.0, as `@aws-sdk/client-sfn` speaks it) on loopback, running the
 * given state machines with aws-local-stepfunctions. Every definition is checked before the port opens: an
 * invalid or locally unsupported one throws `StateMachineDefinitionError` naming the machine.
 */
export async function startStepFunctions(
  opts: StepFunctionsOptions,
): Promise<{ endpoint: string; port: number; close(): Promise<void> }> {
  const log = opts.log ?? (() => undefined);
  const waitTimeScale = opts.waitTimeScale ?? 1;
  if (!Number.isFinite(waitTimeScale) || waitTimeScale < 0) {
    throw new RangeError(`waitTimeScale must be a finite number ≥ 0, got ${opts.waitTimeScale}`);
  }
  const compiled = opts.stateMachines.map((machine) =>
    compileStateMachine(machine, {
      ...(opts.waitTimeScale !== undefined && opts.waitTimeScale !== 1 ? { waitTimeScale } : {}),
      hasDynamodbEndpoint: opts.dynamodbEndpoint !== undefined,
      ...(opts.store !== undefined ? { localWaits: true } : {}),
    }),
  );

  let dynamodb: DynamoDBClient | undefined;
  const engine = new ExecutionEngine(compiled, {
    invokeLambda: opts.invokeLambda,
    dynamodb: () => {
      dynamodb ??= createDynamodbClient(opts.dynamodbEndpoint);
      return dynamodb;
    },
    waitTimeScale,
    log,
    ...(opts.store !== undefined ? { store: opts.store } : {}),
  });
  await engine.restore();
  const operations = createOperations(engine);

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log(`stepfunctions: request failed: ${error instanceof Error ? error.stack : String(error)}`);
      send(response, 500, { __type: 'InternalFailure', message: 'Internal failure' });
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = request.headers['x-amz-target'];
    const operation =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX)
        ? target.slice(TARGET_PREFIX.length)
        : '';
    try {
      if (request.method !== 'POST' || !isOperationName(operation)) {
        throw new StepFunctionsApiError('UnknownOperationException', `Unknown operation ${String(target)}`);
      }
      if (!String(request.headers['content-type']).startsWith(CONTENT_TYPE)) {
        throw new StepFunctionsApiError('SerializationException', `Content-Type must be ${CONTENT_TYPE}`);
      }
      const body = await readJson(request);
      send(response, 200, await operations[operation](body));
    } catch (error) {
      if (!(error instanceof StepFunctionsApiError)) throw error;
      if (error.statusCode >= 500) log(`stepfunctions: ${operation}: ${error.message}`);
      send(response, error.statusCode, { __type: error.type, message: error.message });
    }
  }

  const listening = await listen(server, opts.port);
  log(`stepfunctions: ${compiled.length} state machine(s) on ${listening.endpoint}`);

  return {
    endpoint: listening.endpoint,
    port: listening.port,
    async close() {
      await listening.close();
      engine.close();
      await engine.flushedAll();
      dynamodb?.destroy();
    },
  };
}

function createDynamodbClient(endpoint: string | undefined): DynamoDBClient {
  // DynamoDB Local keeps one database per access key and region unless started with -sharedDb, so use the
  // same credentials as the handlers when the environment has them.
  const fromEnvironment = process.env.AWS_ACCESS_KEY_ID !== undefined;
  return new DynamoDBClient({
    ...(endpoint !== undefined ? { endpoint } : {}),
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(fromEnvironment ? {} : { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  });
}

function readJson(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new StepFunctionsApiError('SerializationException', 'Request body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('error', reject);
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text === '' ? {} : JSON.parse(text));
      } catch {
        reject(new StepFunctionsApiError('SerializationException', 'Request body is not valid JSON'));
      }
    });
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(payload),
    'x-amzn-RequestId': randomUUID(),
  });
  response.end(payload);
}
