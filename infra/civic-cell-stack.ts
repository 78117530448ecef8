import { CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Api } from './api.js';
import { Data } from './data.js';
import { Devices } from './devices.js';
import { Evaluation } from './evaluation.js';
import { Identity } from './identity.js';
import { Meetings } from './meetings.js';
import { Merger } from './merger.js';
import { Registry } from './registry.js';
import { Resident } from './resident.js';
import { Violations } from './violations.js';

/** civic-cell: one stack composed of the platform constructs and one construct per feature. */
export class CivicCellStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const data = new Data(this, 'Data');
    const identity = new Identity(this, 'Identity');
    const defaults = { table: data.table, failureQueue: data.failureQueue };
    const api = new Api(this, 'Api', { identity, defaults, cursorKey: data.cursorKey });
    const devices = new Devices(this, 'Devices');

    new Registry(this, 'Registry', { api, devices, defaults });
    const violations = new Violations(this, 'Violations', { api, devices, defaults });
    new Meetings(this, 'Meetings', { api, defaults });
    new Merger(this, 'Merger', { api, defaults });
    new Evaluation(this, 'Evaluation', { api, defaults });
    new Resident(this, 'Resident', { api, defaults, violations });

    new CfnOutput(this, 'ApiUrl', { value: api.httpApi.apiEndpoint });
    new CfnOutput(this, 'UserPoolId', { value: identity.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: identity.client.userPoolClientId });
    new CfnOutput(this, 'TableName', { value: data.table.tableName });
    new CfnOutput(this, 'DevicePolicyName', { value: devices.policy.ref });

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'Lambda execution roles use AWSLambdaBasicExecutionRole, the AWS-managed minimum for writing logs.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only actions that accept no narrower resource: X-Ray PutTraceSegments/PutTelemetryRecords, IoT CreateKeysAndCertificate/DescribeEndpoint.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::<DataTableFDBAD0F2.Arn>/index/*]',
        reason:
          "Queries of the table's own global secondary indexes; the wildcard cannot reach another table.",
      },
    );
  }
}
