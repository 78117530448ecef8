import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnTopicRule } from 'aws-cdk-lib/aws-iot';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { violationsRoutes } from '../functions/violations/routes.js';
import type { Api } from './api.js';
import { CivicFunction, type FunctionDefaults } from './civic-function.js';
import { deadLetterAlarm } from './data.js';
import { DATA_ENDPOINT_VARIABLE, type Devices } from './devices.js';
import { acknowledgeWildcards } from './nag.js';
import { featureTimers } from './timers.js';

/**
 * The ingest rule's SQL. The payload is forwarded base64-encoded so that non-JSON payloads reach the
 * function intact and are recorded as rejected telemetry instead of failing inside the rules engine.
 */
export const INGEST_SQL =
  "SELECT encode(*, 'base64') AS payload, topic(3) AS compoundId, topic(4) AS thingName, topic(5) AS signal, " +
  "topic() AS topic, clientid() AS clientId, timestamp() AS receivedAt FROM 'dt/civic/+/+/+'";

/** How many device messages the ingest function takes at once (SQS allows up to 10 without a window). */
export const INGEST_BATCH_SIZE = 10;
/** Receives before a message that keeps failing is moved to the dead-letter queue. */
export const INGEST_MAX_RECEIVES = 5;
const INGEST_TIMEOUT = Duration.seconds(10);
/**
 * At most three batches at once: under load the batches fill up (ten messages for one BatchWriteItem
 * and one BatchGetItem) instead of many one-message batches, and bursts cannot swamp the table or the
 * data plane. Measured locally at 200 messages/s with parks spread evenly: two gave a p99 of 86–89 ms
 * against 88–105 ms with three (both once DynamoDB Local's JIT compiles at low priority), but saturated
 * throughput fell to 0.36–0.46× raw PutItem, against 0.55–0.67× with three; four was slower (the
 * machine is CPU-bound). Two is also AWS's minimum for MaximumConcurrency.
 */
export const INGEST_MAX_CONCURRENCY = 3;
/** How often absence scenarios are checked: the shortest absence lasts an hour. */
export const ABSENCE_SWEEP_EVERY = Duration.minutes(5);

/**
 * Feature `violations`: device ingest, scenarios, violations, work orders, escalation.
 *
 * Device messages go rule → SQS → ingest function in batches: one BatchWriteItem stores a batch's
 * telemetry and one BatchGetItem reads its conditions, so the loop's cost per message falls with the
 * load; a message that keeps failing ends in a dead-letter queue instead of being lost. SQS does not
 * keep order, and does not need to: the engine orders each thing's messages by its own time and
 * sequence, and every write is conditional on the version it read.
 */
export class Violations extends Construct {
  readonly ingest: CivicFunction;
  /** The target of the loop's deadline timers (and the absence sweep). */
  readonly timers: CivicFunction;
  readonly ingestRule: CfnTopicRule;
  readonly ingestQueue: Queue;
  readonly ingestDeadLetters: Queue;
  readonly ingestDeadLettersAlarm: Alarm;

