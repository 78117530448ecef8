import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Architecture, Code, Function as LambdaFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { BundleRequest } from './bundle.js';
import { assetHashFor, FUNCTIONS_ROOT, PROJECT_ROOT } from './bundling.js';

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
 * The asset of one handler module: bundled on this machine by infra/bundle.ts (esbuild with the
 * plugins of esbuild-plugins.ts, which CDK's NodejsFunction cannot take), named by the digest of
 * everything a bundle can contain so an unchanged bundle in cdk.out is reused. Nothing needs Docker: a
 * failing bundle fails the synth.
 */
const bundledCode = (entry: string, define: Record<string, string> | undefined): Code =>
  Code.fromAsset(FUNCTIONS_ROOT, {
    assetHash: assetHashFor(entry),
    assetHashType: AssetHashType.CUSTOM,
    bundling: {
      image: DockerImage.fromRegistry('civic-cell/bundles-are-built-locally'),
      local: {
        tryBundle(outputDir) {
          const request: BundleRequest = { entry: path.join(FUNCTIONS_ROOT, entry), outputDir, define };
          execFileSync(
            process.execPath,
            ['--import', import.meta.resolve('tsx'), path.join(PROJECT_ROOT, 'infra', 'bundle.ts')],
            // On stdin: a define (the OpenAPI document) outgrows the argument list's limit (E2BIG).
            { input: JSON.stringify(request), stdio: ['pipe', 'inherit', 'inherit'], cwd: PROJECT_ROOT },
          );
          return true;
        },
      },
    },
  });

/**
 * The one function shape of civic-cell: Node.js 24 on arm64, minified ESM bundles with source maps
 * (everything bundled, the AWS SDK included, so what is tested locally is what deploys), explicit memory
 * and timeout, a retained log group, active tracing, and a failure destination for async invocations.
 */
export class CivicFunction extends LambdaFunction {
  constructor(scope: Construct, id: string, props: CivicFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      code: bundledCode(props.entry, props.define),
      handler: `index.${props.handler ?? 'handler'}`,
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
