import { Stack } from 'aws-cdk-lib';
import { Effect, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnPolicy } from 'aws-cdk-lib/aws-iot';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * What every device certificate is attached to: a thing may connect only as itself, publish only under
 * its own `dt/civic/<compound>/<thing>/…` and subscribe only to its own `cmd/civic/<compound>/<thing>/…`.
 * Also the log group and role the rules' error actions write to.
 */
export class Devices extends Construct {
  readonly policy: CfnPolicy;
  readonly ruleErrors: LogGroup;
  readonly ruleErrorRole: Role;

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
  }
}
