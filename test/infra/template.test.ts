import { readFileSync } from 'node:fs';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../../functions/shared/auth.js';
import { CATALOGUES } from '../../functions/shared/catalogues.js';
import { CivicCellStack } from '../../infra/civic-cell-stack.js';
import {
  INGEST_BATCH_SIZE,
  INGEST_MAX_CONCURRENCY,
  INGEST_MAX_RECEIVES,
  INGEST_SQL,
} from '../../infra/violations.js';

/** Bundling is skipped: these tests read the template, not the function code. */
const synthesize = () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CivicCellStack(app, 'CivicCell');
  return { app, stack, template: Template.fromStack(stack) };
};

/** The ids of the functions behind custom resources: cdk-lib's, run by CloudFormation at deployment. */
const customResourceProviders = (template: Template) =>
  new Set(
    Object.values(template.findResources('Custom::AWS')).map(
      (resource) => resource.Properties.ServiceToken['Fn::GetAtt'][0] as string,
    ),
  );

describe('CivicCell template', () => {
  let template: Template;
  let json: Record<string, any>;
  /** The stack's own functions (CivicFunction), by logical id. */
  let functions: [string, Record<string, any>][];

  beforeAll(() => {
    template = synthesize().template;
    json = template.toJSON();
    const providers = customResourceProviders(template);
    functions = Object.entries(template.findResources('AWS::Lambda::Function')).filter(
      ([id]) => !providers.has(id),
    );
  });

  it('has one table with pk/sk, gsi1, point-in-time recovery, streams and TTL', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'gsi1' })],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
  });

  it('runs every function on Node.js 24 (or newer) on arm64 with tracing, explicit memory and timeout', () => {
    expect(functions.length).toBeGreaterThanOrEqual(6);
    for (const [, fn] of functions) {
      const p = fn.Properties;
      expect(Number(/^nodejs(\d+)\.x$/.exec(p.Runtime)?.[1])).toBeGreaterThanOrEqual(22);
      expect(p.Architectures).toEqual(['arm64']);
      expect(p.TracingConfig).toEqual({ Mode: 'Active' });
      expect(p.MemorySize).toBeGreaterThan(0);
      expect(p.Timeout).toBeGreaterThan(0);
      expect(p.LoggingConfig?.LogGroup).toBeDefined();
      expect(p.Environment.Variables.TABLE_NAME).toEqual({ Ref: expect.stringMatching(/^DataTable/) });
    }
  });

  it('sends failed async invocations of every function to the failure queue', () => {
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig'));
    expect(configs).toHaveLength(functions.length);
    for (const config of configs) {
      expect(config.Properties.DestinationConfig.OnFailure.Destination).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^DataAsyncFailures/), 'Arn'],
      });
    }
  });

  it('has the ingest TopicRule with the verbatim SQL, an SQS action and an error action', () => {
    template.resourceCountIs('AWS::IoT::TopicRule', 1);
    template.hasResourceProperties('AWS::IoT::TopicRule', {
      TopicRulePayload: {
        Sql: INGEST_SQL,
        AwsIotSqlVersion: '2016-03-23',
        Actions: [
          {
            Sqs: {
              QueueUrl: { Ref: Match.stringLikeRegexp('^ViolationsIngestQueue') },
              RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ViolationsIngestRuleRole'), 'Arn'] },
              UseBase64: false,
            },
          },
        ],
        ErrorAction: {
          CloudwatchLogs: Match.objectLike({ LogGroupName: Match.anyValue(), RoleArn: Match.anyValue() }),
        },
      },
    });
    expect(INGEST_SQL).toContain("FROM 'dt/civic/+/+/+'");
  });

  it('feeds the ingest function from the queue in batches with partial failures, and keeps what keeps failing', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ViolationsIngestQueue'), 'Arn'] },
      FunctionName: { Ref: Match.stringLikeRegexp('^ViolationsIngest') },
      BatchSize: INGEST_BATCH_SIZE,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: INGEST_MAX_CONCURRENCY },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 60,
      RedrivePolicy: {
        deadLetterTargetArn: {
          'Fn::GetAtt': [Match.stringLikeRegexp('^ViolationsIngestDeadLetters'), 'Arn'],
        },
        maxReceiveCount: INGEST_MAX_RECEIVES,
      },
    });
    // Nobody but the queue invokes the ingest function: no resource policy lets IoT call it directly.
    const iotInvokes = Object.values(template.findResources('AWS::Lambda::Permission')).filter(
      (permission) => permission.Properties.Principal === 'iot.amazonaws.com',
    );
    expect(iotInvokes).toEqual([]);
  });

  it('alarms on the first message in either dead-letter queue, and on no other queue', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const queueOf = (alarm: (typeof alarms)[number]) =>
      (alarm.Properties.Dimensions as { Name: string; Value: { 'Fn::GetAtt': [string, string] } }[]).find(
        ({ Name }) => Name === 'QueueName',
      )?.Value['Fn::GetAtt'];
    expect(alarms.map(queueOf).sort()).toEqual([
      [expect.stringMatching(/^DataAsyncFailures[0-9A-F]{8}$/), 'QueueName'],
      [expect.stringMatching(/^ViolationsIngestDeadLetters[0-9A-F]{8}$/), 'QueueName'],
    ]);
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Statistic: 'Maximum',
        Period: 60,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmDescription: expect.stringMatching(/.{40,}/),
      });
    }
  });

  it('lets only the rule role send to the ingest queue, and only over TLS', () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy'));
    const senders = policies.filter(([, policy]) =>
      (policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).some(
        (statement) =>
          [statement.Action].flat().includes('sqs:SendMessage') &&
          JSON.stringify(statement.Resource).includes('ViolationsIngestQueue'),
      ),
    );
    expect(senders.map(([id]) => id)).toEqual([
      expect.stringMatching(/^ViolationsIngestRuleRoleDefaultPolicy/),
    ]);
    const queuePolicies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    expect(JSON.stringify(queuePolicies)).toContain('aws:SecureTransport');
  });

  it('gives the functions that publish to devices the account’s data endpoint, from DescribeEndpoint at deployment', () => {
    const endpoints = Object.entries(template.findResources('Custom::AWS'));
    expect(endpoints).toHaveLength(1);
    const [endpointId, endpoint] = endpoints[0] as [string, Record<string, any>];
    const call = {
      service: 'Iot',
      action: 'DescribeEndpoint',
      parameters: { endpointType: 'iot:Data-ATS' },
      outputPaths: ['endpointAddress'],
    };
    expect(JSON.parse(endpoint.Properties.Create)).toMatchObject(call);
    expect(JSON.parse(endpoint.Properties.Update)).toMatchObject(call);
    expect(endpoint.Properties.Delete).toBeUndefined();
    const url = { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [endpointId, 'endpointAddress'] }]] };

    // Exactly the functions that may publish (iot:Publish in their role) have it.
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const statementsOf = (roleId: string) =>
      policies
        .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[]);
    const publishers = functions.filter(([, fn]) =>
      statementsOf(fn.Properties.Role['Fn::GetAtt'][0]).some((statement) =>
        [statement.Action].flat().includes('iot:Publish'),
      ),
    );
    expect(publishers.map(([id]) => id).sort()).toEqual([
      expect.stringMatching(/^ViolationsIngest[0-9A-F]{8}$/),
      expect.stringMatching(/^ViolationsTimers[0-9A-F]{8}$/),
    ]);
    for (const [id, fn] of functions) {
      const variable = fn.Properties.Environment.Variables.AWS_ENDPOINT_URL_IOT_DATA_PLANE;
      if (publishers.some(([publisher]) => publisher === id)) expect(variable, id).toEqual(url);
      else expect(variable, id).toBeUndefined();
    }

    // The custom resource's own role may describe the endpoint and do nothing else.
    const [providerId] = [...customResourceProviders(template)];
    const provider = template.findResources('AWS::Lambda::Function')[providerId as string];
    const statements = statementsOf(provider?.Properties.Role['Fn::GetAtt'][0]);
    expect(statements).toEqual([{ Action: 'iot:DescribeEndpoint', Effect: 'Allow', Resource: '*' }]);
  });

  it('gives devices their own topics only, through the thing-name policy variable', () => {
    const [policy] = Object.values(template.findResources('AWS::IoT::Policy'));
    const statements = policy?.Properties.PolicyDocument.Statement as { Action: string; Resource: unknown }[];
    const resource = (action: string) =>
      JSON.stringify(statements.find((statement) => statement.Action === action)?.Resource);
    expect(resource('iot:Connect')).toContain('client/${iot:Connection.Thing.ThingName}');
    expect(resource('iot:Publish')).toContain('topic/dt/civic/*/${iot:Connection.Thing.ThingName}/*');
    expect(resource('iot:Subscribe')).toContain(
      'topicfilter/cmd/civic/*/${iot:Connection.Thing.ThingName}/*',
    );
    expect(resource('iot:Receive')).toContain('topic/cmd/civic/*/${iot:Connection.Thing.ThingName}/*');
    expect(JSON.stringify(statements)).not.toMatch(/"iot:\*"|topic\/\*"/);
  });

  it('grants table access least-privilege: read routes cannot write, the API docs and 404 routes cannot touch the table', () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy'));
    const actionsOf = (prefix: string) => {
      const entry = policies.find(([id]) => id.startsWith(prefix));
      expect(entry, `policy ${prefix}`).toBeDefined();
      const statements = (entry?.[1].Properties.PolicyDocument.Statement ?? []) as {
        Action: string | string[];
      }[];
      return statements.flatMap((statement) => statement.Action);
    };
    const reads = actionsOf('ViolationsReadRoutesServiceRoleDefaultPolicy');
    expect(reads).toContain('dynamodb:Query');
    expect(reads.filter((action) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(action))).toEqual([]);
    const writes = actionsOf('ViolationsIngestServiceRoleDefaultPolicy');
    expect(writes).toContain('dynamodb:PutItem');
    for (const publicFunction of ['ApiNotFound', 'ApiOpenApi']) {
      const policy = policies.find(([id]) => id.startsWith(`${publicFunction}ServiceRoleDefaultPolicy`));
      expect(JSON.stringify(policy ?? {})).not.toContain('dynamodb:');
    }
  });

  it('serves each catalogue route from a function granted exactly its declared table access, a few functions in all', () => {
    const resources = json.Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
    const refOf = (value: unknown) =>
      JSON.stringify(value).match(/"(?:Ref|Fn::GetAtt)":\[?"([A-Za-z0-9]+)"/)?.[1];
    const tableActionsOf = (functionId: string) => {
      const role = refOf(resources[functionId]?.Properties.Role);
      return Object.values(resources)
        .filter(
          (resource) => resource.Type === 'AWS::IAM::Policy' && refOf(resource.Properties.Roles) === role,
        )
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
        .flatMap((statement) => [statement.Action].flat())
        .filter((action) => action.startsWith('dynamodb:'));
    };
    const routes = CATALOGUES.flatMap((catalogue) => Object.values(catalogue));
    const servedBy = new Set<string>();
    for (const route of routes) {
      const apiRoute = Object.values(resources).find(
        (resource) =>
          resource.Type === 'AWS::ApiGatewayV2::Route' && resource.Properties.RouteKey === route.routeKey,
      );
      const integration = resources[refOf(apiRoute?.Properties.Target) ?? ''];
      const functionId = refOf(integration?.Properties.IntegrationUri) ?? '';
      expect(resources[functionId]?.Properties.Handler, route.routeKey).toBe('index.dispatch');
      const actions = tableActionsOf(functionId);
      const writes = actions.filter((action) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(action));
      const reads = actions.filter((action) => /^dynamodb:(Get|Query|BatchGet)/.test(action));
      expect(writes.length > 0, `${route.routeKey} writes`).toBe(route.tableAccess.includes('write'));
      expect(reads.length > 0, `${route.routeKey} reads`).toBe(route.tableAccess.includes('read'));
      servedBy.add(functionId);
    }
    // A function per route would put the stack past CloudFormation's 500 resources.
    expect(servedBy.size).toBeLessThan(routes.length / 3);
    expect(Object.keys(resources).length).toBeLessThan(500);
  });

  it('seals list cursors with a generated secret every route function gets by dynamic reference', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
    const routeFunctions = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) => fn.Properties.Handler === 'index.dispatch',
    );
    expect(routeFunctions.length).toBeGreaterThan(0);
    for (const fn of routeFunctions) {
      expect(fn.Properties.Environment.Variables.CURSOR_KEY).toEqual({
        'Fn::Join': [
          '',
          [
            '{{resolve:secretsmanager:',
            { Ref: expect.stringMatching(/^DataCursorKey/) },
            ':SecretString:::}}',
          ],
        ],
      });
    }
  });

  it('puts every route behind the Cognito JWT authorizer except the $default 404 route and the OpenAPI document', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    const keys = routes.map((route) => route.Properties.RouteKey).sort();
    const publicRoutes = ['$default', 'GET /openapi.json'];
    expect(keys).toEqual(
      [
        ...publicRoutes,
        ...CATALOGUES.flatMap((catalogue) => Object.values(catalogue).map((route) => route.routeKey)),
      ].sort(),
    );
    for (const route of routes) {
      if (publicRoutes.includes(route.Properties.RouteKey))
        expect(route.Properties.AuthorizationType).toBe('NONE');
      else expect(route.Properties.AuthorizationType).toBe('JWT');
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: {
        Issuer: {
          'Fn::Join': [
            '',
            [
              'https://cognito-idp.',
              { Ref: 'AWS::Region' },
              '.amazonaws.com/',
              { Ref: Match.stringLikeRegexp('^IdentityUsers') },
            ],
          ],
        },
        Audience: [{ Ref: Match.stringLikeRegexp('^IdentityUsersApiClient') }],
      },
    });
  });

  it('has one user pool group per role', () => {
    const groups = Object.values(template.findResources('AWS::Cognito::UserPoolGroup')).map(
      (group) => group.Properties.GroupName,
    );
    expect(groups.sort()).toEqual([...ROLES].sort());
  });

  it('logs API access as JSON', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    expect(() => JSON.parse(stage?.Properties.AccessLogSettings.Format)).not.toThrow();
    expect(json.Resources).toBeDefined();
  });
});

