import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from '../listen.js';
import { readJsonBody } from '../rest-json.js';
import type { QueueSpec } from '../template.js';
import { createOperations, isOperationName } from './api.js';
import { SqsError } from './errors.js';
import { SqsService, type SqsServiceOptions } from './service.js';

export type { MessageAttributes, MessageAttributeValue } from './attributes.js';
export { SqsError } from './errors.js';
export { DurableMessageJournal, type JournalEntry, type MessageJournal } from './journal.js';
export type { QueueCounts, ReceivedMessage, SendMessageInput } from './queue.js';
export { Queue } from './queue.js';
export { SqsService } from './service.js';

export interface StartSqsOptions extends SqsServiceOptions {
  queues: QueueSpec[];
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  log?: (line: string) => void;
}

export interface LocalSqs {
  readonly host: string;
  readonly port: number;
  /** What to give `SQSClient` as `endpoint` (or AWS_ENDPOINT_URL_SQS). */
  readonly endpoint: string;
  /** The queues themselves, for in-process senders and consumers (rules, event source mappings, tests). */
  readonly service: SqsService;
  /**
   * Ends long polls and waits, stops the server. In-memory queues lose their messages; with a journal
   * they are stored already (every change is, before it is acknowledged).
   */
  close(): Promise<void>;
}

const TARGET_PREFIX = 'AmazonSQS.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const MAX_BODY_BYTES = 2 * 1024 * 1024;

/**
 * Amazon SQS on loopback, as `@aws-sdk/client-sqs` speaks it (AWS JSON 1.0, `X-Amz-Target: AmazonSQS.<Op>`):
 * SendMessage(Batch), ReceiveMessage (long polling included), DeleteMessage(Batch),
 * ChangeMessageVisibility(Batch), GetQueueUrl, GetQueueAttributes, ListQueues, PurgeQueue, and the
 * dead-letter redrive (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask). The queues are
 * the template's; operations that create, delete or reconfigure queues answer UnsupportedOperation.
 * With `journal` every message change is stored before the operation that made it is answered.
 * Requests are not signature-checked: the endpoint only listens on loopback.
 */
export async function startSqs(options: StartSqsOptions): Promise<LocalSqs> {
  const log = options.log ?? (() => undefined);
  const service = new SqsService(options.queues, options);
  const operations = createOperations(service);
  const server = http.createServer((req, res) => {
    // A long poll ends when its client goes away (or the server closes the connection).
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    handle(req, gone.signal).then(
      (body) => send(res, 200, body),
      (error: unknown) => {
        req.resume();
        if (error instanceof SqsError) return sendError(res, error);
        log(`sqs: ${(error as Error).stack ?? String(error)}`);
        sendError(res, new SqsError('InternalFailure', 'internal failure'));
      },
    );
  });

  async function handle(req: IncomingMessage, signal: AbortSignal): Promise<unknown> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    if (req.method !== 'POST' || !isOperationName(operation)) {
      throw new SqsError(
        'UnsupportedOperation',
        `${target || `${req.method} ${req.url}`} is not served by the local SQS (its queues come from the template)`,
      );
    }
    if (!String(req.headers['content-type']).startsWith(CONTENT_TYPE))
      throw new SqsError('SerializationException', `Content-Type must be ${CONTENT_TYPE}`);
    return operations[operation](
      await readJsonBody(req, MAX_BODY_BYTES, (message) => new SqsError('SerializationException', message)),
      signal,
    );
  }

  const listening = await listen(server, options.port, options.host);
  return {
    host: listening.host,
    port: listening.port,
    endpoint: listening.endpoint,
    service,
    close() {
      service.close();
      return listening.close();
    },
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': CONTENT_TYPE,
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...headers,
    })
    .end(text);
}

function sendError(res: ServerResponse, error: SqsError): void {
  send(
    res,
    error.status,
    { __type: `com.amazonaws.sqs#${error.type}`, message: error.message },
    { 'x-amzn-query-error': error.queryError },
  );
}
