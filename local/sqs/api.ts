import { z } from 'zod';
import { LOCAL_ACCOUNT } from '../template.js';
import {
  attributesSize,
  type MessageAttributes,
  type MessageAttributeValue,
  md5OfAttributes,
} from './attributes.js';
import { invalidParameter, SqsError } from './errors.js';
import type { MoveTask } from './move-tasks.js';
import type { MessageSystemAttributes, Queue, ReceivedMessage, SendMessageInput } from './queue.js';
import type { SqsService } from './service.js';

const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = 1_048_576;

const integer = z.number().int();
const attributeValue = z
  .object({
    DataType: z.string(),
    StringValue: z.string().optional(),
    BinaryValue: z.base64().optional(),
    StringListValues: z.array(z.string()).optional(),
    BinaryListValues: z.array(z.string()).optional(),
  })
  .transform(({ StringListValues, BinaryListValues, BinaryValue, ...value }, context) => {
    if ((StringListValues?.length ?? 0) > 0 || (BinaryListValues?.length ?? 0) > 0) {
      context.addIssue({ code: 'custom', message: 'list values are reserved by AWS and not implemented' });
    }
    return {
      ...value,
      ...(BinaryValue === undefined ? {} : { BinaryValue: Buffer.from(BinaryValue, 'base64') }),
    } as MessageAttributeValue;
  });
const messageFields = {
  MessageBody: z.string(),
  DelaySeconds: integer.optional(),
  MessageAttributes: z.record(z.string(), attributeValue).optional(),
  MessageSystemAttributes: z.record(z.string(), attributeValue).optional(),
  MessageDeduplicationId: z.string().optional(),
  MessageGroupId: z.string().optional(),
};
const batchEntryId = z.string();
const visibilityEntry = z.object({ Id: batchEntryId, ReceiptHandle: z.string(), VisibilityTimeout: integer });

/** Request shapes of the served operations. Unknown members are ignored, as AWS does. */
const requests = {
  SendMessage: z.object({ QueueUrl: z.string(), ...messageFields }),
  SendMessageBatch: z.object({
    QueueUrl: z.string(),
    Entries: z.array(z.object({ Id: batchEntryId, ...messageFields })),
  }),
  ReceiveMessage: z.object({
    QueueUrl: z.string(),
    AttributeNames: z.array(z.string()).optional(),
    MessageSystemAttributeNames: z.array(z.string()).optional(),
    MessageAttributeNames: z.array(z.string()).optional(),
    MaxNumberOfMessages: integer.optional(),
    VisibilityTimeout: integer.optional(),
    WaitTimeSeconds: integer.optional(),
  }),
  DeleteMessage: z.object({ QueueUrl: z.string(), ReceiptHandle: z.string() }),
  DeleteMessageBatch: z.object({
    QueueUrl: z.string(),
    Entries: z.array(z.object({ Id: batchEntryId, ReceiptHandle: z.string() })),
  }),
  ChangeMessageVisibility: z.object({
    QueueUrl: z.string(),
    ReceiptHandle: z.string(),
    VisibilityTimeout: integer,
  }),
  ChangeMessageVisibilityBatch: z.object({ QueueUrl: z.string(), Entries: z.array(visibilityEntry) }),
  GetQueueUrl: z.object({ QueueName: z.string(), QueueOwnerAWSAccountId: z.string().optional() }),
  GetQueueAttributes: z.object({ QueueUrl: z.string(), AttributeNames: z.array(z.string()).optional() }),
  ListQueues: z.object({
    QueueNamePrefix: z.string().optional(),
    NextToken: z.string().optional(),
    MaxResults: integer.optional(),
  }),
  PurgeQueue: z.object({ QueueUrl: z.string() }),
  StartMessageMoveTask: z.object({
    SourceArn: z.string(),
    DestinationArn: z.string().optional(),
    MaxNumberOfMessagesPerSecond: integer.optional(),
  }),
  ListMessageMoveTasks: z.object({ SourceArn: z.string(), MaxResults: integer.optional() }),
  CancelMessageMoveTask: z.object({ TaskHandle: z.string() }),
};

export type OperationName = keyof typeof requests;
export const isOperationName = (name: string): name is OperationName => Object.hasOwn(requests, name);

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const name = issue.path.join('.') || 'request';
  const value = issue.path.reduce<unknown>(
    (node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key],
    body,
  );
  if (issue.code === 'invalid_type' && value === undefined)
    throw new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
  throw invalidParameter(`Value for parameter ${name} is invalid. Reason: ${issue.message}.`);
}

type SendFields = z.output<typeof requests.SendMessage>;