  constructor(
    scope: Construct,
    id: string,
    props: { api: Api; devices: Devices; defaults: FunctionDefaults },
  ) {
    super(scope, id);
    const { api, devices, defaults } = props;

    this.ingest = new CivicFunction(this, 'Ingest', {
      entry: 'violations/ingest.handler.ts',
      description: 'Ingest queue consumer: stores telemetry, runs the scenarios, dispatches work orders',
      defaults,
      timeout: INGEST_TIMEOUT,
      tableAccess: 'read-write',
      environment: { INGEST_BATCH_SIZE: String(INGEST_BATCH_SIZE) },
    });
    const timers = featureTimers(this, {
      name: 'violation-timers',
      entry: 'violations/timers.handler.ts',
      description: 'EventBridge Scheduler target: grace periods and deadlines of the closed loop',
      defaults,
      tableAccess: 'read-write',
    });
    this.timers = timers.target;
    // Absence scenarios (a device gone silent, no water use) are found by a sweep, not by a message.
    const sweep = new Rule(this, 'AbsenceSweep', {
      description: 'Checks absence scenarios: devices silent or meters unused past their duration',
      schedule: Schedule.rate(ABSENCE_SWEEP_EVERY),
      targets: [
        new LambdaFunction(timers.target, { event: RuleTargetInput.fromObject({ kind: 'absence-sweep' }) }),
      ],
    });
    Validations.of(sweep).acknowledge({
      id: 'Serverless::Serverless-EventBusDLQ',
      reason:
        'A sweep that cannot be delivered is made up by the next one minutes later: it carries no data, only the time.',
    });
    this.ingestDeadLetters = new Queue(this, 'IngestDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.ingestDeadLetters).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter queue of the ingest queue.',
      },
      {
        id: 'Serverless::Serverless-SQSRedrivePolicy',
        reason: 'This queue is itself the dead-letter queue; operators redrive from it by hand.',
      },
    );
    this.ingestDeadLettersAlarm = deadLetterAlarm(
      this,
      'IngestDeadLettersAlarm',
      this.ingestDeadLetters,
      `Device messages failed ${INGEST_MAX_RECEIVES} receives and wait in the ingest dead-letter queue: fix the cause, then redrive them.`,
    );
    this.ingestQueue = new Queue(this, 'IngestQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS's advice for a Lambda event source: at least six times the function's timeout.
      visibilityTimeout: Duration.seconds(6 * INGEST_TIMEOUT.toSeconds()),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.ingestDeadLetters, maxReceiveCount: INGEST_MAX_RECEIVES },
    });
    this.ingest.addEventSource(
      new SqsEventSource(this.ingestQueue, {
        batchSize: INGEST_BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: INGEST_MAX_CONCURRENCY,
      }),
    );
    Validations.of(this.ingest).acknowledge({
      id: 'Serverless::Serverless-LambdaEventSourceMappingDestination',
      reason:
        "SQS event sources take no on-failure destination: the ingest queue's redrive policy moves a message that keeps failing to its dead-letter queue.",
    });
    const ruleRole = new Role(this, 'IngestRuleRole', {
      assumedBy: new ServicePrincipal('iot.amazonaws.com'),
    });
    this.ingestQueue.grantSendMessages(ruleRole);
    this.ingestRule = new CfnTopicRule(this, 'IngestRule', {
      topicRulePayload: {
        description: 'Device telemetry, events and heartbeats to the ingest queue',
        sql: INGEST_SQL,
        awsIotSqlVersion: '2016-03-23',
        ruleDisabled: false,
        actions: [
          { sqs: { queueUrl: this.ingestQueue.queueUrl, roleArn: ruleRole.roleArn, useBase64: false } },
        ],
        errorAction: {
          cloudwatchLogs: {
            logGroupName: devices.ruleErrors.logGroupName,
            roleArn: devices.ruleErrorRole.roleArn,
          },
        },
      },
    });

    // One function per table access: ReadRoutes, ReadWriteRoutes.
    const apiFunctions = [...api.addCatalogue(this, violationsRoutes, defaults).values()];

    // Every function of the feature shares the loop module, which reads the timer target at cold start.
    for (const fn of [this.ingest, timers.target, ...apiFunctions]) timers.configure(fn);
    const { partition, region, account } = Stack.of(this);
    const commandTopics = `arn:${partition}:iot:${region}:${account}:topic/cmd/civic/*`;
    for (const fn of [this.ingest, timers.target]) {
      fn.addEnvironment(DATA_ENDPOINT_VARIABLE, devices.dataEndpointUrl);
      fn.addToRolePolicy(new PolicyStatement({ actions: ['iot:Publish'], resources: [commandTopics] }));
      acknowledgeWildcards(
        fn,
        [commandTopics],
        'Work orders go to handhelds whose thing names are only known at run time: publish is limited to cmd/civic/*.',
      );
      timers.grantScheduling(fn, 'Deadlines are schedules named at run time, in the default group only.');
    }
  }
}
