import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { INGEST_BATCH_SIZE, INGEST_MAX_CONCURRENCY } from '../infra/violations.js';
import {
  type CloudFormationTemplate,
  type LocalStack,
  loadTemplate,
  Resolver,
  readStack,
  TemplateError,
} from './template.js';

const CDK_OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cdk.out');
const endpoints = { apiUrl: 'http://127.0.0.1:3000', sqsUrl: 'http://127.0.0.1:8085' };

describe('template: the synthesized stack’s queues, mapping and ingest rule', () => {
  const template = loadTemplate(CDK_OUT, 'CivicCell');
  const stack = readStack(template, { stackName: 'CivicCell', cdkOut: CDK_OUT, endpoints });
  const resolver = new Resolver(template, 'CivicCell', endpoints);
  const queue = (prefix: string) => {
    const found = stack.queues.find((spec) => spec.logicalId.startsWith(prefix));
    if (found === undefined) throw new Error(`no queue ${prefix}`);
    return found;
  };

  it('reads the ingest queue with its redrive policy into the dead-letter queue', () => {
    const ingest = queue('ViolationsIngestQueue');
    const deadLetters = queue('ViolationsIngestDeadLetters');
    expect(ingest).toMatchObject({
      fifo: false,
      visibilityTimeoutSeconds: 60,
      messageRetentionSeconds: 345_600,
      delaySeconds: 0,
      deadLetter: { targetArn: deadLetters.arn, maxReceiveCount: 5 },
    });
    expect(deadLetters).toMatchObject({ messageRetentionSeconds: 1_209_600, deadLetter: undefined });
    // The names, URLs and ARNs are what Ref and GetAtt give everywhere else in the template.
    for (const spec of stack.queues) {
      expect(resolver.resolve({ Ref: spec.logicalId })).toBe(spec.url);
      expect(resolver.resolve({ 'Fn::GetAtt': [spec.logicalId, 'Arn'] })).toBe(spec.arn);
      expect(resolver.resolve({ 'Fn::GetAtt': [spec.logicalId, 'QueueName'] })).toBe(spec.queueName);
      expect(spec.url).toBe(`http://127.0.0.1:8085/000000000000/${spec.queueName}`);
    }
  });

  it('reads the ingest function’s event source mapping', () => {
    const ingest = stack.functions.find((fn) => fn.logicalId.startsWith('ViolationsIngest'));
    expect(stack.eventSourceMappings).toEqual([
      {
        logicalId: expect.stringMatching(/^ViolationsIngestSqsEventSource/),
        functionName: ingest?.functionName,
        eventSourceArn: queue('ViolationsIngestQueue').arn,
        batchSize: INGEST_BATCH_SIZE,
        maximumBatchingWindowSeconds: 0,
        reportBatchItemFailures: true,
        enabled: true,
        maximumConcurrency: INGEST_MAX_CONCURRENCY,
      },
    ]);
  });

  it('reads the ingest rule’s SQS action into the ingest queue', () => {
    const rule = stack.topicRules.find((spec) => spec.logicalId.startsWith('ViolationsIngestRule'));
    expect(rule?.actions).toEqual([
      { kind: 'sqs', queueUrl: queue('ViolationsIngestQueue').url, useBase64: false },
    ]);
  });

  it('sends every function’s failed async events to the async-failures queue', () => {
    const failures = queue('DataAsyncFailures');
    expect(new Set(stack.functions.map((fn) => fn.onFailureDestination))).toEqual(new Set([failures.arn]));
  });
});

