import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FREE_PORTS, type LocalCloud, startLocalCloud } from './cloud.js';
import type { QueueSpec } from './template.js';

/**
 * The SQS parts of the whole local cloud, independent of what the functions do with their events (the
 * handlers have their own tests): the endpoint, the mapping's draining, and failure destinations.
 */
describe('local cloud: SQS', () => {
  let cloud: LocalCloud;
  let dataDir: string;
  let sqs: SQSClient;
  const queue = (prefix: string): QueueSpec => {
    const found = cloud.stack.queues.find((spec) => spec.logicalId.startsWith(prefix));
    if (found === undefined) throw new Error(`no queue ${prefix}`);
    return found;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'civic-sqs-cloud-'));
    cloud = await startLocalCloud({
      inMemory: true,
      dataDir,
      synth: 'never',
      ports: FREE_PORTS,
      asyncRetryDelaysMs: [10, 10],
      // The ingest queue's 60 s pass in 300 ms.
      visibilityTimeoutScale: 0.005,
    });
    const env = cloud.sdkEnvironment;
    sqs = new SQSClient({
      endpoint: env.AWS_ENDPOINT_URL_SQS,
      region: env.AWS_REGION,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID as string,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
      },
    });
  }, 120_000);

  afterAll(async () => {
    sqs?.destroy();
    await cloud?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the template’s queues at AWS_ENDPOINT_URL_SQS, under the URLs Ref gives', async () => {
    expect(cloud.sdkEnvironment.AWS_ENDPOINT_URL_SQS).toBe(cloud.endpoints.sqs);
    const listed = await sqs.send(new ListQueuesCommand({}));
    expect(new Set(listed.QueueUrls)).toEqual(new Set(cloud.stack.queues.map((spec) => spec.url)));
    for (const url of listed.QueueUrls ?? []) expect(url.startsWith(`${cloud.endpoints.sqs}/`)).toBe(true);
    const ingest = queue('ViolationsIngestQueue');
    expect(await sqs.send(new GetQueueUrlCommand({ QueueName: ingest.queueName }))).toMatchObject({
      QueueUrl: ingest.url,
    });
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: ingest.url,
        AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'],
      }),
    );
    expect(Attributes?.VisibilityTimeout).toBe('60');
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 5 });
  });

  it('drains: every message sent to the ingest queue is consumed or dead-lettered before drain returns', async () => {
    const ingest = cloud.sqs.service.queue(queue('ViolationsIngestQueue').url);
    const deadLetters = cloud.sqs.service.queue(queue('ViolationsIngestDeadLetters').url);
    const deadBefore = deadLetters.size;
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: ingest.url,
        Entries: [
          { Id: 'json', MessageBody: JSON.stringify({ topic: 'dt/civic/nowhere/nothing/occupancy' }) },
          { Id: 'garbage', MessageBody: 'not json at all' },
        ],
      }),
    );
    await cloud.drain();
    expect(ingest.size).toBe(0);
    expect(deadLetters.size - deadBefore).toBeLessThanOrEqual(2);
  });

  it('sends an async invocation that exhausted its retries to its on-failure destination queue', async () => {
    // The event-driven functions (not API routes), with an event of the wrong shape: whichever of them
    // fail, each failure record must reach the queue as AWS sends it.
    const failures = cloud.sqs.service.queue(queue('DataAsyncFailures').url);
    const routed = new Set(cloud.stack.routes.map((route) => route.functionName));
    for (const spec of cloud.stack.functions.filter((fn) => !routed.has(fn.functionName)))
      cloud.lambda.invokeAsync(spec.functionName, { Records: 5 });
    await cloud.drain();
    const sent = cloud.lambda.asyncFailures.map(({ destination, ...record }) => {
      expect(destination).toBe(failures.arn);
      return record;
    });
    const received = [];
    for (let batch = failures.receive({ maxNumberOfMessages: 10 }); batch.length > 0; ) {
      received.push(...batch.map((message) => JSON.parse(message.body)));
      batch = failures.receive({ maxNumberOfMessages: 10 });
    }
    expect(received).toEqual(sent);
  });
});