const sendInput = (fields: Omit<SendFields, 'QueueUrl'>): SendMessageInput => {
  if (fields.MessageDeduplicationId !== undefined)
    throw invalidParameter('The request include parameter that is not valid for this queue type');
  if (fields.MessageGroupId !== undefined)
    throw invalidParameter('MessageGroupId (fair queues) is not supported by the local SQS');
  const system = fields.MessageSystemAttributes ?? {};
  for (const [name, value] of Object.entries(system)) {
    if (name !== 'AWSTraceHeader' || value.DataType !== 'String' || value.StringValue === undefined)
      throw invalidParameter(`Message system attribute name '${name}' is invalid.`);
  }
  return {
    body: fields.MessageBody,
    delaySeconds: fields.DelaySeconds,
    messageAttributes: fields.MessageAttributes,
    awsTraceHeader: system.AWSTraceHeader?.StringValue,
  };
};

/** Batch rules every *Batch operation shares: 1–10 entries, distinct well-formed ids. */
const checkBatch = (entries: { Id: string }[]) => {
  if (entries.length === 0)
    throw new SqsError('EmptyBatchRequest', 'There should be at least one entry in the request.');
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
    );
  }
  const ids = new Set<string>();
  for (const { Id } of entries) {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(Id)) {
      throw new SqsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (ids.has(Id)) throw new SqsError('BatchEntryIdsNotDistinct', `Id ${Id} repeated.`);
    ids.add(Id);
  }
};

/** Runs each entry, collecting AWS's Successful/Failed lists: one entry's error does not fail the others. */
const eachEntry = <E extends { Id: string }, R>(entries: E[], run: (entry: E) => R) => {
  const Successful: (R & { Id: string })[] = [];
  const Failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[] = [];
  for (const entry of entries) {
    try {
      Successful.push({ ...run(entry), Id: entry.Id });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      Failed.push({
        Id: entry.Id,
        SenderFault: error.status < 500,
        Code: error.queryCode,
        Message: error.message,
      });
    }
  }
  return { Successful, Failed };
};

const SYSTEM_ATTRIBUTE_NAMES = new Set([
  'All',
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageDeduplicationId',
  'MessageGroupId',
  'AWSTraceHeader',
  'DeadLetterQueueSourceArn',
]);

const QUEUE_ATTRIBUTE_NAMES = new Set([
  'All',
  'Policy',
  'VisibilityTimeout',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
  'ApproximateNumberOfMessagesDelayed',
  'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds',
  'RedrivePolicy',
  'FifoQueue',
  'ContentBasedDeduplication',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'RedriveAllowPolicy',
  'SqsManagedSseEnabled',
]);

const checkNames = (names: string[], known: Set<string>) => {
  for (const name of names)
    if (!known.has(name)) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
};

/** The system attributes asked for (`All`, or by name); absent ones are left out. */
const pickSystemAttributes = (attributes: MessageSystemAttributes, names: string[]) =>
  names.includes('All')
    ? attributes
    : Object.fromEntries(Object.entries(attributes).filter(([name]) => names.includes(name)));

/** The message attributes asked for: `All`, `.*`, `prefix.*` or exact names. */
const pickMessageAttributes = (attributes: MessageAttributes, patterns: string[]): MessageAttributes =>
  Object.fromEntries(
    Object.entries(attributes).filter(([name]) =>
      patterns.some((pattern) =>
        pattern === 'All' || pattern === '.*'
          ? true
          : pattern.endsWith('.*')
            ? name.startsWith(pattern.slice(0, -1))
            : name === pattern,
      ),
    ),
  );

