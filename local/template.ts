/**
 * Reads the synthesized CloudFormation template and resolves what the local cloud needs from it:
 * tables, functions (with their bundled assets and environment), HTTP API routes and authorizers, IoT
 * topic rules, state machines, schedules, SQS queues and Lambda event source mappings. Intrinsic functions are resolved to local physical names,
 * so the same template that deploys runs here unchanged. Anything the local cloud cannot honour fails
 * loudly at start, naming the resource.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

export class TemplateError extends Error {
  override name = 'TemplateError';
}

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  Condition?: string;
}

export interface CloudFormationTemplate {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown }>;
  Conditions?: Record<string, unknown>;
}

export interface LocalEndpoints {
  /** e.g. http://127.0.0.1:3000 — what GetAtt HttpApi.ApiEndpoint resolves to. */
  apiUrl: string;
  /**
   * e.g. http://127.0.0.1:8085 — the local SQS endpoint queue URLs point at. The SQS SDK sends each request
   * to its QueueUrl's host (unless the client has an explicit `endpoint`), so a handler given a queue URL
   * must be given one that reaches the local SQS. Without it, URLs use the unreachable sqs.<region>.localhost.
   */
  sqsUrl?: string;
  /**
   * The IoT data endpoint: what DescribeEndpoint answers for `iot:Data-ATS` here (the broker's host), and
   * the URL of the local data plane, which `https://<that address>` stands for in the template. Without
   * it, the data plane's URL is the unreachable http://iot-data.<region>.localhost.
   */
  iotData?: { endpointAddress: string; url: string };
}

export interface TableSpec {
  logicalId: string;
  tableName: string;
  keySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  attributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  globalSecondaryIndexes: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
    Projection: { ProjectionType?: string; NonKeyAttributes?: string[] };
  }[];
  streamViewType?: string;
  ttlAttribute?: string;
}

export interface FunctionSpec {
  logicalId: string;
  functionName: string;
  arn: string;
  /** Absolute path of the bundled asset folder under cdk.out. */
  assetDir: string;
  /** Module file inside the asset folder and the exported handler name. */
  moduleFile: string;
  exportName: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memorySize: number;
  /** From AWS::Lambda::EventInvokeConfig: async retries and where exhausted events go. */
  maximumRetryAttempts: number;
  onFailureDestination?: string;
}

export interface RouteSpec {
  routeKey: string;
  functionName: string;
  authorizer?: { issuer: string; audience: string[]; scopes?: string[] };
}

export interface TopicRuleSpec {
  logicalId: string;
  ruleName: string;
  sql: string;
  sqlVersion?: string;
  disabled: boolean;
  actions: TopicRuleAction[];
  errorAction?: TopicRuleAction;
}

export type TopicRuleAction =
  | { kind: 'lambda'; functionArn: string }
  | { kind: 'republish'; topic: string; qos: number }
  | { kind: 'cloudwatchLogs'; logGroupName: string }
  | { kind: 'sqs'; queueUrl: string; useBase64: boolean };

/** A standard SQS queue (FIFO queues are refused). Times in seconds, with CloudFormation's defaults. */
export interface QueueSpec {
  logicalId: string;
  queueName: string;
  /** What Ref resolves to. */
  url: string;
  arn: string;
  fifo: boolean;
  visibilityTimeoutSeconds: number;
  messageRetentionSeconds: number;
  delaySeconds: number;
  receiveMessageWaitTimeSeconds: number;
  maximumMessageSize: number;
  /** The redrive policy: the dead-letter queue (one of this stack's) and the receives before a move. */
  deadLetter?: { targetArn: string; maxReceiveCount: number };
}

/** An SQS event source mapping: Lambda's poller feeding a queue's messages to a function in batches. */
export interface EventSourceMappingSpec {
  logicalId: string;
  functionName: string;
  /** The ARN of one of this stack's queues. */
  eventSourceArn: string;
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  /** FunctionResponseTypes has ReportBatchItemFailures: the function may fail single records. */
  reportBatchItemFailures: boolean;
  enabled: boolean;
  /** ScalingConfig.MaximumConcurrency: batches in flight at once. */
  maximumConcurrency?: number;
}

