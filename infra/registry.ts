import { Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { deviceRoutes, registryRoutes, rosterRoutes } from '../functions/registry/routes.js';
import type { Api } from './api.js';
import type { FunctionDefaults } from './civic-function.js';
import type { Devices } from './devices.js';
import { acknowledgeWildcards } from './nag.js';

/** Feature `registry`: sub-districts, compounds, areas, units, owners, staff, committees, zones, devices. */
export class Registry extends Construct {
  constructor(
    scope: Construct,
    id: string,
    props: { api: Api; devices: Devices; defaults: FunctionDefaults },
  ) {
    super(scope, id);
    const { api, defaults, devices } = props;
    api.addCatalogue(this, registryRoutes, defaults);
    api.addCatalogue(this, rosterRoutes, defaults);

    const { partition, region, account } = Stack.of(this);
    const iotArn = (resource: string) => `arn:${partition}:iot:${region}:${account}:${resource}`;
    for (const fn of api.addCatalogue(this, deviceRoutes, defaults).values()) {
      fn.addEnvironment('DEVICE_POLICY_NAME', devices.policy.ref);
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: [
            'iot:CreateThing',
            'iot:DescribeThing',
            'iot:DeleteThing',
            'iot:AttachThingPrincipal',
            'iot:DetachThingPrincipal',
            'iot:ListThingPrincipals',
          ],
          resources: [iotArn('thing/*')],
        }),
      );
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['iot:UpdateCertificate', 'iot:AttachPolicy'],
          resources: [iotArn('cert/*'), devices.policy.attrArn],
        }),
      );
      // CreateKeysAndCertificate and DescribeEndpoint accept no resource narrower than '*'.
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['iot:CreateKeysAndCertificate', 'iot:DescribeEndpoint'],
          resources: ['*'],
        }),
      );
      acknowledgeWildcards(
        fn,
        [iotArn('thing/*'), iotArn('cert/*')],
        'Things and certificates are created at run time under names and ids not known at deploy time; the functions check tenancy before touching one.',
      );
    }
  }
}