const wireAttribute = (value: MessageAttributeValue) => ({
  DataType: value.DataType,
  ...(value.StringValue === undefined ? {} : { StringValue: value.StringValue }),
  ...(value.BinaryValue === undefined
    ? {}
    : { BinaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
});

const wireMessage = (message: ReceivedMessage, systemNames: string[], attributePatterns: string[]) => {
  const attributes = pickSystemAttributes(message.attributes, systemNames);
  const messageAttributes = pickMessageAttributes(message.messageAttributes, attributePatterns);
  const md5OfMessageAttributes = md5OfAttributes(messageAttributes);
  return {
    MessageId: message.messageId,
    ReceiptHandle: message.receiptHandle,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
    ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
    ...(md5OfMessageAttributes === undefined
      ? {}
      : {
          MD5OfMessageAttributes: md5OfMessageAttributes,
          MessageAttributes: Object.fromEntries(
            Object.entries(messageAttributes).map(([name, value]) => [name, wireAttribute(value)]),
          ),
        }),
  };
};

const sendResult = (queue: Queue, input: SendMessageInput) => {
  const result = queue.send(input);
  return {
    MessageId: result.messageId,
    MD5OfMessageBody: result.md5OfMessageBody,
    ...(result.md5OfMessageAttributes === undefined
      ? {}
      : { MD5OfMessageAttributes: result.md5OfMessageAttributes }),
    ...(result.md5OfMessageSystemAttributes === undefined
      ? {}
      : { MD5OfMessageSystemAttributes: result.md5OfMessageSystemAttributes }),
  };
};

const queueAttributes = (queue: Queue, names: string[]): Record<string, string> => {
  const { spec } = queue;
  const counts = queue.counts();
  const all: Record<string, string | undefined> = {
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(counts.notVisible),
    ApproximateNumberOfMessagesDelayed: String(counts.delayed),
    CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    // The configured value: the local time scale is not the queue's business.
    VisibilityTimeout: String(spec.visibilityTimeoutSeconds),
    MaximumMessageSize: String(spec.maximumMessageSize),
    MessageRetentionPeriod: String(spec.messageRetentionSeconds),
    DelaySeconds: String(spec.delaySeconds),
    ReceiveMessageWaitTimeSeconds: String(spec.receiveMessageWaitTimeSeconds),
    RedrivePolicy:
      spec.deadLetter === undefined
        ? undefined
        : JSON.stringify({
            deadLetterTargetArn: spec.deadLetter.targetArn,
            maxReceiveCount: spec.deadLetter.maxReceiveCount,
          }),
  };
  return Object.fromEntries(
    Object.entries(all).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && (names.includes('All') || names.includes(entry[0])),
    ),
  );
};

const wireMoveTask = (task: MoveTask) => ({
  TaskHandle: task.status === 'RUNNING' ? task.taskHandle : undefined,
  Status: task.status,
  SourceArn: task.sourceArn,
  DestinationArn: task.destinationArn,
  MaxNumberOfMessagesPerSecond: task.maxNumberOfMessagesPerSecond,
  ApproximateNumberOfMessagesMoved: task.approximateNumberOfMessagesMoved,
  ApproximateNumberOfMessagesToMove: task.approximateNumberOfMessagesToMove,
  FailureReason: task.failureReason,
  StartedTimestamp: task.startedTimestamp,
});

/**
 * The served SQS operations, each taking the parsed JSON body. ReceiveMessage long-polls: `signal` ends
 * the wait early when the client goes away or the server stops. With a journal (durable queues) an
 * operation that changes messages answers only once the change is stored.
 */
export const createOperations = (service: SqsService) => {
  const durably = <T>(result: T): T | Promise<T> => {
    const flushed = service.flushed();
    return flushed === undefined ? result : flushed.then(() => result);
  };
  return {
    SendMessage: (body: unknown) => {
      const { QueueUrl, ...fields } = parse(requests.SendMessage, body);
      const queue = service.queue(QueueUrl);
      return durably(sendResult(queue, sendInput(fields)));
    },

    SendMessageBatch: (body: unknown) => {
      const { QueueUrl, Entries } = parse(requests.SendMessageBatch, body);
      const queue = service.queue(QueueUrl);
      checkBatch(Entries);
      const total = Entries.reduce(
        (sum, entry) =>
          sum + Buffer.byteLength(entry.MessageBody) + attributesSize(entry.MessageAttributes ?? {}),
        0,
      );
      if (total > MAX_BATCH_BYTES) {
        throw new SqsError(
          'BatchRequestTooLong',
          `Batch requests cannot be longer than ${MAX_BATCH_BYTES} bytes. You have sent ${total} bytes.`,
        );
      }
      return durably(eachEntry(Entries, ({ Id: _, ...fields }) => sendResult(queue, sendInput(fields))));
    },

    ReceiveMessage: async (body: unknown, signal?: AbortSignal) => {
      const request = parse(requests.ReceiveMessage, body);
      const queue = service.queue(request.QueueUrl);
      const systemNames = [...(request.AttributeNames ?? []), ...(request.MessageSystemAttributeNames ?? [])];
      checkNames(systemNames, SYSTEM_ATTRIBUTE_NAMES);
      const messages = await queue.receiveWait({
        maxNumberOfMessages: request.MaxNumberOfMessages,
        visibilityTimeoutSeconds: request.VisibilityTimeout,
        waitTimeSeconds: request.WaitTimeSeconds,
        signal,
      });
      const patterns = request.MessageAttributeNames ?? [];
      // A receive counts (receive count, visibility) once it is stored: only then is the message handed out.
      const flushed = messages.length > 0 ? service.flushed() : undefined;
      if (flushed !== undefined) await flushed;
      return messages.length === 0
        ? {}
        : { Messages: messages.map((message) => wireMessage(message, systemNames, patterns)) };
    },

    DeleteMessage: (body: unknown) => {
      const { QueueUrl, ReceiptHandle } = parse(requests.DeleteMessage, body);
      service.queue(QueueUrl).delete(ReceiptHandle);
      return durably({});
    },

    DeleteMessageBatch: (body: unknown) => {
      const { QueueUrl, Entries } = parse(requests.DeleteMessageBatch, body);
      const queue = service.queue(QueueUrl);
      checkBatch(Entries);
      return durably(
        eachEntry(Entries, ({ ReceiptHandle }) => {
          queue.delete(ReceiptHandle);
          return {};
        }),
      );
    },

    ChangeMessageVisibility: (body: unknown) => {
      const { QueueUrl, ReceiptHandle, VisibilityTimeout } = parse(requests.ChangeMessageVisibility, body);
      service.queue(QueueUrl).changeVisibility(ReceiptHandle, VisibilityTimeout);
      return durably({});
    },

    ChangeMessageVisibilityBatch: (body: unknown) => {
      const { QueueUrl, Entries } = parse(requests.ChangeMessageVisibilityBatch, body);
      const queue = service.queue(QueueUrl);
      checkBatch(Entries);
      return durably(
        eachEntry(Entries, ({ ReceiptHandle, VisibilityTimeout }) => {
          queue.changeVisibility(ReceiptHandle, VisibilityTimeout);
          return {};
        }),
      );
    },

    GetQueueUrl: (body: unknown) => {
      const { QueueName, QueueOwnerAWSAccountId } = parse(requests.GetQueueUrl, body);
      const owner = QueueOwnerAWSAccountId ?? LOCAL_ACCOUNT;
      const queue = owner === LOCAL_ACCOUNT ? service.findQueue(QueueName) : undefined;
      if (queue === undefined) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
      return { QueueUrl: queue.url };
    },

    GetQueueAttributes: (body: unknown) => {
      const { QueueUrl, AttributeNames = [] } = parse(requests.GetQueueAttributes, body);
      const queue = service.queue(QueueUrl);
      checkNames(AttributeNames, QUEUE_ATTRIBUTE_NAMES);
      const attributes = queueAttributes(queue, AttributeNames);
      return Object.keys(attributes).length === 0 ? {} : { Attributes: attributes };
    },

    ListQueues: (body: unknown) => {
      const { QueueNamePrefix = '', NextToken, MaxResults } = parse(requests.ListQueues, body);
      if (MaxResults !== undefined && (MaxResults < 1 || MaxResults > 1000))
        throw invalidParameter(
          `Value ${MaxResults} for parameter MaxResults is invalid. Reason: Must be between 1 and 1000.`,
        );
      if (NextToken !== undefined && MaxResults === undefined)
        throw invalidParameter('MaxResults is a mandatory parameter when you provide a value for NextToken.');
      const urls = service.queues
        .filter((queue) => queue.name.startsWith(QueueNamePrefix))
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((queue) => queue.url);
      // The token is the position to resume from; AWS's are opaque too.
      const start = NextToken === undefined ? 0 : Number(Buffer.from(NextToken, 'base64url').toString());
      if (!Number.isInteger(start) || start < 0) throw invalidParameter('Invalid NextToken value.');
      const end = MaxResults === undefined ? Math.min(urls.length, 1000) : start + MaxResults;
      const page = urls.slice(start, end);
      return {
        ...(page.length > 0 ? { QueueUrls: page } : {}),
        ...(MaxResults !== undefined && end < urls.length
          ? { NextToken: Buffer.from(String(end)).toString('base64url') }
          : {}),
      };
    },

    PurgeQueue: (body: unknown) => {
      const { QueueUrl } = parse(requests.PurgeQueue, body);
      service.queue(QueueUrl).purge();
      return durably({});
    },

    StartMessageMoveTask: (body: unknown) => {
      const request = parse(requests.StartMessageMoveTask, body);
      const task = service.moveTasks.start(
        request.SourceArn,
        request.DestinationArn,
        request.MaxNumberOfMessagesPerSecond,
      );
      return { TaskHandle: task.taskHandle };
    },

    ListMessageMoveTasks: (body: unknown) => {
      const { SourceArn, MaxResults } = parse(requests.ListMessageMoveTasks, body);
      return { Results: service.moveTasks.list(SourceArn, MaxResults).map(wireMoveTask) };
    },

    CancelMessageMoveTask: (body: unknown) => {
      const { TaskHandle } = parse(requests.CancelMessageMoveTask, body);
      return {
        ApproximateNumberOfMessagesMoved:
          service.moveTasks.cancel(TaskHandle).approximateNumberOfMessagesMoved,
      };
    },
  };
};
