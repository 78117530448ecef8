import {
  BatchEntryIdsNotDistinct,
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  EmptyBatchRequest,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  MessageNotInflight,
  PurgeQueueCommand,
  PurgeQueueInProgress,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  SQSServiceException,
  TooManyEntriesInBatchRequest,
  UnsupportedOperation,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../ports.js';
import { md5Hex } from './attributes.js';
import { type LocalSqs, startSqs } from './index.js';
import { queueSpec, withDeadLetters } from './test-support.js';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

describe('local SQS API through @aws-sdk/client-sqs', () => {
  let sqs: LocalSqs;
  let client: SQSClient;
  let ingestUrl: string;
  let dlqUrl: string;

  beforeEach(async () => {
    // Queue URLs point at the endpoint, as the local cloud makes them.
    const port = await freePort();
    const url = (name: string) => `http://127.0.0.1:${port}/000000000000/${name}`;
    const [ingest, dlq] = withDeadLetters('civic-ingest', 2, { visibilityTimeoutSeconds: 60 });
    sqs = await startSqs({
      port,
      queues: [
        { ...ingest, url: url(ingest.queueName) },
        { ...dlq, url: url(dlq.queueName) },
        queueSpec('civic-failures', { url: url('civic-failures') }),
        queueSpec('other', { url: url('other') }),
      ],
    });
    client = new SQSClient({ endpoint: sqs.endpoint, region: 'us-east-1', credentials });
    ingestUrl = url('civic-ingest');
    dlqUrl = url('civic-ingest-dlq');
  });

  afterEach(async () => {
    client.destroy();
    await sqs.close();
  });

  it('sends and receives with system and message attributes (the SDK checks every MD5)', async () => {
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: ingestUrl,
        MessageBody: '{"thing":"fl-geomag-0001","occupied":true}',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'telemetry' },
          'trace.seq': { DataType: 'Number', StringValue: '42' },
          'trace.raw': { DataType: 'Binary', BinaryValue: Uint8Array.from([0, 1, 254]) },
        },
      }),
    );
    expect(sent.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);

    const received = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: ingestUrl,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['trace.*'],
      }),
    );
    const [message] = received.Messages ?? [];
    expect(message).toMatchObject({
      MessageId: sent.MessageId,
      Body: '{"thing":"fl-geomag-0001","occupied":true}',
      MD5OfBody: md5Hex('{"thing":"fl-geomag-0001","occupied":true}'),
      Attributes: { ApproximateReceiveCount: '1', SenderId: '000000000000' },
      MessageAttributes: {
        'trace.seq': { DataType: 'Number', StringValue: '42' },
        'trace.raw': { DataType: 'Binary', BinaryValue: Uint8Array.from([0, 1, 254]) },
      },
    });
    expect(Object.keys(message?.MessageAttributes ?? {})).not.toContain('kind');
    expect(Number(message?.Attributes?.SentTimestamp)).toBeGreaterThan(0);
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: ingestUrl,
        ReceiptHandle: message?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    // Only the attributes asked for.
    const again = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: ingestUrl,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    expect(again.Messages?.[0]?.Attributes).toEqual({ ApproximateReceiveCount: '2' });
    expect(again.Messages?.[0]?.MessageAttributes).toBeUndefined();
  });

  it('long-polls until a message arrives', async () => {
    const waiting = client.send(new ReceiveMessageCommand({ QueueUrl: ingestUrl, WaitTimeSeconds: 20 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.send(new SendMessageCommand({ QueueUrl: ingestUrl, MessageBody: 'late' }));
    expect((await waiting).Messages?.map((message) => message.Body)).toEqual(['late']);
    const empty = await client.send(new ReceiveMessageCommand({ QueueUrl: ingestUrl, WaitTimeSeconds: 1 }));
    expect(empty.Messages).toBeUndefined();
  });

  it('sends, receives and deletes in batches, reporting entries that fail', async () => {
    const batch = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: ingestUrl,
        Entries: [
          ...Array.from({ length: 9 }, (_, i) => ({ Id: `m${i}`, MessageBody: `message ${i}` })),
          { Id: 'bad', MessageBody: 'bell \u0007' },
        ],
      }),
    );
    expect(batch.Successful?.map((entry) => entry.Id)).toEqual(Array.from({ length: 9 }, (_, i) => `m${i}`));
    expect(batch.Failed).toEqual([
      expect.objectContaining({ Id: 'bad', SenderFault: true, Code: 'InvalidMessageContents' }),
    ]);

    const received = await client.send(
      new ReceiveMessageCommand({ QueueUrl: ingestUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }),
    );
    expect(received.Messages).toHaveLength(9);
    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: ingestUrl,
        Entries: [
          ...(received.Messages ?? []).map((message, i) => ({
            Id: `d${i}`,
            ReceiptHandle: message.ReceiptHandle,
          })),
          { Id: 'bogus', ReceiptHandle: 'bogus' },
        ],
      }),
    );
    expect(deleted.Successful).toHaveLength(9);
    expect(deleted.Failed).toEqual([
      expect.objectContaining({ Id: 'bogus', Code: 'ReceiptHandleIsInvalid' }),
    ]);
    expect(sqs.service.queue(ingestUrl).size).toBe(0);

    await expect(
      client.send(new SendMessageBatchCommand({ QueueUrl: ingestUrl, Entries: [] })),
    ).rejects.toBeInstanceOf(EmptyBatchRequest);
    await expect(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: ingestUrl,
          Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' })),
        }),
      ),
    ).rejects.toBeInstanceOf(TooManyEntriesInBatchRequest);
    await expect(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: ingestUrl,
          Entries: [
            { Id: 'same', MessageBody: 'x' },
            { Id: 'same', MessageBody: 'y' },
          ],
        }),
      ),
    ).rejects.toBeInstanceOf(BatchEntryIdsNotDistinct);
  });

  it('ignores a stale receipt handle and changes visibility only in flight', async () => {
    await client.send(new SendMessageCommand({ QueueUrl: ingestUrl, MessageBody: 'once' }));
    const first = (await client.send(new ReceiveMessageCommand({ QueueUrl: ingestUrl }))).Messages?.[0];
    await client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: ingestUrl,
        Entries: [{ Id: 'a', ReceiptHandle: first?.ReceiptHandle, VisibilityTimeout: 0 }],
      }),
    );
    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: ingestUrl,
          ReceiptHandle: first?.ReceiptHandle,
          VisibilityTimeout: 5,
        }),
      ),
    ).rejects.toBeInstanceOf(MessageNotInflight);
    const second = (await client.send(new ReceiveMessageCommand({ QueueUrl: ingestUrl }))).Messages?.[0];
    expect(second?.MessageId).toBe(first?.MessageId);

    await client.send(new DeleteMessageCommand({ QueueUrl: ingestUrl, ReceiptHandle: first?.ReceiptHandle }));
    expect(sqs.service.queue(ingestUrl).counts()).toEqual({ visible: 0, notVisible: 1, delayed: 0 });
    await client.send(
      new DeleteMessageCommand({ QueueUrl: ingestUrl, ReceiptHandle: second?.ReceiptHandle }),
    );
    expect(sqs.service.queue(ingestUrl).size).toBe(0);
    await expect(
      client.send(new DeleteMessageCommand({ QueueUrl: ingestUrl, ReceiptHandle: 'not a handle' })),
    ).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);
  });

  it('answers queue URLs, attributes and lists', async () => {
    expect(await client.send(new GetQueueUrlCommand({ QueueName: 'civic-ingest' }))).toMatchObject({
      QueueUrl: ingestUrl,
    });
    await client.send(new SendMessageCommand({ QueueUrl: ingestUrl, MessageBody: 'a' }));
    await client.send(new SendMessageCommand({ QueueUrl: ingestUrl, MessageBody: 'b', DelaySeconds: 900 }));
    await client.send(new SendMessageCommand({ QueueUrl: ingestUrl, MessageBody: 'c' }));
    await client.send(new ReceiveMessageCommand({ QueueUrl: ingestUrl }));

    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: ingestUrl, AttributeNames: ['All'] }),
    );
    expect(Attributes).toMatchObject({
      QueueArn: 'arn:aws:sqs:us-east-1:000000000000:civic-ingest',
      VisibilityTimeout: '60',
      MessageRetentionPeriod: '345600',
      ApproximateNumberOfMessages: '1',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '1',
    });
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:civic-ingest-dlq',
      maxReceiveCount: 2,
    });
    const some = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn', 'RedrivePolicy'] }),
    );
    expect(some.Attributes).toEqual({ QueueArn: 'arn:aws:sqs:us-east-1:000000000000:civic-ingest-dlq' });

    const all = await client.send(new ListQueuesCommand({}));
    expect(all.QueueUrls).toHaveLength(4);
    const first = await client.send(new ListQueuesCommand({ QueueNamePrefix: 'civic-', MaxResults: 2 }));
    const rest = await client.send(
      new ListQueuesCommand({ QueueNamePrefix: 'civic-', MaxResults: 2, NextToken: first.NextToken }),
    );
    expect(
      [...(first.QueueUrls ?? []), ...(rest.QueueUrls ?? [])].map((url) => url.split('/').pop()),
    ).toEqual(['civic-failures', 'civic-ingest', 'civic-ingest-dlq']);
    expect(rest.NextToken).toBeUndefined();
  });

  it('purges once a minute', async () => {
    await client.send(new SendMessageCommand({ QueueUrl: ingestUrl, MessageBody: 'a' }));
    await client.send(new PurgeQueueCommand({ QueueUrl: ingestUrl }));
    expect(sqs.service.queue(ingestUrl).size).toBe(0);
    await expect(client.send(new PurgeQueueCommand({ QueueUrl: ingestUrl }))).rejects.toBeInstanceOf(
      PurgeQueueInProgress,
    );
  });

  it('answers errors the SDK maps to its exception classes', async () => {
    const missing = `${sqs.endpoint}/000000000000/missing`;
    const error = await client
      .send(new SendMessageCommand({ QueueUrl: missing, MessageBody: 'x' }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    expect(error).toMatchObject({
      name: 'QueueDoesNotExist',
      message: 'The specified queue does not exist.',
      Code: 'AWS.SimpleQueueService.NonExistentQueue',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(client.send(new GetQueueUrlCommand({ QueueName: 'missing' }))).rejects.toBeInstanceOf(
      QueueDoesNotExist,
    );
    await expect(client.send(new CreateQueueCommand({ QueueName: 'new' }))).rejects.toBeInstanceOf(
      UnsupportedOperation,
    );
    const invalid = await client
      .send(new ReceiveMessageCommand({ QueueUrl: ingestUrl, MaxNumberOfMessages: 11 }))
      .catch((caught: unknown) => caught);
    expect(invalid).toBeInstanceOf(SQSServiceException);
    expect(invalid).toMatchObject({ name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } });
  });

  it('is reached through the queue URL by a client without an endpoint, as the SDK routes by QueueUrl', async () => {
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const routed = new SQSClient({ region: 'us-east-1', credentials, logger: quiet });
    try {
      await routed.send(new SendMessageCommand({ QueueUrl: ingestUrl, MessageBody: 'routed' }));
      expect(sqs.service.queue(ingestUrl).size).toBe(1);
    } finally {
      routed.destroy();
    }
  });
});
