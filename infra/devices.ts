import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Effect, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnPolicy } from 'aws-cdk-lib/aws-iot';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  type AwsSdkCall,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/**
 * Where the SDK's IoTDataPlaneClient sends Publish when given no `endpoint`: AWS_ENDPOINT_URL_ plus its
 * service id ("IoT Data Plane") in capitals, spaces as underscores (@smithy/core getEndpointUrlConfig).
 */
export const DATA_ENDPOINT_VARIABLE = 'AWS_ENDPOINT_URL_IOT_DATA_PLANE';

/**
 * What every device certificate is attached to: a thing may connect only as itself, publish only under
 * its own `dt/civic/<compound>/<thing>/…` and subscribe only to its own `cmd/civic/<compound>/<thing>/…`.
 * Also the log group and role the rules' error actions write to, and the account's data endpoint.
 */
export class Devices extends Construct {
  readonly policy: CfnPolicy;
  readonly ruleErrors: LogGroup;
  readonly ruleErrorRole: Role;
  /**
   * `https://<account>-ats.iot.<region>.amazonaws.com`: the account's `iot:Data-ATS` endpoint, which the
   * IoT data plane has no region-wide default for and CloudFormation no attribute for, so a custom
   * resource asks DescribeEndpoint at deployment; functions get it at no cost at cold start.
   */
  readonly dataEndpointUrl: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const { partition, region, account } = Stack.of(this);
    const arn = (resource: string) => `arn:${partition}:iot:${region}:${account}:${resource}`;
    const thing = '${iot:Connection.Thing.ThingName}';

    this.policy = new CfnPolicy(this, 'DevicePolicy', {
      policyDocument: new PolicyDocument({
        statements: [
          new PolicyStatement({
            effect: Effect.ALLOW,
            actions: ['iot:Connect'],
            resources: [arn(`client/${thing}`)],
            conditions: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } },
          }),
          new PolicyStatement({
            effect: Effect.ALLOW,
            actions: ['iot:Publish'],
            resources: [arn(`topic/dt/civic/*/${thing}/*`)],
          }),
          new PolicyStatement({
            effect: Effect.ALLOW,
            actions: ['iot:Subscribe'],
            resources: [arn(`topicfilter/cmd/civic/*/${thing}/*`)],
          }),
          new PolicyStatement({
            effect: Effect.ALLOW,
            actions: ['iot:Receive'],
            resources: [arn(`topic/cmd/civic/*/${thing}/*`)],
          }),
        ],
      }),
    });

    this.ruleErrors = new LogGroup(this, 'RuleErrors', { retention: RetentionDays.THREE_MONTHS });
    this.ruleErrorRole = new Role(this, 'RuleErrorRole', {
      assumedBy: new ServicePrincipal('iot.amazonaws.com'),
    });
    this.ruleErrors.grantWrite(this.ruleErrorRole);

    // The local cloud resolves exactly this call to its own data plane (local/template.ts).
    const describe: AwsSdkCall = {
      service: 'Iot',
      action: 'DescribeEndpoint',
      parameters: { endpointType: 'iot:Data-ATS' },
      // The endpoint is the account's, the same for every call: one resource, never replaced.
      physicalResourceId: PhysicalResourceId.of('iot-data-ats-endpoint'),
      outputPaths: ['endpointAddress'],
    };
    const dataEndpoint = new AwsCustomResource(this, 'DataEndpoint', {
      onUpdate: describe,
      // DescribeEndpoint accepts no resource narrower than '*'.
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
      memorySize: 256,
      logGroup: new LogGroup(this, 'DataEndpointLogs', {
        retention: RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    // The function behind every AwsCustomResource of the stack: one, shared, at the stack's root.
    const provider = Stack.of(this).node.findChild(
      `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`,
    );
    Validations.of(provider).acknowledge(
      {
        id: 'Serverless::Serverless-LambdaDLQ',
        reason:
          'CloudFormation invokes it during a deployment, which fails and rolls back when it does: the deployment is the record.',
      },
      {
        id: 'Serverless::Serverless-LambdaTracing',
        reason: 'One DescribeEndpoint call per deployment, in a function cdk-lib provides: nothing to trace.',
      },
    );
    this.dataEndpointUrl = `https://${dataEndpoint.getResponseField('endpointAddress')}`;
  }
}
