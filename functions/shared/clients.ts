import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * A client made on its first use and kept for the container's life. For the clients a function may not
 * need on every invocation (the Scheduler, Step Functions, IoT, the batch client): a route function
 * serves many routes, and building a client costs a cold start 3–10 ms on this project's functions
 * whether or not the invocation uses it (bench/bundles.ts measures init).
 */
export const onFirstUse = <T>(create: () => T): (() => T) => {
  let client: T | undefined;
  return () => {
    client ??= create();
    return client;
  };
};

/**
 * Module-scope singletons: created once per cold start and reused across invocations. The endpoint
 * comes from the SDK's own configuration chain (AWS_ENDPOINT_URL_*), never from this code.
 */
export const dynamoDbClient = new DynamoDBClient({});

/** How JavaScript values become DynamoDB attribute values, for the DocumentClient and by hand alike. */
export const MARSHALL_OPTIONS = Object.freeze({ removeUndefinedValues: true, convertEmptyValues: false });

export const documentClient = DynamoDBDocumentClient.from(dynamoDbClient, {
  // A copy: the DocumentClient sets convertTopLevelContainer on the options object it is given, which
  // would make marshall() elsewhere return { M: item } instead of the item.
  marshallOptions: { ...MARSHALL_OPTIONS },
});

/**
 * The low-level client for the batch calls of every device message (functions/shared/batch.ts). It
 * resolves each command's middleware stack once (`cacheMiddleware`), which the DocumentClient cannot
 * allow, since it adds middleware per command. With the toolbox's per-item parsing skipped as well, the
 * Node CPU of ingest's two calls fell, warm on the two-core development machine, from 2.2 to 1.1–1.4 ms
 * for a BatchWriteItem of two telemetry items and two watermarks, and from 1.5 to 0.7–1.0 ms for a
 * BatchGetItem of four keys.
 */
export const rawDynamoDbClient = onFirstUse(() => new DynamoDBClient({ cacheMiddleware: true }));
