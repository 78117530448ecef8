/**
 * SQS's errors as its JSON protocol answers them. SQS is "query compatible": the body carries the Smithy
 * shape (`__type: com.amazonaws.sqs#QueueDoesNotExist`) and the `x-amzn-query-error` header the old query
 * code (`AWS.SimpleQueueService.NonExistentQueue;Sender`). `@aws-sdk/client-sqs` reads the header first
 * and maps the code back to its exception class, so both must agree.
 */
const ERRORS = {
  QueueDoesNotExist: { status: 400, queryCode: 'AWS.SimpleQueueService.NonExistentQueue' },
  InvalidAddress: { status: 404, queryCode: 'InvalidAddress' },
  ReceiptHandleIsInvalid: { status: 404, queryCode: 'ReceiptHandleIsInvalid' },
  MessageNotInflight: { status: 400, queryCode: 'AWS.SimpleQueueService.MessageNotInflight' },
  PurgeQueueInProgress: { status: 403, queryCode: 'AWS.SimpleQueueService.PurgeQueueInProgress' },
  EmptyBatchRequest: { status: 400, queryCode: 'AWS.SimpleQueueService.EmptyBatchRequest' },
  TooManyEntriesInBatchRequest: {
    status: 400,
    queryCode: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
  },
  BatchEntryIdsNotDistinct: { status: 400, queryCode: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct' },
  InvalidBatchEntryId: { status: 400, queryCode: 'AWS.SimpleQueueService.InvalidBatchEntryId' },
  BatchRequestTooLong: { status: 400, queryCode: 'AWS.SimpleQueueService.BatchRequestTooLong' },
  InvalidAttributeName: { status: 400, queryCode: 'InvalidAttributeName' },
  InvalidMessageContents: { status: 400, queryCode: 'InvalidMessageContents' },
  UnsupportedOperation: { status: 400, queryCode: 'AWS.SimpleQueueService.UnsupportedOperation' },
  ResourceNotFoundException: { status: 404, queryCode: 'ResourceNotFoundException' },
  // Not modelled as exception classes: the SDK raises them as SQSServiceException named after the code.
  InvalidParameterValue: { status: 400, queryCode: 'InvalidParameterValue' },
  MissingParameter: { status: 400, queryCode: 'MissingParameter' },
  SerializationException: { status: 400, queryCode: 'SerializationException' },
  InternalFailure: { status: 500, queryCode: 'InternalFailure' },
} as const;

export type SqsErrorType = keyof typeof ERRORS;

export class SqsError extends Error {
  override name = 'SqsError';
  constructor(
    readonly type: SqsErrorType,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return ERRORS[this.type].status;
  }

  /** `x-amzn-query-error`: the query code and whose fault it is. */
  get queryError(): string {
    return `${ERRORS[this.type].queryCode};${this.status < 500 ? 'Sender' : 'Receiver'}`;
  }

  /** The code a batch result's `Failed` entry carries. */
  get queryCode(): string {
    return ERRORS[this.type].queryCode;
  }
}

export const invalidParameter = (message: string) => new SqsError('InvalidParameterValue', message);
