import { ArnFormat, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnTopicRule } from 'aws-cdk-lib/aws-iot';
import { Construct } from 'constructs';
import { violationsRoutes } from '../functions/violations/routes.js';
import type { Api } from './api.js';
import { CivicFunction, type FunctionDefaults } from './civic-function.js';
import type { Devices } from './devices.js';

/**
 * The ingest rule's SQL. The payload is forwarded base64-encoded so that non-JSON payloads reach the
 * function intact and are recorded as rejected telemetry instead of failing inside the rules engine.
 */
export const INGEST_SQL =
  "SELECT encode(*, 'base64') AS payload, topic(3) AS compoundId, topic(4) AS thingName, topic(5) AS signal, " +
  "topic() AS topic, clientid() AS clientId, timestamp() AS receivedAt FROM 'dt/civic/+/+/+'";

/** Feature `violations`: device ingest, scenarios, violations, work orders, escalation. */
export class Violations extends Construct {
  readonly ingest: CivicFunction;
  readonly ingestRule: CfnTopicRule;

  constructor(
    scope: Construct,
    id: string,
    props: { api: Api; devices: Devices; defaults: FunctionDefaults },
  ) {
    super(scope, id);
    const { api, devices, defaults } = props;

    this.ingest = new CivicFunction(this, 'Ingest', {
      entry: 'violations/ingest.handler.ts',
      description: 'IoT rule target: stores telemetry, runs the scenarios, dispatches work orders',
      defaults,
      tableAccess: 'read-write',
    });
    // Named, so that the functions that schedule timers can be told its ARN without a dependency cycle.
    const timerFunctionName = `${Stack.of(this).stackName}-violation-timers`;
    const timers = new CivicFunction(this, 'Timers', {
      entry: 'violations/timers.handler.ts',
      description: 'EventBridge Scheduler target: grace periods and deadlines of the closed loop',
      defaults,
      tableAccess: 'read-write',
      functionName: timerFunctionName,
    });
    const timerFunctionArn = Stack.of(this).formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: timerFunctionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com'),
    });
    timers.grantInvoke(schedulerRole);
    this.ingestRule = new CfnTopicRule(this, 'IngestRule', {
      topicRulePayload: {
        description: 'Device telemetry, events and heartbeats to the ingest function',
        sql: INGEST_SQL,
        awsIotSqlVersion: '2016-03-23',
        ruleDisabled: false,
        actions: [{ lambda: { functionArn: this.ingest.functionArn } }],
        errorAction: {
          cloudwatchLogs: {
            logGroupName: devices.ruleErrors.logGroupName,
            roleArn: devices.ruleErrorRole.roleArn,
          },
        },
      },
    });
    this.ingest.addPermission('IotRuleInvoke', {
      principal: new ServicePrincipal('iot.amazonaws.com'),
      sourceArn: this.ingestRule.attrArn,
      sourceAccount: Stack.of(this).account,
    });

    // Construct ids come from the handler names: ListTelemetry, ListRejectedTelemetry, …
    const apiFunctions = [...api.addCatalogue(this, violationsRoutes, defaults).values()];

    // Every function of the feature shares the loop module, which reads these at cold start.
    for (const fn of [this.ingest, timers, ...apiFunctions]) {
      fn.addEnvironment('TIMER_FUNCTION_ARN', timerFunctionArn);
      fn.addEnvironment('SCHEDULER_ROLE_ARN', schedulerRole.roleArn);
    }
    const { region, account } = Stack.of(this);
    for (const fn of [this.ingest, timers]) {
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['iot:Publish'],
          resources: [`arn:aws:iot:${region}:${account}:topic/cmd/civic/*`],
        }),
      );
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'],
          resources: [`arn:aws:scheduler:${region}:${account}:schedule/default/*`],
        }),
      );
      fn.addToRolePolicy(
        new PolicyStatement({ actions: ['iam:PassRole'], resources: [schedulerRole.roleArn] }),
      );
    }
  }
}
