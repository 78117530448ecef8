import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AttributeType, Billing, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * The single table (pk/sk plus gsi1) with point-in-time recovery, streams and TTL, and the queue that
 * receives async invocations that failed after Lambda's retries, so no event is ever silently lost.
 */
export class Data extends Construct {
  readonly table: TableV2;
  readonly failureQueue: Queue;
  /** The key list cursors are sealed with (functions/shared/cursor.ts). */
  readonly cursorKey: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.RETAIN,
      globalSecondaryIndexes: [
        {
          indexName: 'gsi1',
          partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
          sortKey: { name: 'gsi1sk', type: AttributeType.STRING },
        },
      ],
    });

    this.cursorKey = new Secret(this, 'CursorKey', {
      description: 'HMAC key that seals the API list cursors to their route and caller',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(this.cursorKey).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'Rotating the cursor key only invalidates the cursors in flight (a caller starts the list again); it guards no data: a cursor can only resume a list the caller may read.',
    });

    this.failureQueue = new Queue(this, 'AsyncFailures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failureQueue).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter destination of failed async Lambda invocations.',
      },
      {
        id: 'Serverless::Serverless-SQSRedrivePolicy',
        reason: 'This queue is itself the dead-letter destination; operators redrive from it by hand.',
      },
    );
  }
}