export interface StateMachineSpec {
  logicalId: string;
  name: string;
  arn: string;
  definition: Record<string, unknown>;
}

export interface ScheduleSpec {
  logicalId: string;
  expression: string;
  enabled: boolean;
  targets: { arn: string; input?: string }[];
}

export interface UserPoolSpec {
  logicalId: string;
  userPoolId: string;
  issuer: string;
  clientIds: string[];
}

export interface LocalStack {
  stackName: string;
  tables: TableSpec[];
  functions: FunctionSpec[];
  routes: RouteSpec[];
  topicRules: TopicRuleSpec[];
  stateMachines: StateMachineSpec[];
  schedules: ScheduleSpec[];
  userPools: UserPoolSpec[];
  queues: QueueSpec[];
  eventSourceMappings: EventSourceMappingSpec[];
  /** Secrets Manager secrets; functions read them through `{{resolve:secretsmanager:…}}` references. */
  secrets: SecretSpec[];
  outputs: Record<string, string>;
}

export interface SecretSpec {
  logicalId: string;
  /** What Ref resolves to, and what a dynamic reference names. */
  arn: string;
}

const shortHash = (value: string, length = 8) =>
  createHash('sha256').update(value).digest('hex').slice(0, length);

/** CloudFormation-style generated names: stack, logical id and a stable suffix. */
const generatedName = (stackName: string, logicalId: string, maxLength = 64) => {
  const suffix = shortHash(`${stackName}/${logicalId}`, 12).toUpperCase();
  const base = `${stackName}-${logicalId}`.slice(0, maxLength - suffix.length - 1);
  return `${base}-${suffix}`;
};

const arn = (service: string, resource: string, region = LOCAL_REGION) =>
  `arn:aws:${service}:${region}:${LOCAL_ACCOUNT}:${resource}`;

/** How AwsCustomResource may name IoT's DescribeEndpoint (SDK v2 and v3 spellings, which cdk-lib accepts). */
const IOT_SERVICES = new Set(['Iot', 'iot', '@aws-sdk/client-iot']);
const DESCRIBE_ENDPOINT = new Set(['DescribeEndpoint', 'describeEndpoint', 'DescribeEndpointCommand']);

/**
 * Whether a resource is the one custom resource the local cloud understands: an AwsCustomResource
 * (`Custom::AWS`) whose calls are all IoT DescribeEndpoint for `iot:Data-ATS`, with no delete call. Its
 * answer is the local data endpoint, so its Lambda function never runs here.
 */
const isDataEndpointResource = (resource: Resource): boolean => {
  if (resource.Type !== 'Custom::AWS') return false;
  const calls = ['Create', 'Update', 'Delete'].map((key) => resource.Properties?.[key]);
  if (calls[2] !== undefined || calls.every((call) => call === undefined)) return false;
  return calls.slice(0, 2).every((call) => {
    if (call === undefined) return true;
    if (typeof call !== 'string') return false;
    const sdkCall = JSON.parse(call) as { service?: string; action?: string; parameters?: unknown };
    return (
      IOT_SERVICES.has(sdkCall.service ?? '') &&
      DESCRIBE_ENDPOINT.has(sdkCall.action ?? '') &&
      JSON.stringify(sdkCall.parameters) === JSON.stringify({ endpointType: 'iot:Data-ATS' })
    );
  });
};

/** Resolves the intrinsic functions a CDK template uses, with local physical names and endpoints. */
export class Resolver {
  constructor(
    private readonly template: CloudFormationTemplate,
    private readonly stackName: string,
    private readonly endpoints: LocalEndpoints,
  ) {}

  private resource(logicalId: string): Resource {
    const resource = this.template.Resources[logicalId];
    if (resource === undefined) throw new TemplateError(`Unknown resource ${logicalId}`);
    return resource;
  }

  private explicitName(resource: Resource, property: string): string | undefined {
    const value = resource.Properties?.[property];
    return value === undefined ? undefined : this.string(value);
  }