describe('template: SQS resources the local cloud runs or refuses', () => {
  const cdkOut = mkdtempSync(path.join(tmpdir(), 'civic-template-'));
  writeFileSync(path.join(cdkOut, 'index.mjs'), 'export const handler = async () => null;');
  afterAll(() => rmSync(cdkOut, { recursive: true, force: true }));

  const fn = (timeout = 10) => ({
    Type: 'AWS::Lambda::Function',
    Properties: { Handler: 'index.handler', Timeout: timeout },
    Metadata: { 'aws:asset:path': '.' },
  });
  const mapping = (properties: Record<string, unknown> = {}) => ({
    Type: 'AWS::Lambda::EventSourceMapping',
    Properties: {
      EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
      FunctionName: { Ref: 'Consumer' },
      ...properties,
    },
  });
  const read = (resources: CloudFormationTemplate['Resources']): LocalStack =>
    readStack({ Resources: resources }, { stackName: 'Test', cdkOut, endpoints: { apiUrl: 'http://x' } });

  it('applies CloudFormation’s defaults', () => {
    const stack = read({ Queue: { Type: 'AWS::SQS::Queue' }, Consumer: fn(), Mapping: mapping() });
    expect(stack.queues[0]).toMatchObject({
      queueName: expect.stringMatching(/^Test-Queue-/),
      url: expect.stringMatching(/^http:\/\/sqs\.us-east-1\.localhost\/000000000000\/Test-Queue-/),
      visibilityTimeoutSeconds: 30,
      messageRetentionSeconds: 345_600,
      delaySeconds: 0,
      receiveMessageWaitTimeSeconds: 0,
      maximumMessageSize: 1_048_576,
    });
    expect(stack.eventSourceMappings[0]).toMatchObject({
      batchSize: 10,
      maximumBatchingWindowSeconds: 0,
      reportBatchItemFailures: false,
      enabled: true,
      maximumConcurrency: undefined,
    });
  });

  it('reads explicit settings, a redrive policy given as a string, and scaling', () => {
    const stack = read({
      Queue: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          QueueName: 'work',
          VisibilityTimeout: '120',
          DelaySeconds: 5,
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:dead',
            maxReceiveCount: '3',
          }),
        },
      },
      Dead: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'dead' } },
      Consumer: fn(),
      Mapping: mapping({
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 2,
        Enabled: false,
        ScalingConfig: { MaximumConcurrency: 3 },
      }),
    });
    expect(stack.queues[0]).toMatchObject({
      queueName: 'work',
      visibilityTimeoutSeconds: 120,
      delaySeconds: 5,
      deadLetter: { targetArn: 'arn:aws:sqs:us-east-1:000000000000:dead', maxReceiveCount: 3 },
    });
    expect(stack.eventSourceMappings[0]).toMatchObject({
      batchSize: 100,
      maximumBatchingWindowSeconds: 2,
      enabled: false,
      maximumConcurrency: 3,
    });
  });

  it.each([
    ['a FIFO queue', { Queue: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } } }, /FIFO/],
    [
      'a dead-letter queue from elsewhere',
      {
        Queue: {
          Type: 'AWS::SQS::Queue',
          Properties: {
            RedrivePolicy: {
              deadLetterTargetArn: 'arn:aws:sqs:us-east-1:111111111111:x',
              maxReceiveCount: 2,
            },
          },
        },
      },
      /not a queue of this stack/,
    ],
    [
      'an event source that is not a queue of this stack',
      {
        Table: {
          Type: 'AWS::DynamoDB::Table',
          Properties: { StreamSpecification: { StreamViewType: 'NEW_IMAGE' } },
        },
        Consumer: fn(),
        Mapping: mapping({
          EventSourceArn: { 'Fn::GetAtt': ['Table', 'StreamArn'] },
          StartingPosition: 'LATEST',
        }),
      },
      /not an SQS queue of this stack/,
    ],
    [
      'a function that may outlive the visibility timeout',
      { Queue: { Type: 'AWS::SQS::Queue' }, Consumer: fn(31), Mapping: mapping() },
      /visibility timeout \(30 s\) is less than the function timeout \(31 s\)/,
    ],
    [
      'a batch over 10 without a batching window',
      { Queue: { Type: 'AWS::SQS::Queue' }, Consumer: fn(), Mapping: mapping({ BatchSize: 11 }) },
      /MaximumBatchingWindowInSeconds/,
    ],
    [
      'event filtering',
      {
        Queue: { Type: 'AWS::SQS::Queue' },
        Consumer: fn(),
        Mapping: mapping({ FilterCriteria: { Filters: [{ Pattern: '{"body":{"kind":["x"]}}' }] } }),
      },
      /FilterCriteria/,
    ],
    [
      'a rule sending to a queue of another stack',
      {
        Rule: {
          Type: 'AWS::IoT::TopicRule',
          Properties: {
            TopicRulePayload: {
              Sql: "SELECT * FROM 'dt/#'",
              AwsIotSqlVersion: '2016-03-23',
              Actions: [
                { Sqs: { QueueUrl: 'https://sqs.us-east-1.amazonaws.com/111111111111/x', RoleArn: 'r' } },
              ],
            },
          },
        },
      },
      /SQS action into .* not a queue of this stack/,
    ],
  ] as [string, CloudFormationTemplate['Resources'], RegExp][])('refuses %s', (_, resources, message) => {
    expect(() => read(resources)).toThrow(TemplateError);
    expect(() => read(resources)).toThrow(message);
  });
});

