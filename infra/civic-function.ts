import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { assetHashFor, BUNDLING, FUNCTIONS_ROOT, PROJECT_ROOT } from './bundling.js';

/** What every function shares: the table it stores in and where failed async invocations go. */
export interface FunctionDefaults {
  table: ITableV2;
  failureQueue: IQueue;
}

export interface CivicFunctionProps {
  /** Handler module, relative to functions/, e.g. 'violations/ingest.handler.ts'. */
  entry: string;
  /** Exported handler name in that module. */
  handler?: string;
  description: string;
  defaults: FunctionDefaults;
  /** Table access: least privilege, granted here so nobody forgets to narrow it. */
  tableAccess: 'read' | 'write' | 'read-write' | 'none';
  environment?: Record<string, string>;
  memorySize?: number;
  timeout?: Duration;
  /** Only where another resource must know the name before deployment. */
  functionName?: string;
  /** Constants esbuild puts into the bundle (identifier → JavaScript expression), computed at synth time. */
  define?: Record<string, string>;
}

/**
 * The one function shape of civic-cell: Node.js 24 on arm64, minified ESM bundles with source maps
 * (everything bundled, the AWS SDK included, so what is tested locally is what deploys), explicit memory
 * and timeout, a retained log group, active tracing, and a failure destination for async invocations.
 */
export class CivicFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: CivicFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: path.join(FUNCTIONS_ROOT, props.entry),
      handler: props.handler ?? 'handler',
      functionName: props.functionName,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      logGroup,
      onFailure: new SqsDestination(props.defaults.failureQueue),
      retryAttempts: 2,
      environment: {
        TABLE_NAME: props.defaults.table.tableName,
        POWERTOOLS_SERVICE_NAME: 'civic-cell',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        assetHash: assetHashFor(props.entry),
        format: OutputFormat.ESM,
        target: BUNDLING.target,
        minify: BUNDLING.minify,
        sourceMap: BUNDLING.sourceMap,
        externalModules: [],
        mainFields: [...BUNDLING.mainFields],
        banner: BUNDLING.banner,
        ...(props.define ? { define: props.define } : {}),
        esbuildArgs: Object.fromEntries(
          Object.entries(BUNDLING.alias).map(([module, file]) => [
            `--alias:${module}`,
            path.join(PROJECT_ROOT, file),
          ]),
        ),
      },
    });
    Validations.of(this).acknowledge({
      id: 'Serverless::Serverless-LambdaDLQ',
      reason:
        'Async invocations go to an on-failure destination (the AsyncFailures queue), which keeps the whole invocation record; API routes are synchronous and have no async events to lose.',
    });
    if (props.tableAccess === 'read') props.defaults.table.grantReadData(this);
    if (props.tableAccess === 'write') props.defaults.table.grantWriteData(this);
    if (props.tableAccess === 'read-write') props.defaults.table.grantReadWriteData(this);
  }
}