  physicalId(logicalId: string): string {
    const resource = this.resource(logicalId);
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return this.explicitName(resource, 'TableName') ?? generatedName(this.stackName, logicalId, 255);
      case 'AWS::Lambda::Function':
        return this.explicitName(resource, 'FunctionName') ?? generatedName(this.stackName, logicalId);
      case 'AWS::StepFunctions::StateMachine':
        return arn(
          'states',
          `stateMachine:${this.explicitName(resource, 'StateMachineName') ?? generatedName(this.stackName, logicalId, 80)}`,
        );
      case 'AWS::Cognito::UserPool':
        return `${LOCAL_REGION}_${shortHash(logicalId, 9)}`;
      case 'AWS::Cognito::UserPoolClient':
        return shortHash(`client/${logicalId}`, 26);
      case 'AWS::ApiGatewayV2::Api':
        return shortHash(`api/${logicalId}`, 10);
      case 'AWS::SQS::Queue':
        return `${this.endpoints.sqsUrl ?? `http://sqs.${LOCAL_REGION}.localhost`}/${LOCAL_ACCOUNT}/${this.explicitName(resource, 'QueueName') ?? generatedName(this.stackName, logicalId, 80)}`;
      case 'AWS::IoT::TopicRule':
        return (
          this.explicitName(resource, 'RuleName') ??
          `${this.stackName}${logicalId}`.replace(/[^A-Za-z0-9_]/g, '_')
        );
      case 'AWS::Logs::LogGroup':
        return this.explicitName(resource, 'LogGroupName') ?? generatedName(this.stackName, logicalId, 512);
      case 'AWS::SecretsManager::Secret':
        return arn(
          'secretsmanager',
          `secret:${this.explicitName(resource, 'Name') ?? generatedName(this.stackName, logicalId)}`,
        );
      default:
        return generatedName(this.stackName, logicalId);
    }
  }

  private get iotData() {
    return (
      this.endpoints.iotData ?? {
        endpointAddress: '127.0.0.1',
        url: `http://iot-data.${LOCAL_REGION}.localhost`,
      }
    );
  }

  /** The data endpoint's URL as a template writes it, `https://<address>`, is the local data plane's URL. */
  private localUrl(value: string): string {
    return value === `https://${this.iotData.endpointAddress}` ? this.iotData.url : value;
  }

  getAtt(logicalId: string, attribute: string): unknown {
    const resource = this.resource(logicalId);
    if (isDataEndpointResource(resource) && attribute === 'endpointAddress')
      return this.iotData.endpointAddress;
    const id = this.physicalId(logicalId);
    switch (`${resource.Type}.${attribute}`) {
      case 'AWS::Lambda::Function.Arn':
        return arn('lambda', `function:${id}`);
      case 'AWS::DynamoDB::Table.Arn':
      case 'AWS::DynamoDB::GlobalTable.Arn':
        return arn('dynamodb', `table/${id}`);
      case 'AWS::DynamoDB::Table.StreamArn':
      case 'AWS::DynamoDB::GlobalTable.StreamArn':
        return arn('dynamodb', `table/${id}/stream/local`);
      case 'AWS::SQS::Queue.Arn':
        return arn('sqs', id.split('/').pop() as string);
      case 'AWS::SQS::Queue.QueueName':
        return id.split('/').pop();
      case 'AWS::SQS::Queue.QueueUrl':
        return id;
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${id}`;
      case 'AWS::Logs::LogGroup.Arn':
        return arn('logs', `log-group:${id}:*`);
      case 'AWS::IoT::TopicRule.Arn':
        return arn('iot', `rule/${id}`);
      case 'AWS::IoT::Policy.Arn':
        return arn('iot', `policy/${id}`);
      case 'AWS::StepFunctions::StateMachine.Arn':
        return id;
      case 'AWS::StepFunctions::StateMachine.Name':
        return id.split(':').pop();
      case 'AWS::Cognito::UserPool.Arn':
        return arn('cognito-idp', `userpool/${id}`);
      case 'AWS::Cognito::UserPool.ProviderURL':
        return `https://cognito-idp.${LOCAL_REGION}.amazonaws.com/${id}`;
      case 'AWS::Cognito::UserPool.ProviderName':
        return `cognito-idp.${LOCAL_REGION}.amazonaws.com/${id}`;
      case 'AWS::ApiGatewayV2::Api.ApiEndpoint':
        return this.endpoints.apiUrl;
      case 'AWS::ApiGatewayV2::Api.ApiId':
        return id;
      default:
        throw new TemplateError(
          `The local cloud cannot resolve Fn::GetAtt ${logicalId}.${attribute} (${resource.Type})`,
        );
    }
  }

  ref(name: string): unknown {
    switch (name) {
      case 'AWS::Region':
        return LOCAL_REGION;
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return arn('cloudformation', `stack/${this.stackName}/local`);
      case 'AWS::NoValue':
        return undefined;
      default:
        return this.physicalId(name);
    }
  }

  /** Resolves a value with intrinsics into plain JSON. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value))
      return value.map((item) => this.resolve(item)).filter((item) => item !== undefined);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0] as [string, unknown];
      switch (key) {
        case 'Ref':
          return this.ref(arg as string);
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
          return this.getAtt(logicalId as string, attribute as string);
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return this.localUrl(
            (this.resolve(parts) as unknown[]).map((part) => this.string(part)).join(separator),
          );
        }
        case 'Fn::Sub':
          return this.localUrl(this.sub(arg));
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (this.resolve(list) as unknown[])[Number(this.resolve(index))];
        }
        case 'Fn::Split': {
          const [separator, source] = arg as [string, unknown];
          return this.string(source).split(separator);
        }
        case 'Fn::If':
        case 'Fn::ImportValue':
        case 'Fn::FindInMap':
        case 'Fn::GetAZs':
        case 'Fn::Cidr':
        case 'Fn::Base64':
          if (key === 'Fn::Base64') return Buffer.from(this.string(arg)).toString('base64');
          throw new TemplateError(`The local cloud does not support ${key}`);
        default:
          break;
      }
    }
    return Object.fromEntries(
      entries.map(([key, item]) => [key, this.resolve(item)]).filter(([, item]) => item !== undefined),
    );
  }

  string(value: unknown): string {
    const resolved = this.resolve(value);
    if (typeof resolved === 'string') return resolved;
    if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
    throw new TemplateError(`Expected a string, got ${JSON.stringify(resolved)}`);
  }

  private sub(arg: unknown): string {
    const [text, variables] = Array.isArray(arg)
      ? (arg as [string, Record<string, unknown>])
      : [arg as string, {}];
    return text
      .replace(/\$\{([^}!][^}]*)\}/g, (_match, name: string) => {
        if (name in variables) return this.string(variables[name]);
        if (name.includes('.')) {
          const [logicalId, attribute] = name.split('.') as [string, string];
          return this.string(this.getAtt(logicalId, attribute));
        }
        return this.string(this.ref(name));
      })
      .replace(/\$\{!/g, '${');
  }
}

const lambdaArnPattern = /^arn:aws:lambda:[^:]+:\d+:function:([^:]+)(?::.+)?$/;

/** The function name from a name, an ARN or a qualified ARN, as Lambda's Invoke accepts them. */
export const functionNameOf = (nameOrArn: string): string =>
  lambdaArnPattern.exec(nameOrArn)?.[1] ?? nameOrArn;