describe('cdk-nag', () => {
  // With a concrete account and region, as `cdk deploy` has, cdk-nag names findings after resolved ARNs.
  it.each([
    ['environment-agnostic', undefined],
    ['deployed to Shanghai-adjacent ap-east-1', { account: '111122223333', region: 'ap-east-1' }],
    ['deployed to the China partition (cn-north-1)', { account: '111122223333', region: 'cn-north-1' }],
  ])(
    'reports no unacknowledged AwsSolutions or Serverless errors, %s (synth throws on any)',
    (_name, env) => {
      // Not synthesize(): Template.fromStack synthesizes, and a second synth() would not validate again.
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      new CivicCellStack(app, 'CivicCell', env ? { env } : {});
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
      expect(() => app.synth()).not.toThrow();
    },
  );

  it('does fail synthesis on an unacknowledged finding, so the check above can fail', () => {
    const app = new App();
    new Queue(new Stack(app, 'Probe'), 'PlainQueue');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS3/);
  });

  it('gives every acknowledgement a reason', () => {
    const sources = [
      'civic-cell-stack.ts',
      'civic-function.ts',
      'data.ts',
      'devices.ts',
      'timers.ts',
      'identity.ts',
      'api.ts',
      'violations.ts',
      'registry.ts',
      'meetings.ts',
    ].map((file) => readFileSync(new URL(`../../infra/${file}`, import.meta.url), 'utf8'));
    const acknowledgements =
      sources.join('\n').match(/id: '[A-Za-z]+::[^']+',\s*reason:\s*(['"`])[^\n]{20,}?\1/g) ?? [];
    const ids = sources.join('\n').match(/id: '[A-Za-z]+::[^']+'/g) ?? [];
    expect(ids.length).toBeGreaterThan(0);
    expect(acknowledgements).toHaveLength(ids.length);
  });
});
