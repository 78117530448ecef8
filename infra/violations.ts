import { Stack } from 'aws-cdk-lib';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
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
      description: 'IoT rule target: validates and stores device telemetry, records rejected messages',
      defaults,
      tableAccess: 'write',
    });
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

    // Construct ids come from the handler names: ListTelemetry, ListRejectedTelemetry.
    api.addCatalogue(this, violationsRoutes, defaults);
  }
}