export const loadTemplate = (cdkOut: string, stackName: string): CloudFormationTemplate =>
  JSON.parse(readFileSync(path.join(cdkOut, `${stackName}.template.json`), 'utf8')) as CloudFormationTemplate;

/** Builds the local model of a stack from its synthesized template. */
export const readStack = (
  template: CloudFormationTemplate,
  options: { stackName: string; cdkOut: string; endpoints: LocalEndpoints },
): LocalStack => {
  const { stackName, cdkOut } = options;
  const resolver = new Resolver(template, stackName, options.endpoints);
  const byType = (type: string) =>
    Object.entries(template.Resources).filter(([, resource]) => resource.Type === type) as [
      string,
      Resource,
    ][];
  const props = (resource: Resource) => (resource.Properties ?? {}) as Record<string, unknown>;

  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Condition !== undefined) {
      throw new TemplateError(`${logicalId}: conditional resources are not supported locally`);
    }
    const custom =
      resource.Type.startsWith('Custom::') || resource.Type === 'AWS::CloudFormation::CustomResource';
    if (custom && !isDataEndpointResource(resource)) {
      throw new TemplateError(
        `${logicalId}: custom resource ${resource.Type} is not supported locally (only Custom::AWS calling IoT DescribeEndpoint for iot:Data-ATS)`,
      );
    }
  }
  // The functions behind the data endpoint resource: the local cloud answers for them.
  const providers = new Set(
    Object.values(template.Resources)
      .filter(isDataEndpointResource)
      .map((resource) => JSON.stringify(resource.Properties?.ServiceToken)),
  );
  const isProvider = (logicalId: string) =>
    providers.has(JSON.stringify({ 'Fn::GetAtt': [logicalId, 'Arn'] }));

  const tables: TableSpec[] = [
    ...byType('AWS::DynamoDB::Table'),
    ...byType('AWS::DynamoDB::GlobalTable'),
  ].map(([logicalId, resource]) => {
    const p = resolver.resolve(props(resource)) as Record<string, any>;
    return {
      logicalId,
      tableName: resolver.physicalId(logicalId),
      keySchema: p.KeySchema,
      attributeDefinitions: p.AttributeDefinitions,
      globalSecondaryIndexes: (p.GlobalSecondaryIndexes ?? []).map((gsi: Record<string, any>) => ({
        IndexName: gsi.IndexName,
        KeySchema: gsi.KeySchema,
        Projection: gsi.Projection ?? { ProjectionType: 'ALL' },
      })),
      streamViewType: p.StreamSpecification?.StreamViewType,
      ttlAttribute: p.TimeToLiveSpecification?.Enabled ? p.TimeToLiveSpecification.AttributeName : undefined,
    };
  });

  const invokeConfigs = new Map<string, { retries: number; onFailure?: string }>();
  for (const [, resource] of byType('AWS::Lambda::EventInvokeConfig')) {
    const p = props(resource);
    const name = functionNameOf(resolver.string(p.FunctionName));
    const destination = (p.DestinationConfig as Record<string, any> | undefined)?.OnFailure?.Destination;
    invokeConfigs.set(name, {
      retries: Number(p.MaximumRetryAttempts ?? 2),
      onFailure: destination === undefined ? undefined : resolver.string(destination),
    });
  }

  const functions: FunctionSpec[] = byType('AWS::Lambda::Function')
    .filter(([logicalId]) => !isProvider(logicalId))
    .map(([logicalId, resource]) => {
      const p = props(resource);
      const assetPath = resource.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') {
        throw new TemplateError(
          `${logicalId}: no bundled asset (aws:asset:path metadata); inline code is not supported locally`,
        );
      }
      const handler = String(p.Handler ?? 'index.handler');
      const dot = handler.lastIndexOf('.');
      const moduleBase = handler.slice(0, dot);
      const assetDir = path.resolve(cdkOut, assetPath);
      const moduleFile = ['.mjs', '.js', '.cjs']
        .map((extension) => `${moduleBase}${extension}`)
        .find((file) => {
          try {
            readFileSync(path.join(assetDir, file), { flag: 'r' });
            return true;
          } catch {
            return false;
          }
        });
      if (moduleFile === undefined)
        throw new TemplateError(`${logicalId}: handler module ${moduleBase} not found in ${assetDir}`);
      const functionName = resolver.physicalId(logicalId);
      const env = (resolver.resolve(
        (p.Environment as Record<string, unknown> | undefined)?.Variables ?? {},
      ) ?? {}) as Record<string, unknown>;
      const invoke = invokeConfigs.get(functionName);
      return {
        logicalId,
        functionName,
        arn: resolver.getAtt(logicalId, 'Arn') as string,
        assetDir,
        moduleFile,
        exportName: handler.slice(dot + 1),
        environment: Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)])),
        timeoutSeconds: Number(p.Timeout ?? 3),
        memorySize: Number(p.MemorySize ?? 128),
        maximumRetryAttempts: invoke?.retries ?? 2,
        onFailureDestination: invoke?.onFailure,
      };
    });

  const integrations = new Map<string, string>();
  for (const [logicalId, resource] of byType('AWS::ApiGatewayV2::Integration')) {
    const p = props(resource);
    if (p.IntegrationType !== 'AWS_PROXY')
      throw new TemplateError(`${logicalId}: only Lambda proxy integrations are supported locally`);
    if (p.PayloadFormatVersion !== undefined && p.PayloadFormatVersion !== '2.0') {
      throw new TemplateError(`${logicalId}: only payload format 2.0 is supported locally`);
    }
    integrations.set(logicalId, functionNameOf(resolver.string(p.IntegrationUri)));
  }
  const authorizers = new Map<string, { issuer: string; audience: string[] }>();
  for (const [logicalId, resource] of byType('AWS::ApiGatewayV2::Authorizer')) {
    const p = resolver.resolve(props(resource)) as Record<string, any>;
    if (p.AuthorizerType !== 'JWT')
      throw new TemplateError(`${logicalId}: only JWT authorizers are supported locally`);
    authorizers.set(logicalId, {
      issuer: p.JwtConfiguration.Issuer,
      audience: p.JwtConfiguration.Audience ?? [],
    });
  }
  const routes: RouteSpec[] = byType('AWS::ApiGatewayV2::Route').map(([logicalId, resource]) => {
    const p = props(resource);
    const target = JSON.stringify(p.Target ?? '');
    const integrationId = [...integrations.keys()].find((id) => target.includes(`"${id}"`));
    if (integrationId === undefined)
      throw new TemplateError(`${logicalId}: route target is not a known integration`);
    const authorizerRef = (p.AuthorizerId as { Ref?: string } | undefined)?.Ref;
    const authorizer = authorizerRef === undefined ? undefined : authorizers.get(authorizerRef);
    if (p.AuthorizationType === 'JWT' && authorizer === undefined) {
      throw new TemplateError(`${logicalId}: JWT route without a known authorizer`);
    }
    return {
      routeKey: String(p.RouteKey),
      functionName: integrations.get(integrationId) as string,
      authorizer:
        authorizer === undefined
          ? undefined
          : { ...authorizer, scopes: (p.AuthorizationScopes as string[] | undefined) ?? undefined },
    };
  });

  const inRange = (logicalId: string, name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max)
      throw new TemplateError(`${logicalId}: ${name} ${value} is outside ${min}–${max}`);
    return value;
  };
  const queues: QueueSpec[] = byType('AWS::SQS::Queue').map(([logicalId, resource]) => {
    const p = resolver.resolve(props(resource)) as Record<string, unknown>;
    if (p.FifoQueue === true || p.FifoQueue === 'true')
      throw new TemplateError(`${logicalId}: FIFO queues are not supported locally`);
    const url = resolver.physicalId(logicalId);
    // CloudFormation takes the redrive policy as a JSON object or as its string form.
    const redrive = (typeof p.RedrivePolicy === 'string' ? JSON.parse(p.RedrivePolicy) : p.RedrivePolicy) as
      | { deadLetterTargetArn?: string; maxReceiveCount?: number | string }
      | undefined;
    if (redrive !== undefined && typeof redrive.deadLetterTargetArn !== 'string')
      throw new TemplateError(`${logicalId}: RedrivePolicy without a deadLetterTargetArn`);
    const number = (name: string, fallback: number, min: number, max: number) =>
      inRange(logicalId, name, Number(p[name] ?? fallback), min, max);
    return {
      logicalId,
      queueName: resolver.getAtt(logicalId, 'QueueName') as string,
      url,
      arn: resolver.getAtt(logicalId, 'Arn') as string,
      fifo: false,
      visibilityTimeoutSeconds: number('VisibilityTimeout', 30, 0, 43_200),
      messageRetentionSeconds: number('MessageRetentionPeriod', 345_600, 60, 1_209_600),
      delaySeconds: number('DelaySeconds', 0, 0, 900),
      receiveMessageWaitTimeSeconds: number('ReceiveMessageWaitTimeSeconds', 0, 0, 20),
      maximumMessageSize: number('MaximumMessageSize', 1_048_576, 1024, 1_048_576),
      deadLetter:
        redrive === undefined
          ? undefined
          : {
              targetArn: redrive.deadLetterTargetArn as string,
              maxReceiveCount: inRange(
                logicalId,
                'maxReceiveCount',
                Number(redrive.maxReceiveCount),
                1,
                1000,
              ),
            },
    };
  });
  for (const queue of queues) {
    if (queue.deadLetter !== undefined && !queues.some(({ arn }) => arn === queue.deadLetter?.targetArn)) {
      throw new TemplateError(
        `${queue.logicalId}: dead-letter queue ${queue.deadLetter.targetArn} is not a queue of this stack`,
      );
    }
  }

  const eventSourceMappings: EventSourceMappingSpec[] = byType('AWS::Lambda::EventSourceMapping').map(
    ([logicalId, resource]) => {
      const p = props(resource);
      const eventSourceArn = p.EventSourceArn === undefined ? undefined : resolver.string(p.EventSourceArn);
      const queue = queues.find(({ arn }) => arn === eventSourceArn);
      if (queue === undefined) {
        throw new TemplateError(
          `${logicalId}: event source ${eventSourceArn ?? '(none)'} is not an SQS queue of this stack; only those run locally`,
        );
      }
      if (p.FilterCriteria !== undefined)
        throw new TemplateError(`${logicalId}: event filtering (FilterCriteria) is not supported locally`);
      const functionName = functionNameOf(resolver.string(p.FunctionName));
      const target = functions.find((fn) => fn.functionName === functionName);
      if (target === undefined)
        throw new TemplateError(`${logicalId}: function ${functionName} is not a function of this stack`);
      // Lambda refuses to create the mapping when the function could outlive a message's invisibility.
      if (target.timeoutSeconds > queue.visibilityTimeoutSeconds) {
        throw new TemplateError(
          `${logicalId}: the queue's visibility timeout (${queue.visibilityTimeoutSeconds} s) is less than the function timeout (${target.timeoutSeconds} s)`,
        );
      }
      const batchingWindow = inRange(
        logicalId,
        'MaximumBatchingWindowInSeconds',
        Number(p.MaximumBatchingWindowInSeconds ?? 0),
        0,
        300,
      );
      const batchSize = inRange(logicalId, 'BatchSize', Number(p.BatchSize ?? 10), 1, 10_000);
      if (batchSize > 10 && batchingWindow === 0)
        throw new TemplateError(`${logicalId}: a BatchSize over 10 needs a MaximumBatchingWindowInSeconds`);
      const concurrency = (p.ScalingConfig as { MaximumConcurrency?: number } | undefined)
        ?.MaximumConcurrency;
      return {
        logicalId,
        functionName,
        eventSourceArn: queue.arn,
        batchSize,
        maximumBatchingWindowSeconds: batchingWindow,
        reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes(
          'ReportBatchItemFailures',
        ),
        enabled: p.Enabled !== false && p.Enabled !== 'false',
        maximumConcurrency:
          concurrency === undefined
            ? undefined
            : inRange(logicalId, 'MaximumConcurrency', Number(concurrency), 2, 1000),
      };
    },
  );

  const ruleAction = (ruleId: string, action: Record<string, any>): TopicRuleAction => {
    const [kind, config] = Object.entries(action)[0] ?? [];
    switch (kind) {
      case 'Lambda':
        return { kind: 'lambda', functionArn: resolver.string(config.FunctionArn) };
      case 'Republish':
        return { kind: 'republish', topic: resolver.string(config.Topic), qos: Number(config.Qos ?? 0) };
      case 'CloudwatchLogs':
        return { kind: 'cloudwatchLogs', logGroupName: resolver.string(config.LogGroupName) };
      case 'Sqs': {
        const queueUrl = resolver.string(config.QueueUrl);
        if (!queues.some(({ url }) => url === queueUrl))
          throw new TemplateError(
            `Topic rule ${ruleId}: SQS action into ${queueUrl}, not a queue of this stack`,
          );
        return { kind: 'sqs', queueUrl, useBase64: config.UseBase64 === true || config.UseBase64 === 'true' };
      }
      default:
        throw new TemplateError(`Topic rule ${ruleId}: action ${kind} is not supported locally`);
    }
  };
  const topicRules: TopicRuleSpec[] = byType('AWS::IoT::TopicRule').map(([logicalId, resource]) => {
    const payload = props(resource).TopicRulePayload as Record<string, any>;
    return {
      logicalId,
      ruleName: resolver.physicalId(logicalId),
      sql: resolver.string(payload.Sql),
      // CloudFormation's default is 2015-10-08; the rules engine refuses it rather than run it differently.
      sqlVersion: payload.AwsIotSqlVersion ?? '2015-10-08',
      disabled: payload.RuleDisabled === true,
      actions: (payload.Actions as Record<string, any>[]).map((action) => ruleAction(logicalId, action)),
      errorAction: payload.ErrorAction === undefined ? undefined : ruleAction(logicalId, payload.ErrorAction),
    };
  });

  const stateMachines: StateMachineSpec[] = byType('AWS::StepFunctions::StateMachine').map(
    ([logicalId, resource]) => {
      const p = props(resource);
      const substitutions = (resolver.resolve(p.DefinitionSubstitutions ?? {}) ?? {}) as Record<
        string,
        string
      >;
      let text =
        p.DefinitionString !== undefined
          ? resolver.string(p.DefinitionString)
          : JSON.stringify(resolver.resolve(p.Definition));
      for (const [key, value] of Object.entries(substitutions)) text = text.split(`\${${key}}`).join(value);
      const stateMachineArn = resolver.physicalId(logicalId);
      return {
        logicalId,
        arn: stateMachineArn,
        name: stateMachineArn.split(':').pop() as string,
        definition: JSON.parse(text) as Record<string, unknown>,
      };
    },
  );

  const schedules: ScheduleSpec[] = byType('AWS::Events::Rule')
    .filter(([, resource]) => props(resource).ScheduleExpression !== undefined)
    .map(([logicalId, resource]) => {
      const p = resolver.resolve(props(resource)) as Record<string, any>;
      return {
        logicalId,
        expression: p.ScheduleExpression,
        enabled: p.State !== 'DISABLED',
        targets: (p.Targets ?? []).map((target: Record<string, any>) => ({
          arn: target.Arn,
          input: target.Input,
        })),
      };
    });

  const userPools: UserPoolSpec[] = byType('AWS::Cognito::UserPool').map(([logicalId]) => ({
    logicalId,
    userPoolId: resolver.physicalId(logicalId),
    issuer: resolver.getAtt(logicalId, 'ProviderURL') as string,
    clientIds: byType('AWS::Cognito::UserPoolClient')
      .filter(([, client]) => JSON.stringify(props(client).UserPoolId) === JSON.stringify({ Ref: logicalId }))
      .map(([clientId]) => resolver.physicalId(clientId)),
  }));

  const outputs = Object.fromEntries(
    Object.entries(template.Outputs ?? {}).map(([key, output]) => [key, resolver.string(output.Value)]),
  );

  return {
    stackName,
    tables,
    functions,
    routes,
    topicRules,
    stateMachines,
    schedules,
    userPools,
    queues,
    eventSourceMappings,
    secrets: byType('AWS::SecretsManager::Secret').map(([logicalId]) => ({
      logicalId,
      arn: resolver.physicalId(logicalId),
    })),
    outputs,
  };
};
