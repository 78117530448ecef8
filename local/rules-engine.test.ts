import { afterEach, describe, expect, it } from 'vitest';
import type { DevicePublish } from './iot/broker.js';
import { LambdaService } from './lambda/service.js';
import { type RuleActionFailure, RulesEngine } from './rules-engine.js';
import { SqsService } from './sqs/index.js';
import { queueSpec } from './sqs/test-support.js';
import type { TopicRuleAction, TopicRuleSpec } from './template.js';

const SQL =
  "SELECT encode(*, 'base64') AS payload, topic(3) AS compoundId, topic(4) AS thingName FROM 'dt/civic/+/+/+'";

const rule = (actions: TopicRuleAction[]): TopicRuleSpec => ({
  logicalId: 'IngestRule',
  ruleName: 'CivicCellIngestRule',
  sql: SQL,
  sqlVersion: '2016-03-23',
  disabled: false,
  actions,
  errorAction: { kind: 'cloudwatchLogs', logGroupName: '/civic/rule-errors' },
});

const publish = (payload: string): DevicePublish => ({
  topic: 'dt/civic/xiling/fl-geomag-0001/occupancy',
  payload: Buffer.from(payload),
  clientId: 'fl-geomag-0001',
  qos: 1,
});

describe('rules engine: SQS action', () => {
  const sqs = new SqsService([queueSpec('ingest'), queueSpec('small', { maximumMessageSize: 1024 })]);
  const lambda = new LambdaService([], { baseEnvironment: {} });
  const errors: { logGroupName: string; failure: RuleActionFailure }[] = [];
  const engine = (action: TopicRuleAction) =>
    new RulesEngine({
      rules: [rule([action])],
      lambda,
      sqs,
      publish: async () => undefined,
      onRuleError: (logGroupName, failure) => errors.push({ logGroupName, failure }),
    });

  afterEach(() => {
    for (const queue of sqs.queues) while (queue.receive({ maxNumberOfMessages: 10 }).length > 0);
    errors.length = 0;
  });

  it('sends the rule’s result as the message body', () => {
    const queue = sqs.queue('ingest');
    engine({ kind: 'sqs', queueUrl: queue.url, useBase64: false }).handle(publish('{"occupied":true}'));
    const [message] = queue.receive();
    expect(JSON.parse(message?.body ?? '')).toEqual({
      payload: Buffer.from('{"occupied":true}').toString('base64'),
      compoundId: 'xiling',
      thingName: 'fl-geomag-0001',
    });
  });

  it('sends it base64-encoded with UseBase64', () => {
    const queue = sqs.queue('ingest');
    engine({ kind: 'sqs', queueUrl: queue.url, useBase64: true }).handle(publish('{"occupied":false}'));
    const [message] = queue.receive();
    expect(JSON.parse(Buffer.from(message?.body ?? '', 'base64').toString('utf8'))).toMatchObject({
      compoundId: 'xiling',
    });
  });

  it('hands a message SQS refuses to the error action', async () => {
    const queue = sqs.queue('small');
    engine({ kind: 'sqs', queueUrl: queue.url, useBase64: false }).handle(publish('x'.repeat(2_000)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.size).toBe(0);
    expect(errors).toEqual([
      {
        logGroupName: '/civic/rule-errors',
        failure: expect.objectContaining({
          ruleName: 'CivicCellIngestRule',
          topic: 'dt/civic/xiling/fl-geomag-0001/occupancy',
          clientId: 'fl-geomag-0001',
          failures: [
            {
              failedAction: 'sqs',
              failedResource: queue.url,
              errorMessage: expect.stringContaining('Message must be shorter than 1024 bytes'),
            },
          ],
        }),
      },
    ]);
  });

  it('refuses to start with an action into a queue that does not exist', () => {
    expect(() =>
      engine({ kind: 'sqs', queueUrl: 'http://127.0.0.1:8085/000000000000/missing', useBase64: false }),
    ).toThrow(expect.objectContaining({ type: 'QueueDoesNotExist' }));
  });
});
