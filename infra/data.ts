import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type Alarm, ComparisonOperator, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, Billing, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * An alarm as soon as a dead-letter queue holds a message (SQS reports its depth every minute): each is
 * one that failed for good and waits for somebody to look at it and redrive it. No data is no message.
 */
export const deadLetterAlarm = (scope: Construct, id: string, queue: Queue, description: string): Alarm =>
  queue
    .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: Stats.MAXIMUM })
    .createAlarm(scope, id, {
      alarmDescription: description,
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

/**
 * The single table (pk/sk plus gsi1) with point-in-time recovery, streams and TTL, and the queue that
 * receives async invocations that failed after Lambda's retries, so no event is ever silently lost,
 * with an alarm when it does.
 */
export class Data extends Construct {
  readonly table: TableV2;
  readonly failureQueue: Queue;
  /** The key list cursors are sealed with (functions/shared/cursor.ts). */
  readonly cursorKey: Secret;
  readonly failureAlarm: Alarm;

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
    this.failureAlarm = deadLetterAlarm(
      this,
      'AsyncFailuresAlarm',
      this.failureQueue,
      'An asynchronous invocation (a timer, a schedule, a sweep) failed all its attempts: its event is in the AsyncFailures queue.',
    );
  }
}
