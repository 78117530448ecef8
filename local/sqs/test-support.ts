import { LOCAL_ACCOUNT, LOCAL_REGION, type QueueSpec } from '../template.js';

/** A standard queue's spec with CloudFormation's defaults, as readStack makes it. */
export const queueSpec = (name: string, overrides: Partial<QueueSpec> = {}): QueueSpec => ({
  logicalId: name,
  queueName: name,
  url: `http://sqs.${LOCAL_REGION}.localhost/${LOCAL_ACCOUNT}/${name}`,
  arn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`,
  fifo: false,
  visibilityTimeoutSeconds: 30,
  messageRetentionSeconds: 345_600,
  delaySeconds: 0,
  receiveMessageWaitTimeSeconds: 0,
  maximumMessageSize: 1_048_576,
  ...overrides,
});

/** A queue whose redrive policy moves a message to `dlq` after `maxReceiveCount` receives, and the DLQ. */
export const withDeadLetters = (
  name: string,
  maxReceiveCount: number,
  overrides: Partial<QueueSpec> = {},
): [QueueSpec, QueueSpec] => {
  const dlq = queueSpec(`${name}-dlq`, { messageRetentionSeconds: 1_209_600 });
  return [queueSpec(name, { ...overrides, deadLetter: { targetArn: dlq.arn, maxReceiveCount } }), dlq];
};