describe('template: the IoT data endpoint custom resource', () => {
  const iotData = { endpointAddress: '127.0.0.1', url: 'http://127.0.0.1:8081' };

  it('gives the synthesized stack’s publishing functions the local data plane, and runs no provider function', () => {
    const template = loadTemplate(CDK_OUT, 'CivicCell');
    const stack = readStack(template, {
      stackName: 'CivicCell',
      cdkOut: CDK_OUT,
      endpoints: { ...endpoints, iotData },
    });
    const publishers = stack.functions.filter((fn) => 'AWS_ENDPOINT_URL_IOT_DATA_PLANE' in fn.environment);
    expect(publishers.map((fn) => fn.logicalId).sort()).toEqual([
      expect.stringMatching(/^ViolationsIngest/),
      expect.stringMatching(/^ViolationsTimers/),
    ]);
    for (const fn of publishers) expect(fn.environment.AWS_ENDPOINT_URL_IOT_DATA_PLANE).toBe(iotData.url);
    const providers = Object.values(template.Resources)
      .filter((resource) => resource.Type === 'Custom::AWS')
      .map((resource) => JSON.stringify(resource.Properties?.ServiceToken));
    expect(providers).toHaveLength(1);
    expect(
      stack.functions.map((fn) => JSON.stringify({ 'Fn::GetAtt': [fn.logicalId, 'Arn'] })),
    ).not.toContain(providers[0]);
  });

  const cdkOut = mkdtempSync(path.join(tmpdir(), 'civic-template-'));
  writeFileSync(path.join(cdkOut, 'index.mjs'), 'export const handler = async () => null;');
  afterAll(() => rmSync(cdkOut, { recursive: true, force: true }));
  const call = (parameters: unknown, action = 'DescribeEndpoint') =>
    JSON.stringify({ service: 'Iot', action, parameters, physicalResourceId: { id: 'x' } });
  const stackWith = (custom: Record<string, unknown>, value?: unknown) => ({
    Provider: {
      Type: 'AWS::Lambda::Function',
      Properties: { Handler: 'index.handler' },
      Metadata: { 'aws:asset:path': '.' },
    },
    Endpoint: {
      ...custom,
      Properties: { ServiceToken: { 'Fn::GetAtt': ['Provider', 'Arn'] }, ...(custom.Properties ?? {}) },
    },
    Publisher: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Handler: 'index.handler',
        Environment: {
          Variables: {
            AWS_ENDPOINT_URL_IOT_DATA_PLANE: value ?? {
              'Fn::Join': ['', ['https://', { 'Fn::GetAtt': ['Endpoint', 'endpointAddress'] }]],
            },
          },
        },
      },
      Metadata: { 'aws:asset:path': '.' },
    },
  });
  const read = (resources: Record<string, unknown>) =>
    readStack({ Resources: resources } as CloudFormationTemplate, {
      stackName: 'Test',
      cdkOut,
      endpoints: { apiUrl: 'http://x', iotData },
    });

  it.each([
    ['Fn::Join', undefined],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
    ['Fn::Sub', { 'Fn::Sub': 'https://${Endpoint.endpointAddress}' }],
  ])('resolves https:// and the address (%s) to the data plane’s URL', (_, value) => {
    const stack = read(
      stackWith(
        { Type: 'Custom::AWS', Properties: { Create: call({ endpointType: 'iot:Data-ATS' }) } },
        value,
      ),
    );
    expect(stack.functions.map((fn) => fn.logicalId)).toEqual(['Publisher']);
    expect(stack.functions[0]?.environment.AWS_ENDPOINT_URL_IOT_DATA_PLANE).toBe(iotData.url);
  });

  it('resolves the address alone to the broker’s host, as DescribeEndpoint answers locally', () => {
    const stack = read(
      stackWith(
        { Type: 'Custom::AWS', Properties: { Update: call({ endpointType: 'iot:Data-ATS' }) } },
        { 'Fn::GetAtt': ['Endpoint', 'endpointAddress'] },
      ),
    );
    expect(stack.functions[0]?.environment.AWS_ENDPOINT_URL_IOT_DATA_PLANE).toBe('127.0.0.1');
  });

  it.each([
    [
      'another endpoint type',
      { Type: 'Custom::AWS', Properties: { Create: call({ endpointType: 'iot:Jobs' }) } },
    ],
    ['another call', { Type: 'Custom::AWS', Properties: { Create: call({}, 'ListThings') } }],
    [
      'a delete call',
      {
        Type: 'Custom::AWS',
        Properties: {
          Create: call({ endpointType: 'iot:Data-ATS' }),
          Delete: call({ endpointType: 'iot:Data-ATS' }),
        },
      },
    ],
    ['another custom resource type', { Type: 'Custom::LogRetention', Properties: {} }],
    [
      'a plain CloudFormation custom resource',
      { Type: 'AWS::CloudFormation::CustomResource', Properties: {} },
    ],
  ])('refuses %s', (_, custom) => {
    expect(() => read(stackWith(custom))).toThrow(TemplateError);
    expect(() => read(stackWith(custom))).toThrow(/custom resource .* is not supported locally/);
  });
});
